// One client process of the WebSocket benchmark (bench/websocket.mjs forks several, so that the
// client side can use every core and stays under the open-files limit per process). It holds a
// share of the connections and answers the parent's commands over IPC:
//
//   {cmd: 'connect', urls, first, concurrency}  opens one socket per URL (client number first + k);
//                                               answers {opened, failed, retried, firstError}
//   {cmd: 'broadcast', startAt, warmupMs, durationMs, window, text}
//       closed loop: from startAt (ms since the epoch) each client keeps `window` messages of its
//       own in flight, sending the next when one of its own comes back. Each message carries the
//       sender's CLOCK_MONOTONIC time (shared by all processes of the machine), so every receiver
//       measures the delivery latency. Counts and latencies of the messages received in the
//       measured window [startAt + warmupMs, + durationMs] are answered with this process's CPU
//       time over that window: {received, hist (sparse [bucket, count] pairs, 10 µs buckets),
//       cpuMicros, closedEarly}
//   {cmd: 'close'}                              closes every socket; answers {closed}
//
// Messages are text: "<sender time in µs> <client number> <text>".

import WebSocket from 'ws';

const BUCKET_US = 10;
const BUCKETS = 1_000_000; // 10 s at 10 µs; slower deliveries land in the last bucket

let sockets = [];
let closedEarly = 0;

const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

function open(url) {
  return new Promise((resolve, reject) => {
    // No permessage-deflate: the ws client would offer it, and compression is not what is measured.
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60000 });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

async function connect({ urls, first, concurrency }) {
  let next = 0;
  let failed = 0;
  let retried = 0;
  let firstError = null;
  const worker = async () => {
    while (next < urls.length) {
      const k = next++;
      try {
        // A busy server may drop a few of many simultaneous handshakes; each gets 3 tries.
        let ws;
        for (let attempt = 1; !ws; attempt++) {
          try {
            ws = await open(urls[k]);
          } catch (e) {
            if (attempt >= 3) throw e;
            retried++;
            await new Promise((r) => setTimeout(r, 100 * attempt));
          }
        }
        ws.clientNumber = first + k;
        ws.on('error', () => {});
        ws.on('close', () => { if (!ws.closing) closedEarly++; });
        sockets.push(ws);
      } catch (e) {
        failed++;
        firstError ??= `${urls[k]}: ${e.message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return { opened: sockets.length, failed, retried, firstError };
}

function broadcast({ startAt, warmupMs, durationMs, window, text }) {
  return new Promise((resolve) => {
    const hist = new Uint32Array(BUCKETS);
    let received = 0;
    let measuring = false;
    let sending = false;
    let cpuStart = null;
    let cpuMicros = 0;
    const send = (ws) => {
      if (sending && ws.readyState === WebSocket.OPEN) ws.send(`${nowMicros()} ${ws.clientNumber} ${text}`);
    };
    for (const ws of sockets) {
      ws.on('message', (data) => {
        const s = data.toString('latin1');
        const sp1 = s.indexOf(' ');
        const sp2 = s.indexOf(' ', sp1 + 1);
        if (measuring) {
          const latency = nowMicros() - Number(s.slice(0, sp1));
          hist[Math.min(BUCKETS - 1, Math.max(0, Math.floor(latency / BUCKET_US)))]++;
          received++;
        }
        if (Number(s.slice(sp1 + 1, sp2)) === ws.clientNumber) send(ws);
      });
    }
    const at = (t, fn) => setTimeout(fn, Math.max(0, t - Date.now()));
    at(startAt, () => {
      sending = true;
      for (const ws of sockets) for (let i = 0; i < window; i++) send(ws);
    });
    at(startAt + warmupMs, () => { measuring = true; cpuStart = process.cpuUsage(); });
    at(startAt + warmupMs + durationMs, () => {
      measuring = false;
      sending = false;
      const cpu = process.cpuUsage(cpuStart);
      cpuMicros = cpu.user + cpu.system;
      // Let the messages still in flight drain before the next command.
      setTimeout(() => {
        for (const ws of sockets) ws.removeAllListeners('message');
        const sparse = [];
        for (let i = 0; i < BUCKETS; i++) if (hist[i]) sparse.push([i, hist[i]]);
        resolve({ received, hist: sparse, cpuMicros, closedEarly });
      }, 1000);
    });
  });
}

async function closeAll() {
  const n = sockets.length;
  await Promise.all(sockets.map((ws) => new Promise((resolve) => {
    ws.closing = true;
    if (ws.readyState === WebSocket.CLOSED) { resolve(); return; }
    const t = setTimeout(() => { ws.terminate(); resolve(); }, 5000);
    ws.once('close', () => { clearTimeout(t); resolve(); });
    ws.close(1000, 'bench done');
  })));
  sockets = [];
  return { closed: n };
}

process.on('message', async (m) => {
  let reply;
  try {
    if (m.cmd === 'connect') reply = await connect(m);
    else if (m.cmd === 'broadcast') reply = await broadcast(m);
    else if (m.cmd === 'close') reply = await closeAll();
    else reply = { error: `unknown command ${m.cmd}` };
  } catch (e) {
    reply = { error: e.stack ?? String(e) };
  }
  process.send({ id: m.id, ...reply });
});
process.on('disconnect', () => process.exit(0));
