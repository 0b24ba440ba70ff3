#!/bin/sh
# serve-soak.sh - many gate runs of `mlgate serve` back to back, with a client on every endpoint in between:
# the daemon's RSS every $EVERY runs, then SIGTERM: its exit status and what ASan/LSan/UBSan said.
# usage: bench/serve-soak.sh MLGATE [RUNS]     (RUNS default 1000; an ASan build: see docs/benchmarks.md)
#   INTERVAL=20ms  serve --interval;  EVERY=100  runs between RSS samples
# ASAN_OPTIONS defaults to detect_leaks=1 (LSan at exit); an ASan build's RSS includes its quarantine
# (freed blocks held back, up to quarantine_size_mb, 256 MB by default), so its curve is judged on the
# later samples, and the release build's curve is the daemon's own memory.
# Prints figures, never pass or fail (the verdict lines say what was seen).
set -u
mlgate=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
total=${2:-1000}
interval=${INTERVAL:-20ms}
every=${EVERY:-100}
command -v curl >/dev/null || { echo "serve-soak.sh: needs curl" >&2; exit 2; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
dir=$(mktemp -d /tmp/mlgate-serve-soak.XXXXXX)
pid= client=
cleanup() { for p in $client $pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

cat > "$dir/m.yaml" <<EOF
host:
  capabilities: $dir/caps.json
  receipts: $dir/receipts.db
models:
  - name: echo
    kind: llm
    exec: [/bin/echo, hello]
    capability: tools.echo
  - name: printf
    kind: llm
    exec: [/bin/sh, -c, 'printf "%s\n" ok ok ok']
    capability: tools.printf
  - name: nothing
    kind: llm
    exec: [/bin/true]
    capability: tools.true
  - name: failing
    kind: image
    exec: [/bin/sh, -c, 'echo no >&2; exit 3']
    capability: image.generate
    residency: on-demand
EOF
printf 'soak-token-%s\n' "$$" > "$dir/token"; chmod 600 "$dir/token"

"$mlgate" serve "$dir/m.yaml" --listen 127.0.0.1:0 --interval "$interval" --nfd-dir none \
    --token-file "$dir/token" 2>"$dir/serve.log" &
pid=$!
port= i=0
while [ -z "$port" ] && [ $i -lt 300 ]; do
    port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$dir/serve.log" | head -n1)
    [ -n "$port" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$port" ] || { echo "serve-soak.sh: serve did not start:" >&2; cat "$dir/serve.log" >&2; exit 1; }
base=http://127.0.0.1:$port
run_no() { curl -s "$base/v1/models" | sed -n 's/.*"run":\([0-9]*\).*/\1/p'; }
rss() { awk '/^VmRSS/{print $2}' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM/{print $2}' "/proc/$pid/status"; }

# The client: every endpoint on one keep-alive connection, a POST /v1/check, over and over.
(
    n=0
    while kill -0 "$pid" 2>/dev/null; do
        curl -s -o /dev/null "$base/healthz" -o /dev/null "$base/readyz" -o /dev/null "$base/metrics" \
            -o /dev/null "$base/v1/capabilities" -o /dev/null "$base/v1/capabilities/tools.echo" \
            -o /dev/null "$base/v1/capabilities/no.such" -o /dev/null "$base/v1/models" \
            -o /dev/null "$base/v1/runs?limit=5" -o /dev/null "$base/v1/doctor" -o /dev/null "$base/v1/check" \
            -o /dev/null "$base/openapi.json" -o /dev/null "$base/no/such" 2>/dev/null
        curl -s -o /dev/null -X POST -H "Authorization: Bearer $(cat "$dir/token")" "$base/v1/check" 2>/dev/null
        curl -s -o /dev/null -X POST -H "Authorization: Bearer wrong" "$base/v1/check" 2>/dev/null
        n=$((n + 1))
        echo $n > "$dir/rounds"
    done
) &
client=$!

echo "serve soak: $total runs, --interval $interval, 4 exec models (1 failing), client on every endpoint"
echo "binary: $mlgate; ASAN_OPTIONS=$ASAN_OPTIONS"
start=$(date +%s)
printf '%8s %10s %10s %8s\n' run "VmRSS kB" "VmHWM kB" seconds
: > "$dir/curve"
next=$every
while [ "$next" -le "$total" ]; do
    n=$(run_no)
    if [ -z "$n" ]; then kill -0 "$pid" 2>/dev/null || { echo "serve-soak.sh: the daemon died"; break; }; sleep 0.05; continue; fi
    if [ "$n" -ge "$next" ]; then
        r=$(rss)
        printf '%8s %10s %10s %8s\n' "$n" "$r" "$(hwm)" $(($(date +%s) - start))
        echo "$next $r" >> "$dir/curve"
        next=$((next + every))
    else
        sleep 0.02
    fi
done
kill "$client" 2>/dev/null; wait "$client" 2>/dev/null; client=
runs=$(run_no)
kill -TERM "$pid"; wait "$pid"; status=$?; pid=
secs=$(($(date +%s) - start))
echo "runs: $runs in $secs s; client rounds: $(cat "$dir/rounds" 2>/dev/null || echo 0) (14 requests each)"
# First half vs second half of the samples: the mean and the spread, and the rise from first to last.
awk -v half=$((total / 2)) '
    { if ($1 <= half) { a += $2; na++ } else { b += $2; nb++ } if (NR == 1) f = $2; l = $2
      if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2 }
    END { if (!na || !nb) exit
          printf "RSS: first sample %d kB, last %d kB (%+d kB); min %d, max %d kB\n", f, l, l - f, min, max
          printf "RSS mean, runs <= %d: %.0f kB; runs > %d: %.0f kB (%+.1f %%)\n", half, a / na, half, b / nb, 100 * (b / nb - a / na) / (a / na) }' "$dir/curve"
echo "exit status at SIGTERM: $status"
errs=$(grep -c -E 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:' "$dir/serve.log")
echo "sanitizer reports in stderr: $errs"
[ "$errs" = 0 ] || grep -E -A20 'ERROR: AddressSanitizer|LeakSanitizer|runtime error:' "$dir/serve.log" | head -n 60
grep -v -E ': run [0-9]+: |listening on|  failing: ' "$dir/serve.log" | head -n 5
