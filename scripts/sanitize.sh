#!/usr/bin/env bash
# The sanitizer stage (docs/development.md, "Sanitizers and fuzzing"): builds the
# torch-free code with clang, AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ (cmake/NmoeSanitize.cmake: no LibTorch target is configured), runs its
# unit tests, then each libFuzzer target of fuzz/ for NMOE_FUZZ_SECONDS (default 15)
# over its committed seeds. Run by the main suite as the ctest `sanitize`.
# Usage: scripts/sanitize.sh [ctest arguments]   env: NMOE_ASAN_BUILD_DIR (default build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NMOE_ASAN_BUILD_DIR:-build-asan}
cxx=${NMOE_ASAN_CXX:-clang++-14}
cc=${NMOE_ASAN_CC:-clang-14}
if ! command -v "$cxx" >/dev/null; then
  echo "sanitize: $cxx not found (scripts/install-deps.sh installs clang-14)" >&2
  exit 77  # ctest: skipped
fi
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
start=$(date +%s)
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
    -DNMOE_SANITIZE=address -DNMOE_FUZZ=ON -DNMOE_FUZZ_SECONDS="${NMOE_FUZZ_SECONDS:-15}" >/dev/null
elif [ -n "${NMOE_FUZZ_SECONDS:-}" ]; then
  cmake "$build_dir" -DNMOE_FUZZ_SECONDS="$NMOE_FUZZ_SECONDS" >/dev/null
fi
labels=${NMOE_ASAN_LABELS:-unit|fuzz}
# Build only what the selected tests run: each test is named after its executable
# (nmoe_test, fuzz/CMakeLists.txt); integration/e2e binaries are left out.
mapfile -t targets < <(ctest --test-dir "$build_dir" -N -L "$labels" | sed -n 's/^ *Test *#[0-9]*: *//p')
ninja -C "$build_dir" -j "${NMOE_ASAN_JOBS:-$(nproc)}" ${NMOE_NINJA_ARGS:-} "${targets[@]}"
built=$(date +%s)
echo "sanitize: build $((built - start)) s"
ctest --test-dir "$build_dir" --output-on-failure -j "${NMOE_ASAN_JOBS:-$(nproc)}" -L "$labels" "$@"
echo "sanitize: build + tests $(( $(date +%s) - start )) s"
