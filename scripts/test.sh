#!/usr/bin/env bash
# README command (2): installs what is missing, builds, and runs every test.
# Usage: scripts/test.sh [ctest arguments, e.g. -L unit or -R server]
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMP threads that wait passively: with the default spin-waiting, a 2-thread
# training step ran 5x slower when other processes shared the cores (docs/compute.md).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
start=$(date +%s)
scripts/install-deps.sh
scripts/build.sh
built=$(date +%s)
echo "build: $((built - start)) s"
dir=${NMOE_BUILD_DIR:-build}
if [ $# -gt 0 ]; then
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" "$@"
else
  # The main suite, then the sanitizer stages (ctest label `sanitize`:
  # scripts/sanitize.sh, clang ASan+UBSan with the fuzzers; scripts/tsan.sh, GCC
  # TSan), one at a time: each builds its own tree with every core, which would
  # starve the timing-bound tests of the main suite if they ran beside them.
  # NMOE_SANITIZE_STAGES=0 skips them (docs/development.md).
  status=0
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -LE sanitize || status=$?
  echo "main suite: $(( $(date +%s) - start )) s"
  if [ "${NMOE_SANITIZE_STAGES:-1}" != 0 ]; then
    ctest --test-dir "$dir" --output-on-failure -j 1 -L sanitize || status=$?
  fi
  [ "$status" -eq 0 ] || { echo "build + tests: $(( $(date +%s) - start )) s (FAILED)"; exit "$status"; }
fi
echo "build + tests: $(( $(date +%s) - start )) s"
