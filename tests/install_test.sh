#!/bin/sh
# install_test.sh - `cmake --install` into a temporary prefix, then a program built against the installed
# library through pkg-config runs; libmlgate.so exports exactly the MG_API functions; each public header
# compiles on its own.
# usage: install_test.sh BUILD_DIR SOURCE_DIR CC FIXTURES [CFLAGS]   (CFLAGS: the sanitizers of an ASan build)
set -u
build=$1 src=$2 cc=$3 fx=$4 cflags=${5:-}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Each public header on its own, pedantic C11.
for h in "$src"/include/mlgate/*.h; do
    name=$(basename "$h")
    if printf '#include <mlgate/%s>\nint main(void) { return 0; }\n' "$name" |
        "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$src/include" -x c - -o "$tmp/h.out" 2>"$tmp/h.err"; then
        ok
    else
        bad "header $name does not compile alone:"; head -5 "$tmp/h.err"
    fi
done

# Install, then build and run a consumer with pkg-config only.
if cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then ok; else bad "cmake --install"; tail -5 "$tmp/install.log"; fi
libdir=$(dirname "$(find "$tmp/prefix" -name mlgate.pc | head -1)")/..
for f in bin/mlgate include/mlgate/mlgate.h share/man/man1/mlgate-scan.1 share/bash-completion/completions/mlgate; do
    [ -e "$tmp/prefix/$f" ] && ok || bad "not installed: $f"
done
[ -e "$libdir/libmlgate.so" ] && [ -e "$libdir/libmlgate.a" ] && ok || bad "libmlgate.so / .a not installed in $libdir"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2086 # the flags are words
if "$cc" -std=c11 -Wall -Werror $cflags "$src/tests/install/consumer.c" $(pkg-config --cflags --libs mlgate) \
        -Wl,-rpath,"$libdir" -o "$tmp/consumer" 2>"$tmp/cc.err"; then ok; else bad "consumer does not build:"; head -5 "$tmp/cc.err"; fi
out=$("$tmp/consumer" "$fx/libpartial.so" "$fx/tiny.gguf" 2>&1)
echo "$out" | grep -q "libpartial.so: partial on H100" && ok || bad "consumer: scan: $out"
echo "$out" | grep -q "tiny.gguf: llama, " && ok || bad "consumer: model: $out"
ldd "$tmp/consumer" | grep -q "$libdir/libmlgate.so" && ok || bad "consumer is not linked to the installed libmlgate.so"

# The shared library exports the API and nothing else (internal helpers, arena, JSON writer stay hidden).
cat "$src"/include/mlgate/*.h | sed -n -e 's/.*MG_API[^(;]*[^a-z0-9_]\(mg_[a-z0-9_]*\)[[:space:]]*(.*/\1/p' \
    -e 's/.*MG_API extern[^;(]* \(mg_[a-z0-9_]*\);.*/\1/p' | sort -u >"$tmp/declared"
nm -D --defined-only "$libdir/libmlgate.so" | awk '{print $3}' | grep -v '^__odr_asan' | sort -u >"$tmp/exported"
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
[ -z "$extra" ] && ok || bad "exported but not MG_API: $extra"
[ -z "$missing" ] && ok || bad "MG_API but not exported: $missing"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
