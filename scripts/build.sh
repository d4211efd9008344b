#!/usr/bin/env bash
# Configures (once) and builds nmoe into build/ with Ninja and ccache.
# Usage: scripts/build.sh [extra cmake -D options]   env: NMOE_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NMOE_BUILD_DIR:-build}
# ccache lives outside the clone so fresh clones (CI) reuse it.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Hash paths relative to the clone, so a clone in another folder hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
if [ ! -f "$build_dir/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
fi
ninja -C "$build_dir" ${NMOE_NINJA_ARGS:-}
