#!/bin/sh
# run.sh - builds the libFuzzer targets (clang, ASan+UBSan: -DMLGATE_FUZZ=ON in build-fuzz/) and fuzzes each in turn, then prints each one's executions and exec/s.
# usage: tests/fuzz/run.sh [SECONDS] [TARGET...]     (make fuzz: FUZZ_SECONDS=600 make fuzz)
#   SECONDS per target (default $FUZZ_SECONDS, else 60); TARGETs default to all of them.
#   FUZZ_JOBS=N      N fuzzing processes per target at once (-jobs=N -workers=N; default 1)
#   FUZZ_CC          the compiler (default clang)
#   FUZZ_MALLOC_MB   the largest single allocation before libFuzzer calls it an OOM (default: the RSS limit, 256)
#   MLGATE_FUZZ_KNOWN=tag,...   step over findings already reported (tests/fuzz/crashes/README.md);
#   FUZZ_UBSAN_SUPP=FILE        and their undefined behaviour (tests/fuzz/crashes/known.supp)
# Seeds: tests/fuzz/corpus/<target> (scan: tests/fixtures too). New inputs: build-fuzz/corpus/<target>.
# Findings (crash-*, timeout-*, oom-*): build-fuzz/findings/<target>/; logs: build-fuzz/logs/.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
secs=${1:-${FUZZ_SECONDS:-60}}
[ $# -gt 0 ] && shift
all="scan gguf safetensors st_index st_config matrix answer media content_range explain tar hub_tree"
targets=${*:-$all}
jobs=${FUZZ_JOBS:-1}
out=$root/build-fuzz
# ASan's quarantine of freed memory (256 MiB by default) would alone pass the 256 MiB RSS limit at
# 100k exec/s: kept small, the limit measures the library.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=16}"
# Undefined behaviour is a finding (the build lets it recover only so that FUZZ_UBSAN_SUPP, a
# suppressions file such as tests/fuzz/crashes/known.supp, can step over reported ones).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1${FUZZ_UBSAN_SUPP:+:suppressions=$FUZZ_UBSAN_SUPP}}"

cmake -S . -B "$out" -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLGATE_FUZZ=ON >/dev/null
cmake --build "$out" -j "$(nproc 2>/dev/null || echo 2)" --target fuzz-targets >/dev/null

summary=$out/logs/summary.txt
mkdir -p "$out/logs"
: >"$summary"
status=0
for t in $targets; do
    bin=$out/tests/fuzz_$t
    [ -x "$bin" ] || { echo "run.sh: no fuzz target '$t' (one of: $all)" >&2; exit 2; }
    mkdir -p "$out/corpus/$t" "$out/findings/$t" "$out/logs/$t"
    seeds="$root/tests/fuzz/corpus/$t"
    maxlen=65536
    case $t in
        scan) seeds="$seeds $root/tests/fixtures"; maxlen=262144 ;;
        content_range) maxlen=512 ;;
    esac
    dict=
    [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict="-dict=$root/tests/fuzz/dict/$t.dict"
    log=$out/logs/$t.log
    echo "== fuzz_$t: ${secs}s x $jobs" >&2
    rc=0
    # shellcheck disable=SC2086
    (cd "$out/logs/$t" && rm -f fuzz-*.log &&
        "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=256 -malloc_limit_mb="${FUZZ_MALLOC_MB:-256}" \
            -max_len=$maxlen -print_final_stats=1 -artifact_prefix="$out/findings/$t/" $dict \
            $( [ "$jobs" -gt 1 ] && echo "-jobs=$jobs -workers=$jobs" ) \
            "$out/corpus/$t" $seeds) >"$log" 2>&1 || rc=$?
    # the stats: one run's log, or each job's fuzz-N.log
    logs=$log
    [ "$jobs" -gt 1 ] && logs=$(ls "$out/logs/$t"/fuzz-*.log 2>/dev/null || echo "$log")
    # shellcheck disable=SC2086
    execs=$(cat $logs | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{s += $1} END {print s + 0}')
    # shellcheck disable=SC2086
    rate=$(cat $logs | sed -n 's/^stat::average_exec_per_sec: *//p' | awk '{s += $1} END {print s + 0}')
    found=$(ls "$out/findings/$t" 2>/dev/null | wc -l)
    verdict=ok
    if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
        verdict="FOUND $found in build-fuzz/findings/$t (rc $rc; see build-fuzz/logs/$t.log)"
        status=1
    fi
    printf '%-14s %12s execs %8s exec/s  %s\n' "$t" "$execs" "$rate" "$verdict" >>"$summary"
done
echo >&2
cat "$summary"
exit $status
