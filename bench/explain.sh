#!/bin/sh
# explain.sh - what `mlgate explain` costs on logs: wall time and peak RSS (median of 3) for the whole
# corpus of real error texts, the corpus repeated to 16 MiB (the input cap), 16 MiB of one byte, and
# 16 MiB of a pattern's first piece over and over (the matcher's worst case); matching only (--no-check)
# and, for the corpus, with the checks of this machine.
# usage: bench/explain.sh [MLGATE]      (default build/mlgate)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mlgate=${1:-$here/../build/mlgate}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cat "$here"/../tests/explain/corpus/*.txt > "$t/corpus.log"
: > "$t/big.log"
while [ "$(wc -c < "$t/big.log")" -lt 16000000 ]; do cat "$t/corpus.log" >> "$t/big.log"; done
head -c 16000000 "$t/big.log" > "$t/corpus16.log"
head -c 16000000 /dev/zero | tr '\0' a > "$t/a16.log"
yes 'CUDA out of memory. Tried to allocate' | head -c 16000000 > "$t/prefix16.log"
run() { # run NAME ARGS...: median wall seconds and peak KB of 3 runs
    name=$1; shift
    for i in 1 2 3; do /usr/bin/time -q -f "%e %M" "$mlgate" explain "$@" > /dev/null 2>> "$t/times" || true; done
    sort -n "$t/times" | sed -n 2p | { read -r s kb; printf '%-34s %6.2f s %8s KB\n' "$name" "$s" "$kb"; }
    rm -f "$t/times"
}
printf 'corpus: %s texts, %s bytes\n' "$(ls "$here"/../tests/explain/corpus/*.txt | wc -l)" "$(wc -c < "$t/corpus.log")"
run "corpus, matching only" --no-check "$t/corpus.log"
run "corpus, with this machine's checks" "$t/corpus.log"
run "corpus repeated to 16 MB" --no-check "$t/corpus16.log"
run "16 MB of one byte" --no-check "$t/a16.log"
run "16 MB of a pattern's first piece" --no-check "$t/prefix16.log"
