#!/usr/bin/env bash
# Side-by-side benchmark of the Counter Durable Object on Dorm and on workerd, on loopback.
#
#   bench/run.sh [--workerd-only | --dorm-only] [--duration N] [--warmup N] [--keep] ...
#   bench/run.sh --help      for every option
#   bench/run.sh --rounds N [options]  the same N times, then each target's median over the
#                            rounds with its range (rounds.mjs; results/rounds.json)
#   bench/run.sh --storage [options]   the storage scenarios instead (storage.mjs: SQL insert,
#                            SQL select, alarm latency); --storage --help for their options
#   bench/run.sh --websocket [options] the WebSocket scenarios instead (websocket.mjs: broadcast
#                            fan-out, memory per idle hibernated connection); --websocket --help
#   bench/run.sh --rpc [options]       calls between objects instead (rpc.mjs: RPC and stub.fetch()
#                            calls/s, one caller or 64); --rpc --help
#   bench/run.sh --fetch [options]     outbound fetch() from objects instead (fetch.mjs: one fetch()
#                            per request to a local upstream, 100 B and 64 KiB); --fetch --help
#   bench/run.sh --crypto [options]    WebCrypto inside objects instead (crypto.mjs: HMAC sign and
#                            verify, AES-GCM, SHA-256); --crypto --help
#   bench/run.sh --meters [options]    what the usage meters cost (meters.mjs: Dorm with the
#                            meters on and off, alternating); --meters --help; no workerd needed
#   bench/run.sh --scale [options]     many objects (scale.mjs: 100,000 live, 1,000,000 on disk,
#                            RSS and descriptors, a restart over them); --scale --help; Dorm only
#
# Needs node, npm, wrk and esbuild (scripts/install-deps.sh installs them) and, unless
# --workerd-only, a built build/dorm. Installs nothing else: only `npm ci` here when
# node_modules is missing, for workerd. Prints a table and writes bench/results/latest.json.
# Exit status 0 when every run and every correctness check passed.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)

# --storage selects storage.mjs, --websocket websocket.mjs, --meters meters.mjs, in place of
# bench.mjs; each is taken out of the arguments passed on.
script=bench.mjs
args=()
for arg in "$@"; do
  case "$arg" in
    --storage) script=storage.mjs ;;
    --websocket) script=websocket.mjs ;;
    --rpc) script=rpc.mjs ;;
    --fetch) script=fetch.mjs ;;
    --crypto) script=crypto.mjs ;;
    --meters) script=meters.mjs ;;
    --scale) script=scale.mjs ;;
    *) args+=("$arg") ;;
  esac
done
set -- ${args[@]+"${args[@]}"}

# The side-by-side run with --rounds N goes through rounds.mjs, which runs bench.mjs N times and
# reports the targets' medians (meters.mjs has a --rounds of its own).
if [ "$script" = bench.mjs ]; then
  for arg in "$@"; do
    [ "$arg" = --rounds ] && script=rounds.mjs
  done
fi

need_workerd=1
[ "$script" = meters.mjs ] && need_workerd=0
[ "$script" = scale.mjs ] && need_workerd=0
for arg in "$@"; do
  case "$arg" in
    --dorm-only) need_workerd=0 ;;
    -h|--help) exec node "$bench_dir/$script" --help ;;
  esac
done

missing=()
for tool in node wrk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "$need_workerd" = 1 ]; then
  command -v esbuild >/dev/null 2>&1 || missing+=(esbuild)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: missing ${missing[*]} (run scripts/install-deps.sh, or apt-get install ${missing[*]})" >&2
  exit 2
fi

# websocket.mjs also needs the ws client package, whichever servers run.
if { [ "$need_workerd" = 1 ] && [ ! -d "$bench_dir/node_modules/workerd" ]; } ||
   { [ "$script" = websocket.mjs ] && [ ! -d "$bench_dir/node_modules/ws" ]; }; then
  echo "bench: npm ci in bench/ (workerd, ws)"
  (cd "$bench_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Each live object may hold open files (workerd keeps a SQLite database, with its WAL, per object),
# so 10,000 objects need far more than the usual 1,024 descriptors. Raise the limit the servers
# inherit as far as allowed; without the privilege to raise the hard limit, keep what there is.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 65536 ]; then
  ulimit -Hn 65536 2>/dev/null && hard=65536
fi
ulimit -Sn "$hard" 2>/dev/null || true

exec node "$bench_dir/$script" "$@"
