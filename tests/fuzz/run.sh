#!/bin/sh
# run.sh - builds the libFuzzer target with clang (ASan+UBSan) and fuzzes for a while.
# usage: tests/fuzz/run.sh [SECONDS]    (seeds: tests/fixtures; findings: build-fuzz/crash-*)
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"
cp tests/fixtures/*.o tests/fixtures/*.so tests/fixtures/*.cubin tests/fixtures/*.whl tests/fixtures/*.gguf tests/fixtures/*.safetensors "$out/corpus/"
src="lib/core/*.c lib/binaries/*.c lib/binaries/tables/*.c
     lib/models/gguf.c lib/models/safetensors.c lib/models/tables/ggml.c
     lib/host/targets.c lib/host/cpu.c lib/host/sysfs.c lib/host/gpu/*.c"
# shellcheck disable=SC2086
clang -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
    $src tests/fuzz/fuzz_scan.c -llz4 -lzstd -lz -lcjson -lpthread -ldl -o "$out/fuzz_scan"
cd "$out" && ./fuzz_scan -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 -print_final_stats=1 corpus
