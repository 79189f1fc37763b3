// fetch() bodies streamed both ways: the response's body arrives as the upstream sends it (first
// chunk before the last is sent), with backpressure (a slow reader keeps the server's memory flat
// while a large body goes through), cancellation and aborts that free the upstream connection,
// errors mid-body; request bodies that are streams go out as they are produced (chunked, or under
// a FixedLengthStream's length), and a failing one fails the fetch. A proxy `return fetch(u)`
// streams an SSE upstream through to the client as events come.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { startServer, fixture, sleep, waitFor, allocatorSettled } from './lib/dorm.mjs';

const ALLOWED_HOST = '127.0.0.2';
const APP = 'relays';
let upstream;
let server;
// What the upstream saw, by request path: { firstDataAt, endAt, closedEarly, headers, body }.
const seen = new Map();
// Paths whose response waits for the test: path → resolve().
const gates = new Map();
const BIG = 120 * 1024 * 1024;

function gate(name) {
  return new Promise((resolve) => gates.set(name, resolve));
}

function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  const record = { headers: req.headers, body: '', firstDataAt: 0, endAt: 0, closedEarly: false, sent: 0 };
  seen.set(url.pathname, record);
  req.on('data', (chunk) => {
    if (!record.firstDataAt) record.firstDataAt = Date.now();
    record.body += chunk.toString('latin1');
  });
  res.on('close', () => {
    if (!res.writableFinished) record.closedEarly = true;
  });
  req.on('end', async () => {
    record.endAt = Date.now();
    const p = url.pathname;
    if (p === '/echo' || p === '/echo303target') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.headers['transfer-encoding'] ?? ''} ${req.headers['content-length'] ?? ''} ${record.body}`);
    } else if (p === '/redirect307' || p === '/redirect303') {
      res.writeHead(p === '/redirect307' ? 307 : 303, { location: '/echo303target' });
      res.end();
    } else if (p === '/slow' || p === '/held') {
      // The first chunk, then the rest once the test opens the gate (or after a while).
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      await Promise.race([gate(p), sleep(p === '/held' ? 20000 : 1500)]);
      record.lastSentAt = Date.now();
      if (!res.destroyed) res.end('last');
    } else if (p === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      await sleep(1000);
      record.lastSentAt = Date.now();
      res.end('data: two\n\n');
    } else if (p === '/reset') {
      // Says 100000 bytes, sends 5, then drops the connection.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write('hello');
      setTimeout(() => req.socket.destroy(), 100);
    } else if (p === '/big') {
      // Writes as fast as the reader takes it, counting what the socket accepted.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
      const block = Buffer.alloc(64 * 1024, 0x61);
      while (record.sent < BIG && !res.destroyed) {
        record.sent += block.length;
        if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

before(async () => {
  upstream = http.createServer(handle);
  await new Promise((resolve) => upstream.listen(0, ALLOWED_HOST, resolve));
  server = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST] });
  await server.deploy(fixture('outbound/relay.js'), { app: APP, name: 'relay' });
});

after(async () => {
  await server?.stop();
  upstream?.closeAllConnections?.();
  await new Promise((resolve) => upstream.close(resolve));
});

const base = () => `http://${ALLOWED_HOST}:${upstream.address().port}`;

async function relay(op, path) {
  const url = encodeURIComponent(`${base()}${path}`);
  const res = await server.request(`/_do/relay/x?op=${op}&url=${url}`, {
    headers: { host: `${APP}.localhost:${server.port}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json();
}

// What the runtime may grow by while a large body goes through. A sanitized build keeps freed
// memory in ASan's quarantine (256 MiB by default) before reusing it, so its bound adds that.
const RSS_BOUND = (48 + (process.env.DORM_SANITIZED ? 320 : 0)) * 1024 * 1024;

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

test('fetch() resolves at the head: the first chunk is read before the upstream sends the last', async () => {
  const answer = await relay('first', '/held');
  const answeredAt = Date.now();
  assert.deepEqual(answer, { first: 'first;' });
  assert.equal(seen.get('/held').lastSentAt, undefined, 'the last chunk was sent before the answer');
  gates.get('/held')?.();
  await waitFor(() => seen.get('/held').lastSentAt !== undefined || seen.get('/held').closedEarly);
  assert.ok(answeredAt > 0);
  // The whole body, read through text(), still arrives.
  assert.deepEqual(await relay('all', '/slow'), { status: 200, body: 'first;last' });
});

test('cancelling the body, or aborting after the head, ends the exchange and closes its connection', async () => {
  assert.deepEqual(await relay('cancel', '/held'), { first: 'first;', cancelled: true });
  await waitFor(() => seen.get('/held').closedEarly, { what: 'the upstream connection to close' });
  const aborted = await relay('abort', '/held');
  assert.equal(aborted.first, 'first;');
  assert.equal(aborted.threw.name, 'AbortError');
  assert.equal(aborted.threw.message, 'The operation was aborted');
  await waitFor(() => seen.get('/held').closedEarly, { what: 'the upstream connection to close' });
});

test('an object reset with a body unread ends the exchange and closes its connection', async () => {
  assert.deepEqual(await relay('reset', '/held'), { first: 'first;' });
  await waitFor(() => seen.get('/held').closedEarly, { what: 'the upstream connection to close' });
});

test('a connection lost mid-body errors the stream with workerd\'s error', async () => {
  const got = await relay('all', '/reset');
  assert.deepEqual(got, { threw: { name: 'Error', message: 'Network connection lost.', retryable: true } });
});

test('a 120 MB body goes through an object with the runtime\'s memory flat', async () => {
  const pid = server.runtimePid();
  const before = rssBytes(pid);
  const got = await relay('count', '/big');
  await allocatorSettled();
  const after = rssBytes(pid);
  assert.equal(got.status, 200);
  assert.equal(got.bytes, BIG);
  assert.ok(got.chunks > 1);
  assert.ok(after - before < RSS_BOUND, `the runtime grew by ${(after - before) >> 20} MiB`);
});

test('a proxy `return fetch(u)` streams to the client with backpressure from a reader that waits', async () => {
  const pid = server.runtimePid();
  const rssBefore = rssBytes(pid);
  const url = encodeURIComponent(`${base()}/big`);
  const socket = net.connect(server.port, '127.0.0.1');
  let received = 0;
  let paused = true;
  socket.on('data', (d) => {
    received += d.length;
    if (paused) socket.pause();
  });
  socket.write(`GET /_do/relay/x?op=proxy&url=${url} HTTP/1.1\r\nHost: ${APP}.localhost:${server.port}\r\n\r\n`);
  await waitFor(() => seen.get('/big')?.sent > 0, { what: 'the upstream to start' });
  await sleep(1500);
  // The client reads nothing: the upstream could only write what the buffers on the way hold.
  const sentWhilePaused = seen.get('/big').sent;
  assert.ok(sentWhilePaused < 40 * 1024 * 1024, `the upstream wrote ${sentWhilePaused >> 20} MiB`);
  await allocatorSettled();
  assert.ok(rssBytes(pid) - rssBefore < RSS_BOUND);
  paused = false;
  socket.resume();
  await waitFor(() => received >= BIG, { timeoutMs: 60000, what: 'the whole body' });
  socket.destroy();
  await allocatorSettled();
  assert.ok(rssBytes(pid) - rssBefore < RSS_BOUND, 'the runtime grew');
});

test('an SSE upstream proxied by `return fetch(u)` reaches the client event by event', async () => {
  const url = encodeURIComponent(`${base()}/sse`);
  const socket = net.connect(server.port, '127.0.0.1');
  let text = '';
  let firstEventAt = 0;
  socket.on('data', (d) => {
    text += d.toString('latin1');
    if (!firstEventAt && text.includes('data: one')) firstEventAt = Date.now();
  });
  socket.write(`GET /_do/relay/x?op=proxy&url=${url} HTTP/1.1\r\nHost: ${APP}.localhost:${server.port}\r\n\r\n`);
  await waitFor(() => text.includes('data: two'), { timeoutMs: 10000, what: 'both events' });
  socket.destroy();
  assert.match(text, /content-type: text\/event-stream/i);
  assert.ok(firstEventAt > 0 && firstEventAt < seen.get('/sse').lastSentAt,
    'the first event arrived only after the upstream sent the second');
});

test('a stream request body is sent as it is produced, chunked', async () => {
  const got = await relay('upload', '/echo');
  assert.deepEqual(got, { status: 200, body: 'POST chunked  first chunk;last chunk' });
  const record = seen.get('/echo');
  assert.ok(record.endAt - record.firstDataAt >= 600,
    `the first chunk arrived only ${record.endAt - record.firstDataAt} ms before the end`);
});

test('a FixedLengthStream body goes with its Content-Length', async () => {
  assert.deepEqual(await relay('length', '/echo'), { status: 200, body: 'PUT  11 hello world' });
});

test('a stream body that fails mid-upload fails fetch() with its error', async () => {
  const got = await relay('uploadfail', '/echo');
  assert.deepEqual(got, { threw: { name: 'RangeError', message: 'the producer failed' } });
});

test('redirects with a stream body: 303 becomes a GET without it, 307 cannot send it again', async () => {
  assert.deepEqual(await relay('upload', '/redirect303'), { status: 200, body: 'GET   ' });
  assert.deepEqual(await relay('upload', '/redirect307'), {
    threw: {
      name: 'TypeError',
      message: 'A request with a one-time-use body (it was initialized from a stream, not a buffer) encountered a redirect requiring the body to be retransmitted. To avoid this error in the future, construct this request from a buffer-like body initializer.',
    },
  });
});
