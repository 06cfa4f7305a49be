#!/usr/bin/env bash
# The sanitizer and fuzzing stage of CI:
#  1. builds an AddressSanitizer + UndefinedBehaviorSanitizer tree (gcc,
#     -DSHADOW_SANITIZE=ON) and runs the unit, integration and REST tests
#     under it; the brokers those tests start load the instrumented plugin
#     through tests/fuzz/asan-mosquitto.sh, and every sanitizer report a broker
#     writes fails the stage, even when the test that caused it passed;
#  2. builds the libFuzzer targets shadow_fuzz (the shadow service) and
#     rules_sql_fuzz (the rules engine's SQL, templates and rule model) with
#     clang, ASan + UBSan, and runs each on its committed seed corpus; any
#     crash, sanitizer report or invariant violation fails the stage. In CI
#     the runs are deterministic: a fixed seed and a fixed number of
#     executions, so the same commit always explores the same inputs and a
#     failure can be replayed exactly. Exploring further (random seed, a time
#     budget) is a separate, documented command:
#       SHADOW_FUZZ_SECONDS=3600 scripts/ci-sanitize.sh --fuzz-only
# Every step runs even when an earlier one failed; a summary follows.
#
# Usage: scripts/ci-sanitize.sh [--fuzz-only]
# Environment (all optional):
#   SHADOW_ASAN_BUILD_DIR   ASan tree            (default: build-asan)
#   SHADOW_FUZZ_BUILD_DIR   fuzzer tree          (default: build-fuzz)
#   SHADOW_FUZZ_RUNS        executions of the deterministic CI run, seed 1
#                           (default: 100000, about a minute of one core)
#   SHADOW_RULES_FUZZ_RUNS  the same for rules_sql_fuzz (default: 200000,
#                           about a minute here)
#   SHADOW_FUZZ_SECONDS     instead: explore for this long with a random seed
#   SHADOW_SANITIZE_TESTS   ctest regex of the non-unit tests to run under
#                           ASan (default: '^(integration|rest)\.'; e.g.
#                           '^(integration|rest|sdk)\.' adds the SDK suite)
#   SHADOW_ASAN_TARGETS     targets built in the ASan tree
#                           (default: unit_tests mosquitto_shadow)
# Needs the packages of scripts/install-deps.sh; installs clang and
# libclang-rt-14-dev (libFuzzer) itself when they are missing.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
asan_dir=${SHADOW_ASAN_BUILD_DIR:-build-asan}
fuzz_dir=${SHADOW_FUZZ_BUILD_DIR:-build-fuzz}
fuzz_runs=${SHADOW_FUZZ_RUNS:-100000}
rules_fuzz_runs=${SHADOW_RULES_FUZZ_RUNS:-200000}
fuzz_seconds=${SHADOW_FUZZ_SECONDS:-}
fuzz_only=false
case "${1:-}" in
  "") ;;
  --fuzz-only) fuzz_only=true ;;
  *) echo "usage: $0 [--fuzz-only]" >&2; exit 2 ;;
esac
tests_regex=${SHADOW_SANITIZE_TESTS:-'^(integration|rest)\.'}
# What the tests above run: the unit test binary and the broker plugin (the
# tools are left to the main build; add them here if a suite under ASan uses them).
asan_targets=${SHADOW_ASAN_TARGETS:-unit_tests mosquitto_shadow}
jobs=$(nproc)
wrapper=$root/tests/fuzz/asan-mosquitto.sh
sanitize_opt="-O1 -g1 -DNDEBUG"

log() { echo "ci-sanitize: $*"; }

