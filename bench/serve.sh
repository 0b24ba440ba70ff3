#!/bin/sh
# serve.sh - throughput, latency and memory of `mlgate serve`, idle and while a gate run is in progress.
# usage: bench/serve.sh MLGATE
# Prints figures (the median of $RUNS wrk runs each), never pass or fail. Needs wrk and curl.
#   RUNS=3         wrk runs per figure (the median is printed)
#   DURATION=10s   each wrk run of /v1/capabilities (/metrics and /readyz: $SHORT, default 5s)
#   IDLE_WAIT=300  seconds to wait for a 1-minute load average under 0.5 before measuring
# The goals (docs/benchmarks.md): >= 20,000 requests/s, p99 < 5 ms, RSS < 15 MB, <= 20 % slower in a run.
set -u
mlgate=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${RUNS:-3}
dur=${DURATION:-10s}
short=${SHORT:-5s}
command -v wrk >/dev/null && command -v curl >/dev/null || { echo "serve.sh: needs wrk and curl" >&2; exit 2; }
dir=$(mktemp -d /tmp/mlgate-serve-bench.XXXXXX)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

# The box idle: a 1-minute load average under 0.5 (at most IDLE_WAIT s), then, before each wrk run,
# a second in which the CPUs are at least 90 % idle (at most 60 s): a shared box is measured quiet.
load1() { cut -d' ' -f1 /proc/loadavg; }
wait_load() {
    i=0
    while [ "$(load1 | awk '{print ($1 < 0.5)}')" = 0 ] && [ $i -lt "${IDLE_WAIT:-300}" ]; do sleep 5; i=$((i + 5)); done
    echo "load average $(load1) (waited ${i} s)"
}
cpu_idle() { # percent idle over one second, all CPUs
    a=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat); sleep 1
    b=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8, $5+$6}' /proc/stat)
    echo "$a $b" | awk '{t = $3 - $1; printf "%d", t ? 100 * ($4 - $2) / t : 100}'
}
wait_quiet() { i=0; while [ "$(cpu_idle)" -lt 90 ] && [ $i -lt 60 ]; do i=$((i + 1)); done; }

