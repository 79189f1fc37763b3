#!/usr/bin/env bash
# Installs what is missing, builds Dorm twice (release, and with AddressSanitizer +
# UndefinedBehaviorSanitizer), and runs every test against both builds: unit tests, the
# prelude's tests, the type-check of the example projects, the model check of the cluster's
# ownership protocol, the end-to-end tests (which start real servers and drive them over HTTP) and
# the attack regressions; then builds the libFuzzer targets (clang, ASan + UBSan) and runs each
# for FUZZ_SECONDS (default 15) from its seed corpus.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
echo "== installed in $SECONDS s"
scripts/build.sh release
echo "== release build done at $SECONDS s"
scripts/build.sh asan
echo "== ASan build done at $SECONDS s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
# What failed, repeated after the last step: a CI log is often read from its end only, and a
# failure in an early step would otherwise be thousands of lines above it.
failures=$(mktemp /tmp/dorm-failures-XXXXXX)
trap 'rm -f "$failures"' EXIT
# Each step's wall-clock time is printed, to show where the suite's time goes.
run() {
  echo "== $*"
  local started=$SECONDS label="$*" output status=0
  output=$(mktemp /tmp/dorm-step-XXXXXX)
  if "$@" 2>&1 | tee "$output"; then status=0; else status=${PIPESTATUS[0]}; fi
  if [ $status -ne 0 ]; then
    failed=1
    echo "== FAILED: $*"
    {
      echo "== FAILED (exit $status): ${label:0:300}"
      # node --test's failed tests with their error, gtest's failed tests, or else the step's end.
      if grep -qE '^ *not ok |\[  FAILED  \]' "$output"; then
        # (head may end the pipe early: under pipefail that is not a failure of the script.)
        grep -E -A14 '^ *not ok |\[  FAILED  \]' "$output" | head -n 150 || true
      else
        tail -n 30 "$output"
      fi
    } >>"$failures"
  fi
  rm -f "$output"
  echo "== $(($SECONDS - started)) s: ${label:0:150}"
}

# The end-to-end and attack test files run in three groups. Most spend their time waiting (on
# timers, alarms, servers starting) but together they keep both cores busy: three at a time. The
# files in serial_files assert bounds on wall-clock time that CPU taken by others would stretch
# (alarm lateness, CPU-limit fairness, failover within 5 s, a stalled client never slowing
# requests), kill servers mid-write under load, or bound a server's RSS while garbage waits for
# collection: they run alone, after the others. The files in quiet_files have such bounds too, but
# generous ones, and spend nearly all their time waiting on their own timers (idle eviction,
# alarms, a runtime restarting): about 40 s of CPU in 140 s. They run three at a time among
# themselves, never beside the busy files.
serial_files=(alarms.test.mjs crash.test.mjs
  cluster_node.test.mjs cluster_forward.test.mjs tail.test.mjs
  cpu_tenant.test.mjs http_limits.test.mjs
  tail_websocket.test.mjs cluster_alarms.test.mjs cluster_rpc.test.mjs
  alarm_burst.test.mjs spread_crash.test.mjs cluster_faults.test.mjs cluster_control.test.mjs
  hibernation_memory.test.mjs rpc_in_flight.test.mjs)
quiet_files=(alarm_lifecycle.test.mjs examples_alarms.test.mjs lifecycle.test.mjs
  runtime_crash.test.mjs websocket_incoming_memory.test.mjs idle_isolates.test.mjs runaway.test.mjs
  project_deploy.test.mjs misused_bodies.test.mjs postgres_harness.test.mjs batch_memory.test.mjs
  hung_requests.test.mjs)
# tests_in DIR parallel|quiet|serial: prints the test files of DIR in that group.
tests_in() {
  local file group name
  for file in "$1"/*.test.mjs; do
    group=parallel
    for name in "${serial_files[@]}"; do
      [ "$(basename "$file")" = "$name" ] && group=serial
    done
    for name in "${quiet_files[@]}"; do
      [ "$(basename "$file")" = "$name" ] && group=quiet
    done
    [ "$group" = "$2" ] && echo "$file"
  done
  return 0
}
# node_tests DORM-BINARY [ENV...]: runs the end-to-end and attack test files against the binary,
# group after group. A file exits once its tests are done (--test-force-exit): a test that failed
# or timed out may leave a request waiting on a server it started, and that open socket must not
# hold the whole run until CI's limit (the exit handler of tests/e2e/lib/dorm.mjs then kills the
# servers left).
node_tests() {
  local bin=$1
  shift
  run env DORM_BIN="$bin" "$@" node --test --test-force-exit --test-concurrency=3 \
    $(tests_in tests/e2e parallel) $(tests_in tests/security parallel)
  run env DORM_BIN="$bin" "$@" node --test --test-force-exit --test-concurrency=3 \
    $(tests_in tests/e2e quiet) $(tests_in tests/security quiet)
  run env DORM_BIN="$bin" "$@" node --test --test-force-exit --test-concurrency=1 \
    $(tests_in tests/e2e serial) $(tests_in tests/security serial)
}
# unit_tests BINARY: the unit tests in four shards at once (gtest's sharding): three quarters of
# their time is spent waiting (leases running out, alarms coming due, PostgreSQL starting), which
# the shards overlap. Each shard's summary is printed, its failures with it.
unit_tests() {
  local bin=$1 shards=${UNIT_SHARDS:-4} i failures=0
  local logs pids=()
  logs=$(mktemp -d /tmp/dorm-unit-XXXXXX)
  for ((i = 0; i < shards; i++)); do
    GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i "$bin" --gtest_brief=1 >"$logs/$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < shards; i++)); do
    wait "${pids[$i]}" || failures=1
    echo "-- shard $((i + 1)) of $shards"
    cat "$logs/$i.log"
  done
  rm -rf "$logs"
  return $failures
}
run unit_tests build/dorm_unit_tests
run unit_tests build-asan/dorm_unit_tests
# Two test files at once: the default on 2 cores is one.
run node --test --test-force-exit --test-concurrency=2 tests/prelude/
# The example projects type-check against Cloudflare's Workers types with `dorm types`' Env.
run tests/types/check.sh
# The SPIN model of the cluster's ownership protocol, and its broken variants (model/README.md).
run model/check.sh
# With them, the regression tests of attacks: hostile clients and hostile tenants
# (tests/security/README.md).
node_tests "$root/build/dorm"
node_tests "$root/build-asan/dorm" DORM_SANITIZED=1
run env FUZZ_SECONDS="${FUZZ_SECONDS:-15}" scripts/fuzz.sh
echo "== total $SECONDS s"
if [ $failed -ne 0 ]; then
  cat "$failures"
  echo "some tests failed"
  exit 1
fi
echo "all tests passed"
