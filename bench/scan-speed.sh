#!/bin/sh
# scan-speed.sh - times `mlgate scan` (warm page cache) and, where cuobjdump exists, a cuobjdump loop.
# usage: bench/scan-speed.sh MLGATE [PATH...]     (default PATH: /usr/local/cuda/lib64)
set -u
mlgate=$1; shift
[ $# -gt 0 ] || set -- /usr/local/cuda/lib64
runs=${RUNS:-7}
t() { # median wall seconds of $runs runs of the command
    i=0; : > /tmp/mlgate-bench.$$
    while [ $i -lt "$runs" ]; do
        s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        echo "$e - $s" | bc >> /tmp/mlgate-bench.$$; i=$((i + 1))
    done
    sort -n /tmp/mlgate-bench.$$ | awk '{a[NR]=$1} END {printf "median %.3f s, min %.3f s, max %.3f s", a[int((NR+1)/2)], a[1], a[NR]}'
    rm -f /tmp/mlgate-bench.$$
}
echo "machine: $(nproc) cores, $(uname -m); paths: $*; $(du -shL "$@" 2>/dev/null | awk '{print $1}' | tr '\n' ' ')"
"$mlgate" scan "$@" >/dev/null 2>&1   # warm the page cache
echo "inventory (no --gpu):          $(t "$mlgate" scan "$@")"
echo "--gpu H100:                    $(t "$mlgate" scan --gpu H100 "$@")"
echo "--gpu H100,RTX 5090,GB10,B200: $(t "$mlgate" scan --gpu "H100,RTX 5090,GB10,B200" "$@")"
echo "--gpu all (17 capabilities):   $(t "$mlgate" scan --gpu all "$@")"
echo "inventory, 1 thread:           $(t "$mlgate" scan -j1 "$@")"
if command -v cuobjdump >/dev/null; then
    files=$("$mlgate" scan --json "$@" | python3 -c 'import json,sys; [print(f["path"]) for f in json.load(sys.stdin)["files"] if not f["error"] and "!" not in f["path"]]')
    s=$(date +%s.%N)
    for f in $files; do cuobjdump --list-elf --list-ptx "$f" >/dev/null 2>&1; done
    e=$(date +%s.%N)
    echo "cuobjdump --list-elf --list-ptx loop over $(echo "$files" | wc -l) files: $(echo "$e - $s" | bc) s"
fi