# start NAME MATRIX [ARGS...]: the daemon in the background; sets pid and port.
start() {
    name=$1; shift
    "$mlgate" serve "$@" --listen 127.0.0.1:0 2>"$dir/$name.log" &
    pid=$!; pids="$pids $pid"; port=
    i=0
    while [ -z "$port" ] && [ $i -lt 100 ]; do
        port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$dir/$name.log" | head -n1)
        [ -n "$port" ] || { sleep 0.1; i=$((i + 1)); }
    done
    [ -n "$port" ] || { echo "serve.sh: $name did not start:" >&2; cat "$dir/$name.log" >&2; exit 1; }
}
stop() { kill "$1"; wait "$1" 2>/dev/null; }
run_no() { curl -s "http://127.0.0.1:$port/v1/models" | sed -n 's/.*"run":\([0-9]*\).*/\1/p'; }
wait_run() { # until run $1 is shown (at most 60 s)
    i=0
    while :; do
        n=$(run_no); [ -n "$n" ] && [ "$n" -ge "$1" ] && return
        sleep 0.1; i=$((i + 1)); [ $i -lt 600 ] || { echo "serve.sh: run $1 did not end" >&2; exit 1; }
    done
}
mem() { awk '/^VmRSS|^VmHWM/{printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$1/status"; }

# wrk1 DURATION URL: "requests/s p50-ms p99-ms" of one wrk run (non-2xx answers counted as errors).
wrk1() {
    wrk -t2 -c64 -d"$1" --latency "$2" 2>&1 | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
        /Non-2xx|Socket errors/ { err = err $0 }
        END { printf "%.0f %.3f %.3f\n", rps, p50, p99; if (err != "") print "  wrk:" err > "/dev/stderr" }'
}
# median3 FILE: the median of each column over the lines
median() { for c in 1 2 3; do cut -d' ' -f$c "$1" | sort -n | awk '{a[NR]=$1} END {printf "%s ", a[int((NR+1)/2)]}'; done; }
# bench LABEL DURATION URL [HOOK]: $runs wrk runs (HOOK before each), their median printed; sets med_rps.
bench() {
    label=$1 d=$2 url=$3 hook=${4:-}
    : > "$dir/r"
    k=0
    while [ $k -lt "$runs" ]; do
        [ -n "$hook" ] && $hook
        wait_quiet
        [ -n "$hook" ] && $hook start
        wrk1 "$d" "$url" >> "$dir/r"
        [ -n "$hook" ] && $hook end
        k=$((k + 1))
    done
    set -- $(median "$dir/r")
    med_rps=$1
    printf '%-44s %8s req/s   p50 %6s ms   p99 %6s ms   (runs, req/s / p99 ms: %s)\n' "$label" "$1" "$2" "$3" \
        "$(awk '{printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $3}' "$dir/r")"
}

models() { # models N ARGV: a matrix of N exec models running ARGV
    echo "host:"; echo "  capabilities: $dir/caps-$1.json"; echo "models:"
    i=1; while [ $i -le "$1" ]; do
        printf '  - name: m%d\n    kind: llm\n    exec: %s\n    capability: tools.m%d\n' $i "$2" $i; i=$((i + 1))
    done
}

echo "mlgate serve benchmark: $(nproc) cores, $(uname -r), $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), runs=$runs (median)"
wait_load

# 1. Between runs: 3 exec models, one run, then GETs.
models 3 '[/bin/echo, hello]' > "$dir/m3.yaml"
start small "$dir/m3.yaml" --interval 1h --nfd-dir none
wait_run 1
base=http://127.0.0.1:$port
echo "daemon, 3 exec models, run 1 done:           $(mem $pid)"
bench "GET /v1/capabilities ($dur, -t2 -c64)" "$dur" "$base/v1/capabilities"
bench "GET /metrics ($short)" "$short" "$base/metrics"
bench "GET /readyz ($short)" "$short" "$base/readyz"
bench "GET /healthz ($short)" "$short" "$base/healthz"
echo "daemon after $((runs * 4)) wrk runs:                   $(mem $pid)"
stop $pid

# 2. The same daemon idle and during a run of 20 exec models that each take 12 s (so the run spans the
#    whole 10 s of wrk): a POST /v1/check starts it just before wrk, which must end before the run does.
printf 'bench-token-%s\n' "$$" > "$dir/token"; chmod 600 "$dir/token"
models 20 "[/bin/sh, -c, 'sleep 12; echo ok']" > "$dir/m20.yaml"
start big "$dir/m20.yaml" --interval 1h --nfd-dir none --token-file "$dir/token"
base=http://127.0.0.1:$port
wait_run 1
echo "daemon, 20 exec models, run 1 done:          $(mem $pid)"
bench "GET /v1/capabilities, 20 models, idle" "$dur" "$base/v1/capabilities"
idle_rps=$med_rps
during() { # the hook: before (wait for the run to end), start (POST), end (the run still going?)
    case ${1:-} in
    start)
        curl -s -o /dev/null -X POST -H "Authorization: Bearer $(cat "$dir/token")" "$base/v1/check"
        before=$(run_no); sleep 0.3 ;;
    end)
        [ "$(run_no)" = "$before" ] || echo "  serve.sh: the run ended before wrk did: figure not during a run" >&2
        wait_run $((before + 1)) ;;
    esac
}
bench "GET /v1/capabilities, 20 models, in a run" "$dur" "$base/v1/capabilities" during
echo "slowdown during a run: $(echo "$idle_rps $med_rps" | awk '{printf "%.1f %%", 100 * (1 - $2 / $1)}') (requests/s, median of $runs)"
echo "daemon after the runs:                       $(mem $pid)"
stop $pid
