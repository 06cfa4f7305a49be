#!/usr/bin/env bash
# Runs mosquitto with a plugin built with -DSHADOW_SANITIZE=ON (gcc's ASan and
# UBSan). Mosquitto itself is not instrumented, and the ASan runtime refuses
# to be dlopen()ed with the plugin: it must be the first library of the
# process, so it is preloaded here, for the broker only (preloading it into
# python or node that start the broker would instrument them too).
#
# Use it as the broker binary of the test harnesses, e.g.
#   cmake -DSHADOW_MOSQUITTO=$PWD/tests/fuzz/asan-mosquitto.sh \
#         -DMOSQUITTO_EXECUTABLE=$PWD/tests/fuzz/asan-mosquitto.sh ...
# (scripts/ci-sanitize.sh does). Environment:
#   SHADOW_REAL_MOSQUITTO     the broker binary (default: mosquitto on PATH, /usr/sbin)
#   SHADOW_SANITIZER_LOG_DIR  if set, a copy of the broker's stderr (where
#                             its log and any sanitizer report go) is kept
#                             there as broker.<pid>.log, so that a whole run
#                             can be searched for reports afterwards, even from
#                             tests that expect the broker to die. (The
#                             runtimes' log_path option is not used: with gcc,
#                             UBSan reports ignore it when ASan is preloaded.)
set -euo pipefail

real=${SHADOW_REAL_MOSQUITTO:-}
if [ -z "$real" ]; then
  real=$(command -v mosquitto 2>/dev/null || true)
  [ -n "$real" ] || real=/usr/sbin/mosquitto
fi

cc=${CC:-gcc}
case $cc in *clang*) cc=gcc ;; esac  # the plugin's runtime is gcc's when built with gcc
asan=$($cc -print-file-name=libasan.so)
ubsan=$($cc -print-file-name=libubsan.so)
if [ ! -e "$asan" ]; then
  echo "asan-mosquitto: $cc has no libasan.so ($asan)" >&2
  exit 1
fi

# detect_leaks=0: mosquitto (not instrumented) does not free everything it
# allocates before exit, and those reports would drown the plugin's.
# halt_on_error/abort_on_error: a report must stop the broker so the test that
# caused it fails.
asan_opts="detect_leaks=0:abort_on_error=1:halt_on_error=1"
ubsan_opts="halt_on_error=1:print_stacktrace=1"
if [ -n "${SHADOW_SANITIZER_LOG_DIR:-}" ]; then
  mkdir -p "$SHADOW_SANITIZER_LOG_DIR"
  # exec keeps this pid for mosquitto, so $$ names the broker; tee outlives
  # the exec and ends when mosquitto closes its stderr.
  exec 2> >(tee -a "$SHADOW_SANITIZER_LOG_DIR/broker.$$.log" >&2)
fi

LD_PRELOAD="$asan${ubsan:+ $ubsan}${LD_PRELOAD:+ $LD_PRELOAD}" \
ASAN_OPTIONS="${SHADOW_BROKER_ASAN_OPTIONS:-$asan_opts}" \
UBSAN_OPTIONS="${SHADOW_BROKER_UBSAN_OPTIONS:-$ubsan_opts}" \
  exec "$real" "$@"
