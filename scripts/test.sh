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

# JavaScript clients (SDK tests, examples): install their npm packages from
# their lock files. npm ci always starts from scratch, so skip it when
# node_modules was already installed from the current lock file.
for dir in tests/sdk examples; do
  [[ -f $dir/package-lock.json ]] || continue
  stamp=$dir/node_modules/.package-lock.json
  if [[ -f $stamp && $stamp -nt $dir/package-lock.json && $stamp -nt $dir/package.json ]]; then
    echo "test: $dir/node_modules is up to date"
  else
    npm ci --prefix "$dir" --no-audit --no-fund
  fi
done

# CI also runs the unit and broker tests under AddressSanitizer and
# UndefinedBehaviorSanitizer and fuzzes the service for a minute. It runs
# first, so that the last thing printed is the summary of the main run.
sanitize_rc=0
if [[ ${CI:-} == true || ${SHADOW_SANITIZE_CI:-} == 1 ]]; then
  scripts/ci-sanitize.sh || sanitize_rc=$?
fi

# --no-tests=error: a build that lost its tests must fail, not pass quietly.
# --timeout bounds any test that does not set its own TIMEOUT.
ctest_rc=0
ctest --test-dir "$build_dir" --output-on-failure -j2 --no-tests=error --timeout 600 "$@" || ctest_rc=$?
if [[ $ctest_rc -ne 0 ]]; then exit "$ctest_rc"; fi
exit "$sanitize_rc"
