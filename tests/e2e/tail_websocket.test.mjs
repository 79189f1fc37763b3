// The live log over a WebSocket: GET /_admin/v1/apps/<app>/tail with Upgrade: websocket sends
// each line as one text message (the same JSON as an SSE event's data), with the same filters,
// `since` and refusals; a client that stops reading never slows requests and, once it reads
// again, gets a {"dropped": N} message; closing the socket ends the tail client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';
import { WsClient, parseFrames } from './lib/ws.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('tail_probe.js'), { name: 'tail-probe' });
  await server.deploy(fixture('tail_probe.js'), { name: 'tail-other' });
  await server.deploy(fixture('tail_probe.js'), { name: 'tail-probe', app: 'other-app' });
});

after(async () => {
  await server?.stop();
});

function openTail(query = '', { app = 'default', token } = {}) {
  return WsClient.open(`ws://127.0.0.1:${server.port}/_admin/v1/apps/${app}/tail${query ? `?${query}` : ''}`, {
    headers: { authorization: `Bearer ${token ?? server.adminToken()}` },
  });
}

const lines = (tail) => tail.messages.map((m) => JSON.parse(m.data));
const nextLine = async (tail, match, what) => JSON.parse(await tail.next((d) => match(JSON.parse(d)), { what }));

test('each line is one text message, with the fields of an SSE line', async () => {
  const tail = await openTail();
  try {
    const before = Date.now();
    const res = await server.request('/_do/tail-probe/alice?do=log&tag=ws1');
    assert.equal(res.status, 200);
    const info = await nextLine(tail, (l) => l.type === 'console' && l.message === 'info line ws1', 'the info line');
    assert.equal(info.level, 'info');
    assert.equal(info.app, 'default');
    assert.equal(info.class, 'tail-probe');
    assert.equal(info.name, 'alice');
    assert.match(info.object, /^[0-9a-f]{64}$/);
    assert.ok(info.timestamp >= before - 1000 && info.timestamp <= Date.now() + 1000);
    const request = await nextLine(tail, (l) => l.type === 'request' && l.path === '/?do=log&tag=ws1', 'the request line');
    assert.equal(request.method, 'GET');
    assert.equal(request.status, 200);
    assert.equal(request.outcome, 'ok');
    // Every message is JSON text: the stream's opening comment is not sent.
    assert.ok(tail.messages.every((m) => !m.binary && m.data.startsWith('{')), JSON.stringify(tail.messages));
  } finally {
    tail.terminate();
  }
});

test('filters and since work as for SSE', async () => {
  await server.request('/_do/tail-probe/bob?do=log&tag=before-ws');
  const tail = await openTail('class=tail-probe&object=carol&level=warn,error&since=5m');
  const recent = await openTail('since=5m&object=bob&level=error');
  try {
    await server.request('/_do/tail-other/carol?do=log&tag=other-class');
    await server.request('/_do/tail-probe/dave?do=log&tag=other-object');
    await server.request('/_do/tail-probe/carol?do=log&tag=wanted');
    await tail.next((d) => JSON.parse(d).message === 'error line wanted', { what: 'the error line' });
    await server.request('/_do/tail-probe/carol?do=log&tag=last');
    const last = await nextLine(tail, (l) => l.message === 'error line last', 'the last error line');
    await sleep(300);
    // What the filters let through, in order: carol's warn and error lines of both requests.
    assert.deepEqual([...lines(tail), last].map((l) => [l.class, l.name, l.message]), [
      ['tail-probe', 'carol', 'warn line wanted'],
      ['tail-probe', 'carol', 'warn line last'],
      ['tail-probe', 'carol', 'error line last'],
    ]);
    // since: the kept line from before the socket opened comes first.
    const kept = await nextLine(recent, (l) => l.message === 'error line before-ws', 'the kept line');
    assert.equal(kept.name, 'bob');
  } finally {
    tail.terminate();
    recent.terminate();
  }
});

test('refusals are the HTTP answers of the handshake', async () => {
  const refused = async (query, opts) => {
    try {
      const t = await openTail(query, opts);
      t.terminate();
      return null;
    } catch (e) {
      return { status: e.status, error: e.body ? JSON.parse(e.body).error : e.message };
    }
  };
  assert.deepEqual(await refused('', { token: 'wrong' }), { status: 401, error: 'Invalid admin token.' });
  assert.deepEqual(await refused('follow=false'), { status: 400, error: "Invalid follow 'false' for a WebSocket: it always follows." });
  assert.deepEqual(await refused('level=loud'), { status: 400, error: (await server.api('GET', '/apps/default/tail?level=loud&follow=false')).json().error });
  assert.deepEqual(await refused('', { app: 'no-such-app' }), { status: 404, error: "No app named 'no-such-app'." });
  const key = (await server.cli(['keys', 'create', '--app', 'default'])).stdout.trim();
  assert.deepEqual(await refused('', { token: key }), { status: 401, error: 'Invalid admin token.' });
});

