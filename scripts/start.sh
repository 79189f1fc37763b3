#!/usr/bin/env bash
# Installs what is missing, builds Dorm, starts `dorm serve` on the embedded default (state in
# ./.dorm), deploys the examples, and prints the URLs to try. The server runs in the foreground:
# Ctrl-C stops it gracefully.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh release
listen=${DORM_LISTEN:-127.0.0.1:8787}
data=${DORM_DATA:-.dorm}
build/dorm serve --listen "$listen" --data "$data" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server' INT TERM
for _ in $(seq 1 100); do
  [ -f "$data/server-address" ] && break
  kill -0 $server 2>/dev/null || { echo "dorm serve exited" >&2; exit 1; }
  sleep 0.1
done
for example in examples/*.ts; do
  build/dorm deploy "$example" --access public --data "$data"
done
base=$(cat "$data/server-address")
cat <<INFO

Dorm is running at $base (data in $data). Try:
  curl -X POST $base/_do/counter/my-counter/increment
  curl $base/_do/counter/my-counter/get
  curl -X POST -d '{"user":"alice","text":"hello"}' $base/_do/chat-room/lobby
  curl $base/_do/chat-room/lobby
  curl $base/_do/rpc-counter/global-counter
  build/dorm list --data $data
Press Ctrl-C to stop the server.
INFO
wait $server
