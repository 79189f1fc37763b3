// Outbound WebSockets (`new WebSocket(url)` and fetch() with `Upgrade: websocket`) from an object,
// against WebSocket servers this test starts on loopback (the `ws` package): events and
// properties, close codes both ways, the server going away, a refused upgrade, the address guard
// (loopback refused unless --outbound-allow opens it, also behind a DNS name), TLS with a test CA
// given by --outbound-ca, the message size limit, close() while connecting, the object's reset
// closing its socket, and the output gate holding a message built on a write that never becomes
// durable. Expected values marked "workerd" were recorded from workerd (bench/node_modules,
// compatibility date 2026-03-01) running the same calls against the same servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { startServer, startServerWithFailingDisk, fixture, makeTempDir, waitFor, sleep, describeCli } from './lib/dorm.mjs';
import { makeTestCertificates } from './lib/test_certificates.mjs';

// The WebSocket servers listen on 127.0.0.2, which the Dorm server may reach; a second one on
// 127.0.0.1, which it may not (so that a refusal is the guard's, not a closed port).
const ALLOWED_HOST = '127.0.0.2';
const BIG = 33 * 1024 * 1024; // over the 32 MiB message limit
let server;
let allowed;
let forbidden;
const seen = []; // {path, headers} of every upgrade the servers accepted
const closes = []; // {path, code, reason} of every Close the servers received
const holding = []; // sockets of /hold, for messages from the server

function wsServer(host, options = {}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, handleProtocols: (set) => set.values().next().value ?? false });
  const s = (options.tls ? https.createServer(options.tls) : http.createServer()).on('request', (req, res) => {
    res.writeHead(200);
    res.end('plain');
  });
  s.on('upgrade', (req, socket, head) => {
    const where = new URL(req.url, 'http://x').pathname;
    if (where === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\nX-Why: no\r\n\r\nnope');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      seen.push({ path: where, headers: req.headers, host });
      ws.on('close', (code, reason) => closes.push({ path: where, code, reason: reason.toString() }));
      if (where === '/close4001') return ws.close(4001, 'srv');
      if (where === '/drop') return setTimeout(() => socket.destroy(), 50);
      if (where === '/big') return ws.send(Buffer.alloc(BIG, 97), { binary: false });
      if (where === '/mib') return ws.send(Buffer.alloc(1024 * 1024, 98));
      if (where === '/hold') return holding.push(ws);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    s.listen(0, host, () => resolve(s));
  });
}

const base = () => `ws://${ALLOWED_HOST}:${allowed.address().port}`;
const run = (query, id = 'r') => server.json(`/_do/ws-client/${id}/run?${new URLSearchParams(query)}`);

before(async () => {
  allowed = await wsServer(ALLOWED_HOST);
  forbidden = await wsServer('127.0.0.1');
  server = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST] });
  await server.deploy(fixture('outbound/ws_client.js'));
});

after(async () => {
  await server?.stop();
  for (const ws of holding) ws.terminate();
  allowed?.closeAllConnections?.();
  allowed?.close();
  forbidden?.close();
});

test("the constructor's errors for bad URLs and protocols are workerd's SyntaxErrors", async () => {
  const out = await server.json(`/_do/ws-client/e/errors?url=${encodeURIComponent(`${base()}/echo`)}`);
  const syntax = (message) => ({ name: 'SyntaxError', message: `WebSocket Constructor: ${message}`, isDOMException: true });
  // workerd
  assert.deepEqual(out, {
    'not a url': syntax('The url is invalid.'),
    'http://x/': syntax('The url scheme must be ws or wss.'),
    'https://x/': syntax('The url scheme must be ws or wss.'),
    'ws://x/#frag': syntax('The url fragment must be empty.'),
    'ftp://x/': syntax('The url scheme must be ws or wss.'),
    '': syntax('The url is invalid.'),
    space: syntax('The protocol header token is invalid.'),
    dup: syntax('The protocols header cannot have repeating values.'),
    emptyOne: syntax('One of the protocol header tokens is invalid.'),
    empty: syntax('The protocol header token is invalid.'),
    comma: syntax('The protocol header token is invalid.'),
  });
});

