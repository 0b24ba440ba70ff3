#!/bin/sh
# probe_static.sh - mlgate-probe is what a distroless HEALTHCHECK needs: statically linked, at most
# 300 KB (MAX-BYTES: built with musl-gcc; static glibc alone is about 1 MB), exit 1 (never 2, which
# Docker reserves) on bad usage, 0 for --help.
# usage: probe_static.sh MLGATE-PROBE [MAX-BYTES]
p=$1
max=${2:-307200}
fails=0
say() { if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }

size=$(stat -c %s "$p")
[ "$size" -le "$max" ]; say $? "size $size bytes <= $max"
if command -v file >/dev/null 2>&1; then
    what=$(file -b "$p")
    case $what in *"statically linked"*|*"static-pie linked"*) r=0 ;; *) r=1 ;; esac
    say $r "file: $what"
fi
if command -v readelf >/dev/null 2>&1; then
    ! readelf -l "$p" | grep -q 'Requesting program interpreter'; say $? "no program interpreter (readelf)"
    ! readelf -d "$p" 2>/dev/null | grep -q NEEDED; say $? "no shared library needed (readelf)"
fi
for args in "" "--kind" "--kind llm" "--kind nope http://127.0.0.1:1/v1" "--kind llm https://127.0.0.1/v1" \
            "--kind llm http://127.0.0.1:1/v1 --timeout never" "--frobnicate" "--kind llm http://[::1/v1"; do
    # shellcheck disable=SC2086
    out=$("$p" $args 2>&1); rc=$?
    lines=$(printf '%s\n' "$out" | wc -l)
    [ "$rc" = 1 ] && [ "$lines" = 1 ]; say $? "bad usage '$args': exit $rc, $lines line: $out"
done
"$p" --kind llm http://127.0.0.1:1/v1 --timeout 2s >/dev/null 2>&1; rc=$?
[ "$rc" = 1 ]; say $? "nothing listening: exit $rc"
"$p" --help >/dev/null; rc=$?
[ "$rc" = 0 ]; say $? "--help: exit $rc"
echo "$fails failed"
[ "$fails" = 0 ]