work=$(mktemp -d /tmp/ci-sanitize.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- bookkeeping ---------------------------------------------------------
declare -a step_names=() step_results=() step_times=()
failed=0
run_step() {  # run_step "name" command...
  local name=$1 start end rc
  shift
  log "=== $name"
  start=$(date +%s)
  "$@"
  rc=$?
  end=$(date +%s)
  step_names+=("$name")
  step_times+=("$((end - start))s")
  if [[ $rc -eq 0 ]]; then
    step_results+=(ok)
  else
    step_results+=("FAILED (exit $rc)")
    failed=1
  fi
  return $rc
}

# --- steps ----------------------------------------------------------------
install_clang() {
  local missing=()
  for pkg in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && { log "clang and libclang-rt-14-dev already installed"; return 0; }
  if [[ $(id -u) -ne 0 ]]; then
    log "error: missing ${missing[*]}; run as root or: apt-get install -y ${missing[*]}"
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

build_asan() {
  # The harnesses take the broker binary from these cache variables
  # (tests/integration, tests/rest: SHADOW_MOSQUITTO; tests/sdk:
  # MOSQUITTO_EXECUTABLE), so the wrapper reaches the broker only.
  # -O1 -g1: what the sanitizers' own docs suggest, and half the compile time
  # of -O2 -g (the instrumented tree is the longest step of CI); line tables
  # are enough for the file:line of every frame in a report.
  cmake -S . -B "$asan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$sanitize_opt" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="$sanitize_opt" -DSHADOW_SANITIZE=ON \
    -DSHADOW_BUILD_BENCHMARKS=OFF -DSHADOW_MOSQUITTO="$wrapper" -DMOSQUITTO_EXECUTABLE="$wrapper" &&
    cmake --build "$asan_dir" -j"$jobs" --target $asan_targets
}

# Sanitizer settings of the test processes themselves (unit_tests, python
# and node do not load the runtime; the broker gets its own in the wrapper).
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export SHADOW_SANITIZER_LOG_DIR=$work/broker-reports

run_unit() {
  # One process for all Catch2 cases: much faster under ASan than ctest's
  # one process per discovered case, and the same code runs.
  "$asan_dir/tests/unit_tests" --reporter compact --order lex
}

run_broker_tests() {
  ctest --test-dir "$asan_dir" --output-on-failure -j"$jobs" --no-tests=error --timeout 600 \
    -R "$tests_regex"
}

check_broker_reports() {
  # The wrapper keeps a copy of every broker's stderr here.
  local pattern='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|ASan runtime does not come first'
  local count hits f
  count=$(find "$SHADOW_SANITIZER_LOG_DIR" -name 'broker.*.log' 2>/dev/null | wc -l)
  if [[ $count -eq 0 ]]; then
    log "error: no broker log in $SHADOW_SANITIZER_LOG_DIR: did the tests use $wrapper?"
    return 1
  fi
  hits=$(grep -l -E "$pattern" "$SHADOW_SANITIZER_LOG_DIR"/broker.*.log 2>/dev/null)
  if [[ -z $hits ]]; then
    log "no sanitizer report in the logs of $count brokers"
    return 0
  fi
  log "sanitizer reports from brokers:"
  for f in $hits; do
    echo "----- $f"
    grep -E -A40 "$pattern" "$f" | head -n 120
  done
  return 1
}

build_fuzz() {
  CC=clang CXX=clang++ cmake -S . -B "$fuzz_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHADOW_FUZZ=ON \
    -DSHADOW_SANITIZE=ON -DSHADOW_BUILD_BENCHMARKS=OFF &&
    cmake --build "$fuzz_dir" -j"$jobs" --target shadow_fuzz rules_sql_fuzz
}

run_fuzz() {
  # Mutations go to a scratch copy: the committed corpus stays as written by
  # tests/fuzz/make_corpus.py.
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/* "$work/corpus/"
  local rc budget
  if [[ -n $fuzz_seconds ]]; then
    budget=(-max_total_time="$fuzz_seconds")  # exploration: a new random seed each time
  else
    budget=(-seed=1 -runs="$fuzz_runs")       # CI: the same inputs every time
  fi
  ASAN_OPTIONS=detect_leaks=1 \
    "$fuzz_dir/tests/fuzz/shadow_fuzz" "${budget[@]}" -rss_limit_mb=2048 \
    -max_len=140000 -timeout=30 -dict=tests/fuzz/shadow.dict -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
  rc=$?
  grep -E '^#[0-9]+ +(INITED|DONE)|^stat::' "$work/fuzz.log" || true
  if [[ $rc -ne 0 ]]; then
    tail -n 80 "$work/fuzz.log"
    local a
    for a in "$work"/artifacts/*; do
      [[ -f $a ]] || continue
      log "reproducer $(basename "$a") (base64): $(base64 -w0 "$a")"
      log "replay: echo <base64> | base64 -d > crash && $fuzz_dir/tests/fuzz/shadow_fuzz crash"
    done
  fi
  return $rc
}

run_rules_fuzz() {
  # The same for the rules engine, on its own scratch copy of its corpus.
  mkdir -p "$work/rules_corpus" "$work/rules_artifacts"
  cp tests/fuzz/rules_corpus/* "$work/rules_corpus/"
  local rc budget
  if [[ -n $fuzz_seconds ]]; then
    budget=(-max_total_time="$fuzz_seconds")
  else
    budget=(-seed=1 -runs="$rules_fuzz_runs")
  fi
  ASAN_OPTIONS=detect_leaks=1 \
    "$fuzz_dir/tests/fuzz/rules_sql_fuzz" "${budget[@]}" -rss_limit_mb=2048 \
    -timeout=30 -dict=tests/fuzz/rules_sql.dict -print_final_stats=1 \
    -artifact_prefix="$work/rules_artifacts/" "$work/rules_corpus" >"$work/rules_fuzz.log" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::' "$work/rules_fuzz.log" || true
  if [[ $rc -ne 0 ]]; then
    tail -n 80 "$work/rules_fuzz.log"
    local a
    for a in "$work"/rules_artifacts/*; do
      [[ -f $a ]] || continue
      log "reproducer $(basename "$a") (base64): $(base64 -w0 "$a")"
      log "replay: echo <base64> | base64 -d > crash && $fuzz_dir/tests/fuzz/rules_sql_fuzz crash"
    done
  fi
  return $rc
}

# --- main ----------------------------------------------------------------
total_start=$(date +%s)
run_step "install clang + libFuzzer" install_clang
if ! $fuzz_only && run_step "build ASan+UBSan tree ($asan_dir)" build_asan; then
  run_step "unit tests under ASan+UBSan" run_unit
  run_step "broker tests under ASan+UBSan ($tests_regex)" run_broker_tests
  run_step "sanitizer reports from brokers" check_broker_reports
fi
if run_step "build fuzzer ($fuzz_dir)" build_fuzz; then
  if [[ -n $fuzz_seconds ]]; then
    run_step "fuzz shadow_fuzz for ${fuzz_seconds}s (random seed)" run_fuzz
    run_step "fuzz rules_sql_fuzz for ${fuzz_seconds}s (random seed)" run_rules_fuzz
  else
    run_step "fuzz shadow_fuzz: ${fuzz_runs} runs, seed 1" run_fuzz
    run_step "fuzz rules_sql_fuzz: ${rules_fuzz_runs} runs, seed 1" run_rules_fuzz
  fi
fi
total=$(( $(date +%s) - total_start ))

echo
log "summary (${total}s):"
for i in "${!step_names[@]}"; do
  printf 'ci-sanitize:   %-55s %-18s %s\n' "${step_names[$i]}" "${step_results[$i]}" "${step_times[$i]}"
done
if [[ $failed -ne 0 ]]; then
  log "FAILED"
  exit 1
fi
log "all sanitizer and fuzzing checks passed"
