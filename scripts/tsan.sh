#!/usr/bin/env bash
# The ThreadSanitizer stage (docs/development.md, "ThreadSanitizer"): builds the
# coordinator, storage and common libraries, nmoe-coordinator and their tests with
# -fsanitize=thread into build-tsan/ (cmake/NmoeSanitize.cmake, NMOE_SANITIZE=thread:
# no LibTorch target is configured) and runs those tests. Any report fails the
# test that produced it (halt_on_error); suppressions (tests/tsan.supp) cover only
# uninstrumented system libraries. Run by the main suite as the ctest `sanitize_thread`.
# Usage: scripts/tsan.sh [ctest arguments]   env: NMOE_TSAN_BUILD_DIR (default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NMOE_TSAN_BUILD_DIR:-build-tsan}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 history_size=7 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp}
# The coordinator's tests, storage's and common's (torch-free, no worker process).
tests=(control_plane_test control_plane_sync_test control_plane_concurrency_test rendezvous_test event_hub_test
       pipeline_driver_test storage_test common_test)
start=$(date +%s)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNMOE_SANITIZE=thread >/dev/null
fi
ninja -C "$build_dir" -j "${NMOE_TSAN_JOBS:-$(nproc)}" nmoe-coordinator "${tests[@]}"
built=$(date +%s)
echo "tsan: build $((built - start)) s"
regex="^($(IFS='|'; echo "${tests[*]}"))\$"

ctest --test-dir "$build_dir" --output-on-failure -j "${NMOE_TSAN_JOBS:-$(nproc)}" -R "$regex" "$@"
echo "tsan: build + tests $(( $(date +%s) - start )) s"
