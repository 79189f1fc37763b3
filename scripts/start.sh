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
# Five classes fit in one app: the core examples go to the default app, the Cloudflare skill's
# storage, SQL and alarm examples to the app "skills" (reached with Host: skills.localhost), and
# the other two WebSocket chat rooms to the app "realtime".
for example in counter chat-room rpc-counter sql-messages; do
  build/dorm deploy "examples/$example.ts" --access public --data "$data"
done
for example in batcher rate-limiter session-store leader-election; do
  build/dorm deploy "examples/$example.ts" --access public --app skills --data "$data"
done
build/dorm deploy examples/hibernating-chat-room.ts --name hibernating-chat-room --access public \
  --app realtime --data "$data"
build/dorm deploy examples/accept-chat-room.ts --name accept-chat-room --access public \
  --app realtime --data "$data"
# A Wrangler project (a Worker and two classes calling each other over RPC), deployed unmodified
# as the app "chat-app".
build/dorm deploy examples/wrangler-project --data "$data"
# Cloudwerk's objects (one class per file of app/objects), as the app "cloudwerk".
build/dorm deploy examples/cloudwerk/app/objects --app cloudwerk --access public --data "$data"
base=$(cat "$data/server-address")
port=${base##*:}
cat <<INFO

Dorm is running at $base (data in $data). Try:
  curl -X POST $base/_do/counter/my-counter/increment
  curl $base/_do/counter/my-counter/get
  curl -X POST -d '{"user":"alice","text":"hello"}' $base/_do/chat-room/lobby
  curl $base/_do/chat-room/lobby
  curl $base/_do/rpc-counter/global-counter
  curl -X POST -d 'first message' $base/_do/my-do/room-1
  curl $base/_do/my-do/room-1
  curl -X POST -H 'Host: skills.localhost:$port' -d 'item-1' $base/_do/batcher/jobs      # flushed by an alarm 10 s later
  curl -H 'Host: skills.localhost:$port' $base/_do/batcher/jobs
  curl -H 'Host: skills.localhost:$port' '$base/_do/rate-limiter/api/?user=alice&limit=3'
  curl -X POST -H 'Host: skills.localhost:$port' '$base/_do/leader-election/cluster/?worker=w1'
  curl -X POST -H 'Host: chat-app.localhost:$port' '$base/rooms/lobby/join?user=ann'      # the Worker
  curl -X POST -H 'Host: chat-app.localhost:$port' -d 'hello' '$base/rooms/lobby/post?user=ann'
  curl -H 'Host: chat-app.localhost:$port' $base/rooms/lobby
  build/dorm list --data $data
  build/dorm list --app skills --data $data
WebSockets (for example from a browser's console; all four are chat rooms):
  new WebSocket('${base/http/ws}/_do/chat-room/lobby')
  new WebSocket('ws://realtime.localhost:$port/_do/hibernating-chat-room/lobby?userId=1&username=alice')
  new WebSocket('ws://realtime.localhost:$port/_do/accept-chat-room/lobby')
  new WebSocket('ws://cloudwerk.localhost:$port/_do/chat-room/lobby?username=ann')   # Cloudwerk's
Press Ctrl-C to stop the server.
INFO
wait $server