test('an echo: open, message, and a close the object starts, with the properties workerd shows', async () => {
  const url = `${base()}/echo`;
  const before = closes.length;
  const out = await run({ url, protocols: 'chat,other', send: 'hello', closeAfter: 1, code: 4000, reason: 'bye' }, 'echo');
  // workerd
  assert.deepEqual(out.before, { readyState: 0, url, protocol: '', extensions: '', binaryType: 'arraybuffer', hasBufferedAmount: false });
  assert.deepEqual(out.opened, { readyState: 1, protocol: 'chat', extensions: null });
  assert.deepEqual(out.events, [
    { type: 'open', readyState: 1 },
    { type: 'message', readyState: 1, data: 'hello' },
    { type: 'close', readyState: 3, code: 4000, reason: 'bye', wasClean: true },
  ]);
  assert.equal(out.after, 3);
  // The server heard the object's code and reason.
  await waitFor(() => closes.length > before);
  assert.deepEqual(closes.at(-1), { path: '/echo', code: 4000, reason: 'bye' });
  // The handshake offered the protocols, and no compression.
  const hs = seen.findLast((s) => s.path === '/echo');
  assert.equal(hs.headers['sec-websocket-protocol'], 'chat, other');
  assert.equal(hs.headers['sec-websocket-extensions'], undefined);
});

test('without a protocol: protocol and extensions are null once open (workerd); a close without a code', async () => {
  const before = closes.length;
  const out = await run({ url: `${base()}/echo`, send: 'a', closeAfter: 1 }, 'noproto');
  assert.deepEqual(out.opened, { readyState: 1, protocol: null, extensions: null });
  assert.deepEqual(out.events.at(-1), { type: 'close', readyState: 3, code: 1005, reason: '', wasClean: true });
  await waitFor(() => closes.length > before);
  assert.deepEqual(closes.at(-1), { path: '/echo', code: 1005, reason: '' });
});

test('a socket and its message bytes both ways are metered for its object', async () => {
  await run({ url: `${base()}/echo`, send: 'hello|bye', closeAfter: 2 }, 'metered');
  const res = await server.request('/_admin/v1/usage?app=default', {
    headers: { authorization: `Bearer ${server.adminToken()}` },
  });
  assert.equal(res.status, 200, res.text);
  const metered = res.json().objects.find((o) => o.name === 'metered');
  assert.equal(metered.outbound_requests, 1);
  assert.equal(metered.outbound_bytes, 2 * ('hello'.length + 'bye'.length));
  assert.equal(metered.websocket_messages, 2);
});

test('binary messages arrive as ArrayBuffers, or Blobs with binaryType "blob" (workerd)', async () => {
  const buffers = await run({ url: `${base()}/echo`, send: 'abc', binary: '1', closeAfter: 1 }, 'bin');
  assert.deepEqual(buffers.events[1], { type: 'message', readyState: 1, data: '[object ArrayBuffer]', bytes: 3 });
  const blobs = await run({ url: `${base()}/echo`, send: 'abc', binary: '1', closeAfter: 1, blob: '1' }, 'blob');
  assert.deepEqual(blobs.events[1], { type: 'message', readyState: 1, data: '[object Blob]' });
});

test('the server closes with a code: the close event has it, clean', async () => {
  const out = await run({ url: `${base()}/close4001` }, 'srvclose');
  assert.deepEqual(out.events.map(({ readyState, ...e }) => e), [
    { type: 'open' },
    { type: 'close', code: 4001, reason: 'srv', wasClean: true },
  ]);
});

test('the server goes away without a Close: 1006, not clean (workerd)', async () => {
  const out = await run({ url: `${base()}/drop` }, 'drop');
  assert.deepEqual(out.events.map(({ readyState, ...e }) => e), [
    { type: 'open' },
    { type: 'close', code: 1006, reason: 'WebSocket disconnected without sending Close frame.', wasClean: false },
  ]);
});

