#!/usr/bin/env bash
# Installs what is missing, builds Dorm twice (release, and with AddressSanitizer +
# UndefinedBehaviorSanitizer), and runs every test against both builds: unit tests, the
# prelude's tests, the type-check of the example projects, the end-to-end tests (which start real servers and drive them over HTTP) and
# the attack regressions; then builds the libFuzzer targets (clang, ASan + UBSan) and runs each
# for FUZZ_SECONDS (default 20) from its seed corpus.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh release
scripts/build.sh asan

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
run() {
  echo "== $*"
  if ! "$@"; then failed=1; echo "== FAILED: $*"; fi
}
run build/dorm_unit_tests --gtest_brief=1
run build-asan/dorm_unit_tests --gtest_brief=1
run node --test tests/prelude/
# The example projects type-check against Cloudflare's Workers types with `dorm types`' Env.
run tests/types/check.sh
run env DORM_BIN="$root/build/dorm" node --test tests/e2e/
run env DORM_BIN="$root/build-asan/dorm" DORM_SANITIZED=1 node --test tests/e2e/
# Regression tests of attacks: hostile clients and hostile tenants (tests/security/README.md).
run env DORM_BIN="$root/build/dorm" node --test tests/security/
run env DORM_BIN="$root/build-asan/dorm" DORM_SANITIZED=1 node --test tests/security/
run env FUZZ_SECONDS="${FUZZ_SECONDS:-20}" scripts/fuzz.sh
if [ $failed -ne 0 ]; then
  echo "some tests failed"
  exit 1
fi
echo "all tests passed"
