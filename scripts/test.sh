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
# The sanitizer stages (ctest label `sanitize`: scripts/sanitize.sh, clang ASan+UBSan
# with the fuzzers; scripts/tsan.sh, GCC TSan; each builds its own tree) run only with
# NMOE_SANITIZE_STAGES=1 or when asked for by ctest arguments (docs/development.md).
filter=()
if [ $# -eq 0 ] && [ "${NMOE_SANITIZE_STAGES:-0}" != 1 ]; then filter=(-LE sanitize); fi
ctest --test-dir "${NMOE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "${filter[@]}" "$@"
echo "build + tests: $(( $(date +%s) - start )) s"
