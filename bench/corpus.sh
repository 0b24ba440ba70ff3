#!/bin/sh
# corpus.sh - downloads the real-world wheels mlgate is checked against into a cache (never the repo).
# usage: bench/corpus.sh [DIR]   (default ~/.cache/mlgate/wheels; ~3 GB)
set -eu
dir=${1:-${MLGATE_CORPUS:-$HOME/.cache/mlgate/wheels}}
mkdir -p "$dir"
plat="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64
      --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 --platform manylinux_2_35_x86_64"
for spec in torch==2.5.1 torch vllm sgl-kernel kt-kernel bitsandbytes==0.42.0 bitsandbytes onnxruntime-gpu; do
    echo "corpus: $spec" >&2
    # shellcheck disable=SC2086
    pip download -q --no-deps --only-binary=:all: --python-version 3.11 --implementation cp $plat -d "$dir" "$spec" ||
        echo "corpus: $spec has no binary wheel for this platform" >&2
done
# An aarch64 wheel (DGX Spark / GH200 hosts are aarch64): CUDA 12.6's cuRAND.
pip download -q --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
    --platform manylinux2014_aarch64 -d "$dir" nvidia-curand-cu12==10.3.7.77 ||
    echo "corpus: no aarch64 cuRAND wheel" >&2
# flash-attn publishes only an sdist on PyPI (its wheels live on GitHub releases): nothing to scan.
ls -l "$dir"
