#!/usr/bin/env bash
# README command (2): installs what is missing, builds, and runs every test.
# Usage: scripts/test.sh [ctest arguments, e.g. -L unit or -R server]
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/install-deps.sh
scripts/build.sh
built=$(date +%s)
echo "build: $((built - start)) s"
ctest --test-dir "${NMOE_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "$@"
echo "build + tests: $(( $(date +%s) - start )) s"