test('a server that does not switch protocols: error, then close 1006 (workerd)', async () => {
  const out = await run({ url: `${base()}/refuse` }, 'refuse');
  const message = 'Failed to establish the WebSocket connection: expected server to reply with HTTP status code 101 (switching protocols), but received 403 instead.';
  assert.deepEqual(out.events, [
    { type: 'error', readyState: 3, message: `Uncaught TypeError: ${message}`, error: { name: 'TypeError', message } },
    { type: 'close', readyState: 3, code: 1006, reason: 'Failed to establish websocket connection', wasClean: false },
  ]);
});

test('close() while connecting: OPEN until the error and close events of a lost connection (workerd)', async () => {
  const out = await run({ url: `${base()}/echo`, cancel: '1' }, 'cancel');
  assert.equal(out.before.afterCancel, 1);
  assert.deepEqual(out.events, [
    { type: 'error', readyState: 3, message: 'Uncaught Error: Network connection lost.', error: { name: 'Error', message: 'Network connection lost.' } },
    { type: 'close', readyState: 3, code: 1006, reason: 'Failed to establish websocket connection', wasClean: false },
  ]);
});

test('loopback is refused unless allowed, also behind a DNS name, and nothing connects', async () => {
  const before = seen.filter((s) => s.host === '127.0.0.1').length;
  const direct = await run({ url: `ws://127.0.0.1:${forbidden.address().port}/echo` }, 'ssrf');
  const message = 'fetch() to 127.0.0.1 is not allowed: a loopback address (this server\'s --outbound-allow opens it).';
  assert.deepEqual(direct.events, [
    { type: 'error', readyState: 3, message: `Uncaught TypeError: ${message}`, error: { name: 'TypeError', message } },
    { type: 'close', readyState: 3, code: 1006, reason: 'Failed to establish websocket connection', wasClean: false },
  ]);
  const named = await run({ url: `ws://localhost:${forbidden.address().port}/echo` }, 'ssrf-dns');
  assert.equal(named.events[0].type, 'error');
  assert.equal(named.events[0].error.name, 'TypeError');
  assert.match(named.events[0].error.message, /^fetch\(\) to (127\.0\.0\.1|::1) is not allowed: a loopback address/);
  assert.equal(named.events[1].code, 1006);
  assert.equal(seen.filter((s) => s.host === '127.0.0.1').length, before);
});

test('a message over 32 MiB closes the socket with 1009; one of 1 MiB arrives', async () => {
  const ok = await run({ url: `${base()}/mib`, closeAfter: 1 }, 'mib');
  assert.deepEqual(ok.events[1], { type: 'message', readyState: 1, data: '[object ArrayBuffer]', bytes: 1024 * 1024 });
  const before = closes.filter((c) => c.path === '/big').length;
  const big = await run({ url: `${base()}/big` }, 'big');
  assert.deepEqual(big.events.map((e) => e.type), ['open', 'error', 'close']);
  assert.match(big.events[1].message, /larger than this server allows/);
  assert.deepEqual([big.events[2].code, big.events[2].wasClean], [1009, false]);
  // The connection is gone on the server's side too (with 1009, or reset while it still sends).
  await waitFor(() => closes.filter((c) => c.path === '/big').length > before);
});

