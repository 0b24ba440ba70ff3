#!/bin/sh
# test_corpus.sh - facts about real wheels, checked when the corpus cache is present
# (bench/corpus.sh downloads it; MLGATE_CORPUS points elsewhere). Skips (77) otherwise.
set -u
mlgate=$1
dir=${MLGATE_CORPUS:-$HOME/.cache/mlgate/wheels}
ls "$dir"/*.whl >/dev/null 2>&1 || { echo "no corpus in $dir: skipped"; exit 77; }
pass=0
fail=0
fact() { # fact DESCRIPTION WHEEL-GLOB MEMBER-SUFFIX GPU EXPECTED-STATUS
    w=$(ls "$dir"/$2 2>/dev/null | head -1)
    [ -n "$w" ] || { echo "skip: $2 not cached"; return; }
    got=$("$mlgate" scan --json --gpu "$4" "$w" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(v["status"] for f in d["files"] if f["path"].endswith(sys.argv[1]) for v in f["verdicts"]))' "$3")
    if [ "$got" = "$5" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $1: $3 on $4 is '$got', want '$5'"; fi
}
. "$(dirname "$0")/corpus_facts.sh"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
