#!/bin/sh
# llama_cuda.sh - on the GPU machine: build llama.cpp with CUDA (sm_90) from a source tarball if this
# machine has no build yet (about 4 minutes on 16 cores), then run fit_llama_cuda.py against it.
# usage: tests/gpu/llama_cuda.sh SRC.tar.xz GGUF_PY_DIR [NAME-REGEX]
#   SRC.tar.xz: llama.cpp as vendored by the llama-cpp-python sdist (tests/llama/build.sh fetches it);
#   GGUF_PY_DIR: a directory holding the gguf package (the GPU machine has no internet).
set -e
src=$1 py=$2; shift 2
mkdir -p .carry/lcuda && cd .carry/lcuda
if [ ! -x b/bin/llama-completion ]; then
  [ -d llama.cpp ] || tar xJf "$src"
  cmake -S llama.cpp -B b -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF > cfg.log 2>&1
  ninja -C b -j "$(nproc)" llama-completion > build.log 2>&1
fi
cd ../..
export PYTHONPATH="$py"
"${PYTHON:-/opt/torch/.venv/bin/python}" tests/gpu/fit_llama_cuda.py build/mlgate .carry/lcuda/b/bin/llama-completion 80G "$@"
