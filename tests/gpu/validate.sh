#!/bin/sh
# validate.sh - run on the GPU machine: mlgate vs cuobjdump vs the driver, and timings.
# usage: tests/gpu/validate.sh MLGATE OUTDIR PHASE [PATH...]
#   PHASE static: mlgate scan (timed), cuobjdump comparison (timed), verdicts for the local GPU
#   PHASE load:   mlgate scan --load over PATHs (driver agreement)
set -u
mlgate=$1; out=$2; phase=$3; shift 3
[ $# -gt 0 ] || set -- /usr/local/cuda/lib64 "$(python3 -c 'import site; print(site.getsitepackages()[0])')"
mkdir -p "$out"
{
    nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader
    cuobjdump --version | tail -1
    echo "paths: $*"
} | tee "$out/env.txt"
case "$phase" in
static)
    for i in 1 2 3; do /usr/bin/time -f "mlgate scan (inventory) run $i: %e s, %M KB" "$mlgate" scan "$@" >/dev/null; done 2>&1 | tee -a "$out/timing.txt"
    /usr/bin/time -f "mlgate scan --gpu H100 (verdicts): %e s" "$mlgate" scan --gpu H100 "$@" > "$out/verdicts.txt" 2>>"$out/timing.txt"
    "$mlgate" scan --json --list "$@" > /tmp/mlgate-scan.json
    python3 "$(dirname "$0")/compare_cuobjdump.py" /tmp/mlgate-scan.json > "$out/compare.txt"
    gzip -1c /tmp/mlgate-scan.json > "$out/scan.json.gz"
    echo "compare exit $?" >> "$out/compare.txt"
    tail -3 "$out/compare.txt"; cat "$out/timing.txt"; head -40 "$out/verdicts.txt"
    ;;
load)
    /usr/bin/time -f "mlgate scan --load: %e s" "$mlgate" scan --load --load-budget "${BUDGET:-40}" --json "$@" \
        > /tmp/mlgate-load.json 2>"$out/load.err"
    echo "exit $?" >> "$out/load.err"
    gzip -1c /tmp/mlgate-load.json > "$out/load.json.gz"
    python3 - /tmp/mlgate-load.json > "$out/load.txt" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("device:", d["device"])
keys = ("loaded", "refused", "empty_refused", "crashed", "timeout", "not_tried")
tot = dict.fromkeys(keys, 0)
dis = 0
for f in d["files"]:
    l = f.get("load")
    if not l:
        continue
    for k in keys:
        tot[k] += l[k]
    dis += len(l["disagreements"])
    v = [x for x in f["verdicts"] if x["target"] == "GPU0"][0]
    print(f'{v["status"]:8} {" ".join(f"{k}={l[k]}" for k in keys)} {f["path"]}')
    for x in l["disagreements"]:
        print("   DISAGREE", x)
print("TOTAL", tot, "disagreements", dis)
PY
    cat "$out/load.err"; tail -3 "$out/load.txt"
    ;;
esac