test('an app never sees another app\'s lines over a socket either', async () => {
  const theirs = await openTail('', { app: 'other-app' });
  try {
    await server.request('/_do/tail-probe/kim?do=log&tag=ws-mine');
    await server.request('/_do/tail-probe/kim?do=log&tag=ws-theirs', { headers: { host: 'other-app.localhost' } });
    await nextLine(theirs, (l) => l.message === 'info line ws-theirs', 'their line');
    await sleep(300);
    assert.ok(lines(theirs).every((l) => l.app === 'other-app' && !l.message?.includes('ws-mine')));
  } finally {
    theirs.terminate();
  }
});

test('closing the socket ends the tail client: the 16-client limit frees a place', async () => {
  const tails = [];
  try {
    for (let i = 0; i < 16; i++) tails.push(await openTail());
    await assert.rejects(openTail(), (e) => e.status === 429);
    tails.pop().ws.close(1000);
    await waitFor(async () => {
      try {
        tails.push(await openTail());
        return true;
      } catch (e) {
        if (e.status !== 429) throw e;
        return false;
      }
    }, { what: 'a place for a new tail client' });
  } finally {
    for (const t of tails) t.terminate();
  }
});

// A WebSocket tail client that completes the handshake and then reads nothing.
function stalledSocket(query) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    socket.on('error', reject);
    socket.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      socket.write(`GET /_admin/v1/apps/default/tail?${query} HTTP/1.1\r\nhost: x\r\n` +
        `authorization: Bearer ${server.adminToken()}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
        `sec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`);
      let head = Buffer.alloc(0);
      const onData = (d) => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.pause();
        const status = head.subarray(0, end).toString('latin1');
        if (!status.startsWith('HTTP/1.1 101')) reject(new Error(status));
        else resolve({ socket, rest: head.subarray(end + 4) });
      };
      socket.on('data', onData);
    });
  });
}

async function requestLoop(count, path) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await server.request(path);
    assert.equal(res.status, 200);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p99: times[Math.floor(times.length * 0.99)], max: times.at(-1) };
}

test('a socket that stops reading never slows requests, and is told how many lines it lost', async () => {
  // 16 KiB lines: 700 requests give about 11 MB, more than the stream's buffer and the socket
  // buffers of a client that never reads.
  const path = '/_do/tail-probe/ws-loop?do=big&size=16000&tag=loop';
  const without = await requestLoop(300, path);
  const { socket, rest } = await stalledSocket('object=ws-loop');
  try {
    const withStalled = await requestLoop(700, path);
    console.log(`request p99 without a stalled WebSocket tail: ${without.p99.toFixed(2)} ms (max ${without.max.toFixed(2)} ms); ` +
      `with one: ${withStalled.p99.toFixed(2)} ms (max ${withStalled.max.toFixed(2)} ms)`);
    const bound = process.env.DORM_SANITIZED ? 5000 : 2000;
    assert.ok(withStalled.max < bound, `max ${withStalled.max} ms`);
    // Reading again: the messages held, then the notice, then new lines.
    let buffer = rest;
    const messages = [];
    socket.on('data', (d) => {
      buffer = Buffer.concat([buffer, d]);
      const parsed = parseFrames(buffer);
      buffer = parsed.rest;
      for (const f of parsed.frames) if (f.opcode === 1) messages.push(JSON.parse(f.payload.toString('utf8')));
    });
    socket.resume();
    const notice = await waitFor(() => messages.find((m) => 'dropped' in m), { timeoutMs: 15000, what: 'the dropped notice' });
    assert.ok(notice.dropped > 0 && notice.dropped <= 1400, String(notice.dropped));
    assert.deepEqual(Object.keys(notice), ['dropped']);
    const held = messages.slice(0, messages.indexOf(notice));
    assert.ok(held.length > 0 && held.every((m) => m.name === 'ws-loop'));
    await server.request('/_do/tail-probe/ws-loop?do=log&tag=after');
    await waitFor(() => messages.some((m) => m.message === 'info line after'), { what: 'a line after the notice' });
  } finally {
    socket.destroy();
  }
});

test('a server that stops closes its tail sockets with 1000 and does not wait for them', async () => {
  const own = await startServer();
  try {
    await own.deploy(fixture('tail_probe.js'), { name: 'tail-probe' });
    const tail = await WsClient.open(`ws://127.0.0.1:${own.port}/_admin/v1/apps/default/tail`, {
      headers: { authorization: `Bearer ${own.adminToken()}` },
    });
    const started = Date.now();
    await own.stop();
    assert.ok(Date.now() - started < 10000, `stopped in ${Date.now() - started} ms`);
    assert.deepEqual(await tail.waitClosed(5000), { code: 1000, reason: '' });
  } finally {
    await own.stop().catch(() => {});
  }
});