test("fetch() with Upgrade: websocket gives a 101 Response whose webSocket must be accept()ed (workerd)", async () => {
  const url = `http://${ALLOWED_HOST}:${allowed.address().port}/echo`;
  const out = await server.json(`/_do/ws-client/f/fetchUpgrade?url=${encodeURIComponent(url)}`);
  assert.deepEqual(out, {
    status: 101,
    statusText: 'Switching Protocols',
    hasWebSocket: true,
    readyState: 1,
    url: null,
    protocol: '',
    sendBeforeAccept: {
      name: 'TypeError',
      message: 'You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.',
      isDOMException: false,
    },
    reply: 'via fetch',
  });
  assert.equal(seen.findLast((s) => s.path === '/echo').headers['x-probe'], 'yes');
  // A server that does not switch protocols: its answer, as any response.
  const refused = `http://${ALLOWED_HOST}:${allowed.address().port}/refuse`;
  assert.deepEqual(await server.json(`/_do/ws-client/f/fetchUpgrade?url=${encodeURIComponent(refused)}`),
    { status: 403, statusText: 'Forbidden', hasWebSocket: false, body: 'nope' });
});

test('a Worker (not an object) opens a socket too', async () => {
  const dir = makeTempDir('ws-worker');
  fs.writeFileSync(path.join(dir, 'wrangler.json'), JSON.stringify({ name: 'ws-worker', main: 'index.js', compatibility_date: '2026-03-01' }));
  fs.writeFileSync(path.join(dir, 'index.js'), `
export default {
  async fetch(request) {
    const ws = new WebSocket(new URL(request.url).searchParams.get('url'));
    const reply = await new Promise((resolve, reject) => {
      ws.addEventListener('open', () => ws.send('from worker'));
      ws.addEventListener('message', (e) => resolve(e.data));
      ws.addEventListener('error', (e) => reject(e.error));
    });
    ws.close(1000, 'worker done');
    return new Response(reply);
  },
};
`);
  const deployed = await server.cli(['deploy', dir]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  const before = closes.length;
  const res = await server.request(`/?url=${encodeURIComponent(`${base()}/echo`)}`, { headers: { host: `ws-worker.localhost:${server.port}` } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, 'from worker');
  await waitFor(() => closes.length > before);
  assert.deepEqual(closes.at(-1), { path: '/echo', code: 1000, reason: 'worker done' });
});

test('outbound sockets are not hibernatable: ctx.acceptWebSocket() refuses them (workerd\'s messages)', async () => {
  const out = await server.json(`/_do/ws-client/h/hibernate?url=${encodeURIComponent(`${base()}/echo`)}`);
  // workerd throws these messages as Errors; Dorm's acceptWebSocket() throws TypeErrors for them.
  const pair = { name: 'TypeError', message: 'Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.', isDOMException: false };
  assert.deepEqual(out, {
    fromFetch: pair,
    connecting: pair,
    open: { name: 'TypeError', message: 'Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`', isDOMException: false },
  });
});

test("resetting the object closes its socket", async () => {
  const count = holding.length;
  assert.deepEqual(await server.json(`/_do/ws-client/reset/open?url=${encodeURIComponent(`${base()}/hold`)}`), { open: true });
  await waitFor(() => holding.length > count);
  const ws = holding.at(-1);
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  await server.json('/_do/ws-client/reset/abort');
  const code = await Promise.race([closed, sleep(5000).then(() => 'still open')]);
  assert.equal(typeof code, 'number', 'the server side was not closed');
});

test('messages from the server reach the kept socket through its object', async () => {
  const count = holding.length;
  await server.json(`/_do/ws-client/keep/open?url=${encodeURIComponent(`${base()}/hold`)}`);
  await waitFor(() => holding.length > count);
  holding.at(-1).send('one');
  holding.at(-1).send('two');
  holding.at(-1).close(4002, 'over');
  const heard = await waitFor(async () => {
    const got = await server.json('/_do/ws-client/keep/heardNow');
    return got.heard.length >= 3 ? got : null;
  });
  assert.deepEqual(heard, { heard: ['one', 'two', { close: 4002, reason: 'over', wasClean: true }], readyState: 3 });
});

test('wss: with the test CA from --outbound-ca; a certificate for another name is refused', async () => {
  const certs = makeTestCertificates(path.join(makeTempDir('certs'), 'c'));
  const good = await wsServer('127.0.0.1', { tls: certs.good });
  const wrong = await wsServer('127.0.0.1', { tls: certs.wrong });
  const tls = await startServer({ flags: ['--outbound-allow', '127.0.0.1', '--outbound-ca', certs.caFile] });
  try {
    await tls.deploy(fixture('outbound/ws_client.js'));
    const q = (url) => `/_do/ws-client/t/run?${new URLSearchParams({ url, send: 'secure', closeAfter: 1 })}`;
    const out = await tls.json(q(`wss://127.0.0.1:${good.address().port}/echo`));
    assert.deepEqual(out.events.map((e) => [e.type, e.data ?? e.code]), [['open', undefined], ['message', 'secure'], ['close', 1005]]);
    const named = await tls.json(q(`wss://localhost:${good.address().port}/echo`));
    assert.equal(named.events[1].data, 'secure');
    const refused = await tls.json(q(`wss://127.0.0.1:${wrong.address().port}/echo`));
    assert.deepEqual(refused.events.map((e) => e.type), ['error', 'close']);
    assert.match(refused.events[0].error.message, /^TLS handshake failed/);
  } finally {
    await tls.stop();
    good.close();
    wrong.close();
  }
});

test('--max-outbound-per-app bounds the open sockets; a closed one frees its place', async () => {
  const limited = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST, '--max-outbound-per-app', '1', '--threads', '1'] });
  try {
    await limited.deploy(fixture('outbound/ws_client.js'));
    const count = holding.length;
    await limited.json(`/_do/ws-client/l/open?url=${encodeURIComponent(`${base()}/hold`)}`);
    await waitFor(() => holding.length > count);
    const q = new URLSearchParams({ url: `${base()}/echo`, send: 'again', closeAfter: 1 });
    assert.deepEqual(await limited.json(`/_do/ws-client/l/run?${q}`), {
      threw: { name: 'TypeError', message: 'Too many outbound WebSockets open (at most 1 at once per app and thread).' },
    });
    holding.at(-1).close(1000);
    await waitFor(async () => (await limited.json('/_do/ws-client/l/heardNow')).readyState === 3);
    const out = await limited.json(`/_do/ws-client/l/run?${q}`);
    assert.deepEqual(out.events.map((e) => e.type), ['open', 'message', 'close']);
  } finally {
    await limited.stop();
  }
});

