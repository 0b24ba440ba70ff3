#!/bin/sh
# run-default.sh - `make run`: audit this machine, then scan its CUDA libraries and Python environments.
set -u
mlgate=${1:-build/mlgate}
echo "make run: $mlgate doctor" >&2
"$mlgate" doctor
[ $? -le 1 ] || exit 2
echo >&2
gpus=${MLGATE_GPUS:-"GTX 1080 Ti,V100,T4,A100,RTX 4090,H100,B200,RTX 5090,GB10"}
set --
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/*/lib "${VIRTUAL_ENV:-}" ./venv ./.venv \
         /usr/lib/python3/dist-packages /usr/local/lib/python3*/dist-packages \
         "$HOME"/.pyenv/versions/*/lib/python3*/site-packages "$HOME"/.local/lib/python3*/site-packages; do
    [ -n "$d" ] && [ -d "$d" ] && set -- "$@" "$d"
done
if [ $# -eq 0 ]; then
    echo "make run: found no CUDA libraries or Python environments; try: $mlgate scan --gpu '$gpus' PATH" >&2
    exit 0
fi
echo "make run: $mlgate scan --gpu '$gpus' $*" >&2
"$mlgate" scan --gpu "$gpus" "$@"
rc=$?
# 1 is a verdict (something does not run everywhere), not a failure of make run.
[ "$rc" -le 1 ] || exit "$rc"
exit 0
