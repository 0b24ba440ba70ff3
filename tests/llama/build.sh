#!/bin/sh
# build.sh - a CPU llama.cpp (llama-completion, llama-server) from PyPI's llama-cpp-python sdist, which vendors
# llama.cpp's source, into a cache directory (never the repository). 5 to 10 minutes on 2 cores the first time;
# nothing after (the binaries are kept while they are this version's and newer than its sdist).
# usage: tests/llama/build.sh [CACHE]      (default ~/.cache/mlgate/llama; prints llama-completion's path)
# PYTHON is the interpreter whose pip downloads the sdist (make test: the tests' venv; default python3).
# Progress goes to stderr, cmake's output to CACHE/build.log (its tail is shown on failure).
set -eu
# The pinned release: tests/llama/builds.py's LOCAL_BUILD says which llama.cpp builds this one lies between.
version=0.3.36
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate/llama}
python=${PYTHON:-python3}
mkdir -p "$cache"
cd "$cache"
cache=$(pwd -P)
sdist=llama_cpp_python-$version.tar.gz
src=llama_cpp_python-$version
out=$cache/$src/build/bin

fresh() { # fresh NAME: bin/NAME is this version's build, and newer than its sdist
    [ "$(readlink "bin/$1" 2>/dev/null)" = "$out/$1" ] && [ -x "bin/$1" ] &&
        [ -n "$(find -L "bin/$1" -newer "$sdist" 2>/dev/null)" ]
}
if [ -f "$sdist" ] && fresh llama-completion && fresh llama-server; then
    echo "$cache/bin/llama-completion"
    exit 0
fi

log=$cache/build.log
: >"$log"
failed() { # failed WHAT: the log's tail, then exit 1
    tail -n 25 "$log" | sed 's/^/  | /' >&2
    echo "mlgate: llama.cpp: the build failed: $1 (full log: $log)" >&2
    exit 1
}
start=$(date +%s)
echo "mlgate: building llama.cpp for the tests (first time only, ~10 min) in $cache ..." >&2
for old in llama_cpp_python-*; do # other versions' sdists and builds
    [ "$old" = "$sdist" ] || [ "$old" = "$src" ] || rm -rf "$old"
done
if [ ! -f "$sdist" ]; then
    echo "mlgate: llama.cpp: downloading llama-cpp-python $version (sdist)" >&2
    rm -rf dl
    "$python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        "llama-cpp-python==$version" -d "$cache/dl" >>"$log" 2>&1 || failed "could not download llama-cpp-python $version"
    mv "dl/$sdist" "$sdist"
    rm -rf dl
fi
if [ ! -d "$src" ] || [ ! -f "$src/.unpacked" ]; then
    rm -rf "$src"
    tar xzf "$sdist" >>"$log" 2>&1 || { rm -rf "$sdist" "$src"; failed "could not unpack $sdist (removed: it is downloaded again next time)"; }
    touch "$src/.unpacked"
fi
echo "mlgate: llama.cpp: configuring" >&2
cmake -S "$src/vendor/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_BUILD_TESTS=OFF >>"$log" 2>&1 || failed "cmake could not configure llama.cpp"
jobs=$(nproc 2>/dev/null || echo 2)
echo "mlgate: llama.cpp: compiling llama-completion and llama-server ($jobs jobs)" >&2
# cmake's [ NN%] lines, shown at each tenth; its exit status through a file (sh has no pipefail)
rc=$cache/build.rc
{ cmake --build "$src/build" -j "$jobs" --target llama-completion llama-server 2>&1; echo $? >"$rc"; } |
    tee -a "$log" | awk '
        match($0, /^\[ *[0-9]+%\]/) {
            p = substr($0, RSTART + 1, RLENGTH - 3) + 0
            if (int(p / 10) > int(last / 10)) { printf "mlgate: llama.cpp: %d%%\n", p; fflush(); last = p }
        }' >&2 || true
[ "$(cat "$rc" 2>/dev/null)" = 0 ] || failed "llama.cpp did not compile"
rm -f "$rc"
mkdir -p bin
ln -sf "$out/llama-completion" bin/llama-completion
ln -sf "$out/llama-server" bin/llama-server
if ! fresh llama-completion || ! fresh llama-server; then failed "no fresh binaries in $out"; fi
echo "mlgate: llama.cpp: built in $(($(date +%s) - start)) s: $cache/bin" >&2
echo "$cache/bin/llama-completion"
