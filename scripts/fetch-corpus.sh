#!/usr/bin/env bash
# Fetches the LibreOffice-help corpus (docs/data.md): builds nmoe-data if needed and
# runs `nmoe-data fetch-corpus` with the given arguments (default output:
# $NMOE_CACHE_DIR or ~/.cache/nmoe, corpus/libreoffice-help). No root needed.
# Usage: scripts/fetch-corpus.sh [--langs en,el,...] [--out DIR] [--sample-bytes N]
#   env: NMOE_BUILD_DIR (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NMOE_BUILD_DIR:-build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$build_dir" nmoe-data >/dev/null
exec "$build_dir/data/nmoe-data" fetch-corpus "$@"
