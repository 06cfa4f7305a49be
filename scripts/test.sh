#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors and runs every
# test (unit, integration, client SDK) through ctest.
#
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R rocksdb]
# SHADOW_WERROR=OFF builds without -Werror (handy while editing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${SHADOW_BUILD_DIR:-build}

scripts/install-deps.sh
SHADOW_BUILD_DIR=$build_dir scripts/build.sh -DSHADOW_WERROR="${SHADOW_WERROR:-ON}"

# JavaScript client tests: install their npm packages from the lock file.
# npm ci always starts from scratch, so skip it when node_modules was already
# installed from the current lock file.
sdk=tests/sdk
if [[ -f $sdk/package-lock.json ]]; then
  stamp=$sdk/node_modules/.package-lock.json
  if [[ -f $stamp && $stamp -nt $sdk/package-lock.json && $stamp -nt $sdk/package.json ]]; then
    echo "test: $sdk/node_modules is up to date"
  else
    npm ci --prefix "$sdk" --no-audit --no-fund
  fi
fi

# --no-tests=error: a build that lost its tests must fail, not pass quietly.
# --timeout bounds any test that does not set its own TIMEOUT.
exec ctest --test-dir "$build_dir" --output-on-failure -j2 --no-tests=error --timeout 600 "$@"
