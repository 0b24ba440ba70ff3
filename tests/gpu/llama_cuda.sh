#!/bin/sh
# llama_cuda.sh - on the GPU machine: build llama.cpp with CUDA (sm_90) from a source tarball if this
# machine has no build yet (about 5 minutes on 16 cores: llama-completion, llama-server for the embedding
# and reranker rows, llama-fit-params for llama.cpp's own fitter), then run fit_llama_cuda.py against it
# and, with FITCMP=1, fit_vs_llama_fit.py (mlgate fit against llama-fit-params on the same budgets).
# usage: tests/gpu/llama_cuda.sh SRC.tar.xz GGUF_PY_DIR [NAME-REGEX]
#   SRC.tar.xz: llama.cpp as vendored by the llama-cpp-python sdist (tests/llama/build.sh fetches it);
#   GGUF_PY_DIR: a directory holding the gguf package (the GPU machine has no internet).
#   FITCMP=1: also the fitter comparison; FITCMP=only: just that. OUT: logs and JSON go there.
set -e
src=$1 py=$2; shift 2
targets="llama-completion llama-server llama-fit-params"
mkdir -p .carry/lcuda && cd .carry/lcuda
need=0
for t in $targets; do [ -x "b/bin/$t" ] || need=1; done
if [ "$need" = 1 ]; then
  [ -d llama.cpp ] || tar xJf "$src"
  cmake -S llama.cpp -B b -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON > cfg.log 2>&1
  # shellcheck disable=SC2086
  ninja -C b -j "$(nproc)" $targets > build.log 2>&1
fi
cd ../..
export PYTHONPATH="$py"
py=${PYTHON:-/opt/torch/.venv/bin/python}
rc=0
if [ "${FITCMP:-}" != only ]; then
  "$py" tests/gpu/fit_llama_cuda.py build/mlgate .carry/lcuda/b/bin/llama-completion 80G "$@" || rc=1
fi
if [ -n "${FITCMP:-}" ]; then
  "$py" tests/gpu/fit_vs_llama_fit.py build/mlgate .carry/lcuda/b/bin "$@" || rc=1
fi
exit $rc
