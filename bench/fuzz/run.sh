#!/usr/bin/env bash
# Longer fuzzing runs of every fuzz/ target (bench/fuzz/README.md).
# Usage: bench/fuzz/run.sh [SECONDS per target, default 600] [target ...]
# Builds build-asan/ through scripts/sanitize.sh's configuration (no tests run),
# then runs each target over its seeds plus the corpus grown by earlier runs
# (build-asan/fuzz/long/corpus/<target>, kept between runs), one at a time, and
# prints one line per target: execs/s, coverage (cov: edges, ft: features),
# corpus size, and crash/leak/timeout artifacts (build-asan/fuzz/long/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors tokenizer model_config job_spec job_file stored_records)
build_dir=${NMOE_ASAN_BUILD_DIR:-build-asan}
NMOE_ASAN_LABELS=fuzz scripts/sanitize.sh -E . >/dev/null  # builds the fuzz targets, runs no test
work="$build_dir/fuzz/long"
mkdir -p "$work"
for t in "${targets[@]}"; do
  log="$work/$t.log"
  set +e
  fuzz/run_fuzzer.sh "$build_dir/fuzz/fuzz_$t" "$t" "$seconds" "$work" >"$log" 2>&1
  rc=$?
  set -e
  stats=$(grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)" "$log" | awk '{print $2}' | paste -sd' ')
  last=$(grep -E "^#[0-9]+" "$log" | grep -E "cov:" | tail -1)
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.*corp: ([0-9]+).*/\1/p' <<<"$last")
  crashes=$(find "$work/artifacts/$t" -type f | wc -l)
  read -r runs eps rss <<<"$stats"
  echo "$t: ${seconds}s runs=${runs:-?} execs/s=${eps:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} rss_mb=${rss:-?} artifacts=$crashes exit=$rc"
done