test('--no-outbound: the constructor throws', async () => {
  const off = await startServer({ flags: ['--no-outbound'] });
  try {
    await off.deploy(fixture('outbound/ws_client.js'));
    const out = await off.json(`/_do/ws-client/n/run?${new URLSearchParams({ url: `${base()}/echo` })}`);
    assert.deepEqual(out, { threw: { name: 'TypeError', message: 'WebSocket connections to other hosts are disabled on this server.' } });
  } finally {
    await off.stop();
  }
});

test('a message sent after a write that never becomes durable is never sent (output gate)', async () => {
  const { server: failing, failFlag: flag } = await startServerWithFailingDisk({ flags: ['--threads', '1', '--outbound-allow', ALLOWED_HOST] });
  try {
    await failing.deploy(fixture('outbound/ws_client.js'));
    const count = holding.length;
    await failing.json(`/_do/ws-client/g/open?url=${encodeURIComponent(`${base()}/hold`)}`);
    await waitFor(() => holding.length > count);
    const ws = holding.at(-1);
    const got = [];
    ws.on('message', (data) => got.push(data.toString()));
    // Without a write the message leaves at once.
    await failing.json('/_do/ws-client/g/sent?tag=plain');
    await waitFor(() => got.length === 1);
    fs.writeFileSync(flag, '');
    // The write fails to become durable: the object is reset, its output never leaves.
    await failing.request('/_do/ws-client/g/sent?write=1&tag=gated');
    await sleep(1500);
    assert.deepEqual(got, ['after-write plain'], 'a message built on a write that failed was sent');
    fs.unlinkSync(flag);
  } finally {
    if (fs.existsSync(flag)) fs.unlinkSync(flag);
    await failing.stop();
  }
});
