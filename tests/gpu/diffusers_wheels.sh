#!/bin/sh
# diffusers_wheels.sh - here, with PyPI in reach: the wheels tests/gpu/fit_diffusers.py needs on the GPU machine
# (no internet there) into .carry/wheels, exactly these, no dependency resolution. The GPU machine's
# /opt/torch/.venv (Python 3.12) already has torch 2.11, transformers 5.17, accelerate 1.15,
# huggingface_hub 1.33, safetensors, tokenizers, numpy, regex, requests, httpx, filelock, Pillow: what it
# lacks is diffusers (0.42.1 wants huggingface_hub >= 1.32, safetensors >= 0.8: both there) and
# importlib_metadata with zipp; requests and its four are there too most likely, and are carried in
# case (all pure Python, 7 MB together; on PYTHONPATH they shadow the venv's copies harmlessly).
#
# usage: sh tests/gpu/diffusers_wheels.sh            (from the repository root)
# then:  carry [".carry/wheels"] with an mlgate built there as for the other tests/gpu scripts (build/mlgate), and run
#        pip install --no-index --no-deps --target /tmp/dpk .carry/wheels/*.whl &&
#        PYTHONPATH=/tmp/dpk /opt/torch/.venv/bin/python tests/gpu/fit_diffusers.py build/mlgate
set -eu
out=${1:-.carry/wheels}
mkdir -p "$out"
# pinned: diffusers 0.42.1 is the newest on PyPI (2026-10) and knows transformers 5 and huggingface_hub 1.x
pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation py --abi none \
    --platform any -d "$out" \
    diffusers==0.42.1 importlib_metadata zipp requests charset_normalizer idna urllib3 certifi
ls -l "$out"
