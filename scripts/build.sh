#!/usr/bin/env bash
# Configures and builds everything (plugin, tools, tests) in ./build.
#
# Usage: scripts/build.sh [extra cmake arguments, e.g. -DSHADOW_SANITIZE=ON]
# The build directory can be changed with SHADOW_BUILD_DIR (default: build).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${SHADOW_BUILD_DIR:-build}

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir" -j"$(nproc)"
