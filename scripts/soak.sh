#!/usr/bin/env bash
# Soak test (not run by scripts/test.sh): installs what is missing and builds the release binary
# (scripts/build.sh release; DORM_BUILD_DIR picks the folder), or uses DORM_BIN; then runs
# tests/soak/soak.mjs, which starts `dorm serve` on a temporary data folder and a loopback port and
# keeps a victim app under steady load while hostile tenants and clients take turns attacking the
# server, for SOAK_SECONDS (default 1800). Every SOAK_SAMPLE_SECONDS (10) it records RSS,
# descriptors, threads, CPU, the victim's requests and p50/p99/max latency, and the hostile
# operations, in SOAK_OUT/soak.csv (default /tmp/dorm-soak-<time>/, with the server's log);
# summary.txt holds the summary. Exit status 1 if the server died, a victim request failed, an
# acknowledged write was lost or data moved between apps. Other settings: see the comment at the
# top of tests/soak/soak.mjs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${DORM_BIN:-}" ]; then
  scripts/install-deps.sh
  scripts/build.sh release
  DORM_BIN=${DORM_BUILD_DIR:-$root/build}/dorm
fi
if [ ! -d tests/node_modules/ws ]; then
  (cd tests && npm ci --no-audit --no-fund)
fi
DORM_BIN=$DORM_BIN exec node tests/soak/soak.mjs
