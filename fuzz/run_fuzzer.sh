#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over its committed seeds.
# Usage: fuzz/run_fuzzer.sh BINARY NAME SECONDS WORK_DIR [extra libFuzzer flags]
# New inputs go to WORK_DIR/corpus/NAME (never into fuzz/corpus/), crash inputs to
# WORK_DIR/artifacts/NAME/. Exit status: non-zero on a crash, leak or sanitizer report.
set -euo pipefail
bin=$1 name=$2 seconds=$3 work=$4
shift 4
seeds="$(cd "$(dirname "$0")" && pwd)/corpus/$name"
mkdir -p "$work/corpus/$name" "$work/artifacts/$name"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/$name/" "$@" "$work/corpus/$name" "$seeds"
