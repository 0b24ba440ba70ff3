#!/bin/sh
# build.sh - a CPU llama.cpp (llama-completion) from PyPI's llama-cpp-python sdist, which vendors
# llama.cpp's source, into a cache directory (never the repository). About 5 minutes on 2 cores.
# usage: tests/llama/build.sh [CACHE]      (default ~/.cache/mlgate/llama; prints the binary's path)
set -eu
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mlgate/llama}
mkdir -p "$cache"
cd "$cache"
ls llama_cpp_python-*.tar.gz >/dev/null 2>&1 || pip download --no-deps --no-binary :all: llama-cpp-python -d . >&2
sdist=$(ls llama_cpp_python-*.tar.gz | sort -V | tail -1)
src=${sdist%.tar.gz}
[ -d "$src" ] || tar xzf "$sdist"
cmake -S "$src/vendor/llama.cpp" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
      -DLLAMA_BUILD_TESTS=OFF >&2
cmake --build "$src/build" -j "$(nproc)" --target llama-completion llama-server >&2
mkdir -p bin
ln -sf "$cache/$src/build/bin/llama-completion" bin/llama-completion
ln -sf "$cache/$src/build/bin/llama-server" bin/llama-server
echo "$cache/bin/llama-completion"
