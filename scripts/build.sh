#!/usr/bin/env bash
# Sets up the machine (scripts/bootstrap.sh) and builds qaxdb into build/ (CLI at
# build/bin/qaxdb). Extra arguments go to cmake, e.g. -DCMAKE_BUILD_TYPE=Release.
# Usage: scripts/build.sh [BUILD_DIR [CMAKE_ARGS...]]   (default BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
build_dir=${1:-build}
shift || true
cmake -S . -B "$build_dir" -G Ninja "$@" >/dev/null
ninja -C "$build_dir" >/dev/null || ninja -C "$build_dir" # rerun to show what failed
