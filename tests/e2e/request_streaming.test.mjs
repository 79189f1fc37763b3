// Client uploads stream into objects and Workers, as on workerd: the object's fetch() runs once
// the request head is admitted, and request.body gives each chunk as it comes off the socket,
// with backpressure (the socket is read only as fast as the object reads). Expected values were
// recorded from workerd with the fixture fixtures/request-streaming/index.js (same requests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startServer, fixture, sleep, waitFor, describeCli, RawConnection, connectRecording, allocatorSettled } from './lib/dorm.mjs';

const MAX_BODY = 64 << 20;
// Each large upload is 64,000,000 bytes (61 MiB): a runtime that held a body whole would grow by
// more than RSS_SLACK. What it may grow by while such bodies pass: the channel's window and the
// chunks not yet collected, which V8 lets reach twice its largest semi-space (2 x 16 MiB) before a
// young-generation collection frees them (measured: 29 to 41 MiB, the same after one upload or
// eight); under ASan also its quarantine of freed memory, which this file's server keeps
// to 32 MiB (the default 256 MiB, filled by freed chunks, made the growth vary up to 582 MiB),
// and a collector that runs later. The release build's run is the one that tells a held body.
if (process.env.DORM_SANITIZED) {
  process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ?? ''}:quarantine_size_mb=32`;
}
const BIG_BODY = 64_000_000;
const RSS_SLACK = (process.env.DORM_SANITIZED ? 52 + 160 : 52) << 20;

// An outside server the object's fetch() may reach: it counts what it receives, noting when the
// first bytes came.
const ALLOWED_HOST = '127.0.0.2';
let upstream;
const received = { first: 0, bytes: 0 };

let server;
let host;

before(async () => {
  upstream = http.createServer((req, res) => {
    received.first = 0;
    received.bytes = 0;
    req.on('data', (d) => {
      if (!received.first) received.first = Date.now();
      received.bytes += d.length;
    });
    req.on('end', () => res.end(`upstream got ${received.bytes}`));
  });
  await new Promise((resolve) => upstream.listen(0, ALLOWED_HOST, resolve));
  server = await startServer({ flags: ['--max-body-bytes', String(MAX_BODY), '--outbound-allow', ALLOWED_HOST] });
  const deployed = await server.cli(['deploy', fixture('request-streaming'), '--access', 'public']);
  assert.equal(deployed.code, 0, describeCli(deployed));
  host = `upstream.localhost:${server.port}`;
});

after(async () => {
  await server?.stop();
  upstream?.closeAllConnections?.();
  await new Promise((resolve) => upstream.close(resolve));
});

function rssBytes() {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

function openFds() {
  return fs.readdirSync(`/proc/${server.runtimePid()}/fd`).length;
}

// A raw connection that records when each byte arrived.
const rawConnect = () => connectRecording(server.port);

// The object's log of what its reads saw (the class keeps it in memory).
async function readLog(name, via = 'worker') {
  const res = via === 'worker'
    ? await server.request(`/log?name=${name}`, { headers: { host } })
    : await server.request(`/_do/uploads/${name}/?mode=log`, { headers: { host } });
  assert.equal(res.status, 200, res.text);
  return res.json();
}

// The data of a chunked body.
function dechunk(text) {
  let out = '';
  for (let at = 0; ;) {
    const eol = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, eol), 16);
    if (size === 0) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

// The digest the fixture's `count` mode computes, for `bytes` bytes of pattern(i) = i % 251.
function expectedSum(total) {
  let sum = 0;
  for (let i = 0; i < total; i += 4096) sum = (sum + (i % 251)) % 1000003;
  return sum;
}

// Sends `total` bytes of the i % 251 pattern in `step`-byte writes (each awaited: the socket's
// backpressure), chunked or under a Content-Length; resolves with the response.
async function upload(target, total, { chunked = false, step = 256 << 10 } = {}) {
  const conn = await RawConnection.open(server.port);
  try {
    const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${total}`;
    await conn.write(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\n${framing}\r\n\r\n`);
    const pattern = Buffer.alloc(step + 251);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
    for (let sent = 0; sent < total;) {
      const n = Math.min(step, total - sent);
      const bytes = pattern.subarray(sent % 251, (sent % 251) + n);
      const ok = chunked
        ? await conn.write(Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]))
        : await conn.write(bytes);
      if (!ok) break;
      sent += n;
    }
    if (chunked) await conn.write('0\r\n\r\n');
    return await conn.readResponse(60000);
  } finally {
    conn.close();
  }
}

test('the object sees the first chunk before the client sends the rest (object URL, Worker, stub)', async () => {
  for (const target of ['/_do/uploads/early/?mode=echo', '/?mode=echo&name=early', '/forward?mode=echo&name=early',
    '/forward-body?mode=echo&name=early']) {
    const c = await rawConnect();
    try {
      c.socket.write(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      await c.waitFor(/got 5 bytes\n/);
      const firstAt = Date.now();
      await sleep(300);
      // Nothing more came while the client held the rest back.
      assert.doesNotMatch(c.text, /got 3 bytes|end/, target);
      c.socket.write('3\r\nabc\r\n0\r\n\r\n');
      await c.waitFor(/\r\n0\r\n\r\n$/);
      assert.ok(Date.now() - firstAt >= 300, target);
      // workerd's answer (chunk boundaries aside: queued chunks go out together).
      const split = c.text.indexOf('\r\n\r\n');
      const [head, chunked] = [c.text.slice(0, split), c.text.slice(split + 4)];
      assert.equal(head, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', target);
      assert.equal(dechunk(chunked), 'got 5 bytes\ngot 3 bytes\nend\n', target);
    } finally {
      c.socket.destroy();
    }
  }
});

test('text(), json() and formData() read a body that arrives in parts', async () => {
  const cases = [['text', 'hello', 'text 5'], ['json', '{"a":1}', '{"a":1}'], ['form', 'a=1&b=2', '{"a":"1","b":"2"}']];
  for (const [mode, body, expected] of cases) {
    const c = await rawConnect();
    try {
      c.socket.write(`POST /_do/uploads/parts/?mode=${mode} HTTP/1.1\r\nHost: ${host}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n${body.slice(0, 2)}\r\n`);
      await sleep(150);
      c.socket.write(`${(body.length - 2).toString(16)}\r\n${body.slice(2)}\r\n0\r\n\r\n`);
      await c.waitFor(new RegExp(`${expected.replace(/[{}]/g, '\\$&')}$`));
    } finally {
      c.socket.destroy();
    }
  }
});

test('61 MiB uploads pass through an object with the runtime\'s memory flat (Content-Length and chunked)', async () => {
  const total = BIG_BODY;
  // Warm the object and the isolate first: their own memory is not the body's.
  let res = await upload('/_do/uploads/big/?mode=count', 1 << 20);
  assert.equal(res.status, 200, res.text);
  const before = rssBytes();
  res = await upload('/_do/uploads/big/?mode=count', total);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual({ bytes: res.json().bytes, sum: res.json().sum }, { bytes: total, sum: expectedSum(total) });
  assert.ok(res.json().chunks > 50, `${res.json().chunks} chunks: the body arrived in pieces`);
  res = await upload('/_do/uploads/big/?mode=count', total, { chunked: true });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual({ bytes: res.json().bytes, sum: res.json().sum }, { bytes: total, sum: expectedSum(total) });
  await allocatorSettled();
  const grown = rssBytes() - before;
  assert.ok(grown < RSS_SLACK, `runtime RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

test('an upload forwarded by the Worker to an object through stub.fetch() streams whole', async () => {
  const total = BIG_BODY;
  const before = rssBytes();
  for (const path of ['/forward', '/forward-body']) {
    const res = await upload(`${path}?mode=count&name=fwd`, total, { chunked: path === '/forward' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual({ bytes: res.json().bytes, sum: res.json().sum }, { bytes: total, sum: expectedSum(total) });
  }
  await allocatorSettled();
  const grown = rssBytes() - before;
  assert.ok(grown < RSS_SLACK, `runtime RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

test('an upload passed on by fetch(url, { body: request.body }) reaches the outside server as it comes', async () => {
  const url = encodeURIComponent(`http://${ALLOWED_HOST}:${upstream.address().port}/in`);
  const c = await rawConnect();
  try {
    c.socket.write(`POST /_do/uploads/relay/?mode=relay&url=${url} HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    await waitFor(() => received.first !== 0, { what: 'the first bytes upstream' });
    assert.equal(received.bytes, 5);
    c.socket.write('3\r\nabc\r\n0\r\n\r\n');
    await c.waitFor(/upstream got 8/);
  } finally {
    c.socket.destroy();
  }
  // A large one, with the runtime's memory flat.
  const before = rssBytes();
  const res = await upload(`/_do/uploads/relay/?mode=relay&url=${url}`, BIG_BODY);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, `upstream got ${BIG_BODY}`);
  await allocatorSettled();
  const grown = rssBytes() - before;
  assert.ok(grown < RSS_SLACK, `runtime RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

test('a client that leaves mid-body fails the object\'s read with workerd\'s error; nothing is kept', async () => {
  const targets = [
    ['/_do/uploads/gone/?mode=count', 'gone', 'object'],
    // Passed on by the Worker (stub.fetch(request), and the body alone): the same error.
    ['/forward?mode=count&name=gone-fwd', 'gone-fwd', 'worker'],
    ['/forward-body?mode=count&name=gone-body', 'gone-body', 'worker'],
  ];
  for (const [, name, via] of targets) await readLog(name, via);
  const fdsBefore = openFds();
  for (const [target, name, via] of targets) {
    for (let i = 0; i < 3; i++) {
      const c = await rawConnect();
      c.socket.write(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
      await sleep(200);
      c.socket.destroy();
    }
    let log = [];
    await waitFor(async () => {
      log = log.concat(await readLog(name, via));
      return log.length >= 3;
    }, { what: `three failed reads (${target})` });
    // As workerd's: an Error, marked retryable, not remote.
    for (const entry of log) {
      assert.deepEqual(entry, { error: 'Error', message: 'Network connection lost.', retryable: true, remote: false }, target);
    }
  }
  await waitFor(() => openFds() <= fdsBefore, { what: `descriptors back to ${fdsBefore}` });
});

test('an object that answers without reading: the connection goes on if the body was all there, else closes', async () => {
  // The body came with the head: the next request is answered on the same connection.
  const conn = await RawConnection.open(server.port);
  try {
    await conn.write(`POST /_do/uploads/u/?mode=unread HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\n${'b'.repeat(1000)}`);
    let res = await conn.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text, 'unread');
    assert.equal(res.headers.connection, undefined);
    await conn.write(`POST /_do/uploads/u/?mode=text HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\n\r\nok`);
    res = await conn.readResponse();
    assert.equal(res.text, 'text 2');
  } finally {
    conn.close();
  }
  // The body was not there: answered with "Connection: close" (as workerd), then closed, though
  // the client goes on sending.
  const c = await RawConnection.open(server.port);
  try {
    await c.write(`POST /_do/uploads/u/?mode=unread HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 10000000\r\n\r\n`);
    const res = await c.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text, 'unread');
    assert.equal(res.headers.connection, 'close');
    const chunk = Buffer.alloc(64 << 10, 0x61);
    for (let i = 0; i < 20 && !c.ended; i++) await c.write(chunk);
    assert.ok(await c.waitClosed(10000), 'the connection was closed');
  } finally {
    c.close();
  }
});

test('a chunked body over --max-body-bytes gets 413, one that stalls 408; the object\'s read fails with the message', async () => {
  const small = await startServer({ flags: ['--max-body-bytes', '100000', '--body-timeout-seconds', '1'] });
  try {
    const deployed = await small.cli(['deploy', fixture('request-streaming'), '--access', 'public']);
    assert.equal(deployed.code, 0, describeCli(deployed));
    const smallHost = `upstream.localhost:${small.port}`;
    const conn = await RawConnection.open(small.port);
    try {
      await conn.write(`POST /_do/uploads/over/?mode=count HTTP/1.1\r\nHost: ${smallHost}\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = Buffer.concat([Buffer.from('8000\r\n'), Buffer.alloc(0x8000, 0x61), Buffer.from('\r\n')]);
      for (let i = 0; i < 5 && !conn.ended; i++) await conn.write(chunk);
      const res = await conn.readResponse();
      assert.equal(res.status, 413);
      assert.deepEqual(res.json(), { error: 'Request body too large: the limit is 100000 bytes.' });
      assert.ok(await conn.waitClosed(10000));
    } finally {
      conn.close();
    }
    let log = [];
    await waitFor(async () => {
      const res = await small.request('/_do/uploads/over/?mode=log', { headers: { host: smallHost } });
      log = log.concat(res.json());
      return log.length >= 1;
    }, { what: 'the failed read' });
    assert.deepEqual(log, [{ error: 'Error', message: 'Request body too large: the limit is 100000 bytes.', retryable: false, remote: false }]);
    // A body that stops coming while the object waits for it.
    const stalled = await RawConnection.open(small.port);
    try {
      await stalled.write(`POST /_do/uploads/slow/?mode=count HTTP/1.1\r\nHost: ${smallHost}\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(10)}`);
      const res = await stalled.readResponse(10000);
      assert.equal(res.status, 408);
      assert.deepEqual(res.json(), { error: 'The request body did not arrive in time.' });
      assert.ok(await stalled.waitClosed(10000));
    } finally {
      stalled.close();
    }
    const res = await small.request('/_do/uploads/slow/?mode=log', { headers: { host: smallHost } });
    assert.deepEqual(res.json(), [{ error: 'Error', message: 'The request body did not arrive in time.', retryable: false, remote: false }]);
  } finally {
    await small.stop();
  }
});

test('pipelined requests with bodies are each answered in order', async () => {
  const conn = await RawConnection.open(server.port);
  try {
    let payload = '';
    for (let i = 0; i < 4; i++) {
      payload += `POST /_do/uploads/p/?mode=text HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n${(i + 1).toString(16)}\r\n${'x'.repeat(i + 1)}\r\n0\r\n\r\n`;
    }
    await conn.write(payload);
    const answers = await conn.readResponses(4);
    assert.deepEqual(answers.map((r) => r.text), ['text 1', 'text 2', 'text 3', 'text 4']);
  } finally {
    conn.close();
  }
});
