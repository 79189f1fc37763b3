// Responses whose bodies are streams go out as the stream yields them: status and headers first,
// each chunk as it comes (chunked, or under the Content-Length the object gave), the end when the
// stream closes. A stream that fails breaks the connection without the last chunk; a client that
// leaves cancels the stream; a client that does not read makes the object's stream wait
// (bounded memory); a chunk made after a write waits for the write to be durable (output gate).
// Read through raw sockets, to see the framing and when each byte arrives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, startServerWithFailingDisk, fixture, sleep, waitFor, makeTempDir, describeCli } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('stream_probe.js'));
});

after(async () => {
  await server?.stop();
});

// A raw HTTP/1.1 exchange: what arrived (latin1), when each piece arrived, and whether the
// server closed the connection.
function rawRequest(port, target, { method = 'GET', host = '127.0.0.1', version = '1.1' } = {}) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { text: '', arrivals: [], closed: false, socket };
  const waiters = new Set();
  const wake = () => {
    for (const w of waiters) w();
  };
  socket.on('data', (d) => {
    state.text += d.toString('latin1');
    state.arrivals.push({ at: Date.now(), length: state.text.length });
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    state.closed = true;
    wake();
  });
  socket.write(`${method} ${target} HTTP/${version}\r\nHost: ${host}\r\n\r\n`);
  // When `pattern` first matched what arrived (ms since the epoch).
  state.waitFor = (pattern, timeoutMs = 10000) => new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(state.text);
      if (m) {
        const end = m.index + m[0].length;
        const arrival = state.arrivals.find((a) => a.length >= end);
        cleanup();
        resolve(arrival.at);
      } else if (state.closed) {
        cleanup();
        reject(new Error(`connection closed before ${pattern}: ${JSON.stringify(state.text)}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}: ${JSON.stringify(state.text)}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
  state.waitClosed = (timeoutMs = 10000) => new Promise((resolve, reject) => {
    const check = () => {
      if (!state.closed) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`the connection stayed open: ${JSON.stringify(state.text)}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });
  return state;
}

const LAST_CHUNK = '\r\n0\r\n\r\n';

test('an event stream reaches the client event by event, status and headers first', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/sse/sse?ms=400');
  const headAt = await exchange.waitFor(/\r\n\r\n/);
  const head = exchange.text.slice(0, exchange.text.indexOf('\r\n\r\n') + 2);
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\ncontent-type: text\/event-stream\r\n/i);
  assert.match(head, /\r\nx-probe: sse\r\n/i);
  assert.match(head, /\r\ntransfer-encoding: chunked\r\n/i);
  assert.doesNotMatch(head, /content-length/i);
  const firstAt = await exchange.waitFor(/data: first \d+\n\n/);
  const secondAt = await exchange.waitFor(/data: second (\d+)\n\n/);
  const producedSecond = Number(/data: second (\d+)/.exec(exchange.text)[1]);
  assert.ok(firstAt < producedSecond, `the first event arrived at ${firstAt}, after the second was produced at ${producedSecond}`);
  assert.ok(secondAt - firstAt >= 300, `the events arrived ${secondAt - firstAt} ms apart`);
  assert.ok(headAt <= firstAt);
  await exchange.waitFor(/\r\n0\r\n\r\n$/);
  // The body ended properly: the connection is kept for the next request.
  assert.equal(exchange.closed, false);
  exchange.socket.destroy();
});

test('the connection goes on after a streamed body: the next request on it is answered', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/sse2/sse?ms=10');
  await exchange.waitFor(/\r\n0\r\n\r\n/);
  exchange.socket.write('GET /_do/stream-probe/sse2/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await exchange.waitFor(/pong$/);
  exchange.socket.destroy();
});

test('a client that leaves an endless stream cancels it', async () => {
  const before = (await server.json('/_do/stream-probe/endless/cancels')).cancels;
  const exchange = rawRequest(server.port, '/_do/stream-probe/endless/endless');
  await exchange.waitFor(/tick 2\n/);
  assert.equal(exchange.closed, false);
  exchange.socket.destroy();
  await waitFor(async () => (await server.json('/_do/stream-probe/endless/cancels')).cancels === before + 1,
    { what: 'the stream to be cancelled' });
});

test('a client that leaves a stream that produces nothing cancels it too', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/idle/idle');
  await exchange.waitFor(/hello\n/);
  await sleep(100);
  exchange.socket.end();
  await waitFor(async () => (await server.json('/_do/stream-probe/idle/cancels')).cancels === 1,
    { what: 'the idle stream to be cancelled' });
});

test('a stream that fails after some chunks breaks the connection without the last chunk', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/fails/fails');
  await exchange.waitFor(/part 2\n/);
  await exchange.waitClosed();
  assert.match(exchange.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.ok(!exchange.text.endsWith(LAST_CHUNK), `the body ended properly: ${JSON.stringify(exchange.text)}`);
  assert.doesNotMatch(exchange.text, /the source broke/);
  // The server and the object are fine.
  assert.equal((await server.request('/_do/stream-probe/fails/ping')).text, 'pong');
});

test('a body with a Content-Length goes out unchunked, as it comes', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/sized/sized');
  await exchange.waitFor(/x{1000}$/);
  const head = exchange.text.slice(0, exchange.text.indexOf('\r\n\r\n') + 2);
  assert.match(head, /\r\ncontent-length: 1000\r\n/i);
  assert.doesNotMatch(head, /transfer-encoding/i);
  assert.equal(exchange.text.length, head.length + 2 + 1000);
  exchange.socket.destroy();
});

test('a FixedLengthStream body goes out under its length, as it comes', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/fixed/fixed');
  const firstAt = await exchange.waitFor(/\r\n\r\n01234/);
  const secondAt = await exchange.waitFor(/56789$/);
  const head = exchange.text.slice(0, exchange.text.indexOf('\r\n\r\n') + 2);
  assert.match(head, /\r\ncontent-length: 10\r\n/i);
  assert.doesNotMatch(head, /transfer-encoding/i);
  assert.ok(secondAt - firstAt >= 50, `the parts arrived ${secondAt - firstAt} ms apart`);
  exchange.socket.destroy();
});

test('an HTTP/1.0 client gets the body unchunked, ended by the connection\'s end', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/old/sse?ms=100', { version: '1.0' });
  const firstAt = await exchange.waitFor(/\r\n\r\ndata: first \d+\n\n/);
  const secondAt = await exchange.waitFor(/data: second \d+\n\n$/);
  assert.ok(secondAt - firstAt >= 50);
  await exchange.waitClosed();
  const head = exchange.text.slice(0, exchange.text.indexOf('\r\n\r\n') + 2);
  assert.doesNotMatch(head, /transfer-encoding|content-length/i);
  assert.match(exchange.text, /data: second \d+\n\n$/);
});

test('HEAD gets the head of a streamed response and no body; the connection goes on', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/head/sse?ms=10', { method: 'HEAD' });
  await exchange.waitFor(/\r\n\r\n/);
  exchange.socket.write('GET /_do/stream-probe/head/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  await exchange.waitFor(/pong$/);
  assert.doesNotMatch(exchange.text, /data: first/);
  exchange.socket.destroy();
});

test('a Worker streams its response body too, and so does a body through a stub\'s fetch()', async () => {
  const dir = makeTempDir('stream-worker');
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), JSON.stringify({
    name: 'streamer', main: 'index.js',
    durable_objects: { bindings: [{ name: 'PROBE', class_name: 'Probe' }] },
    migrations: [{ tag: 'v1', new_sqlite_classes: ['Probe'] }],
  }));
  fs.writeFileSync(path.join(dir, 'index.js'), `
import { DurableObject } from 'cloudflare:workers';
const encoder = new TextEncoder();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
function spaced() {
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(encoder.encode('one;'));
      await sleep(300);
      controller.enqueue(encoder.encode('two;'));
      controller.close();
    },
  });
}
export class Probe extends DurableObject {
  fetch() { return new Response(spaced()); }
}
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/via-object') {
      return env.PROBE.get(env.PROBE.idFromName('p')).fetch(request);
    }
    return new Response(spaced());
  },
};
`);
  const deployed = await server.cli(['deploy', dir]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  const host = `streamer.localhost:${server.port}`;
  const direct = rawRequest(server.port, '/', { host });
  const oneAt = await direct.waitFor(/one;/);
  const twoAt = await direct.waitFor(/two;/);
  assert.ok(twoAt - oneAt >= 200, `the Worker's chunks arrived ${twoAt - oneAt} ms apart`);
  await direct.waitFor(/\r\n0\r\n\r\n$/);
  direct.socket.destroy();
  // The callee's body streams through the stub's fetch() (tests/e2e/stub_streaming.test.mjs).
  const viaObject = rawRequest(server.port, '/via-object', { host });
  const viaOneAt = await viaObject.waitFor(/one;/);
  const viaTwoAt = await viaObject.waitFor(/two;/);
  assert.ok(viaTwoAt - viaOneAt >= 200, `the object's chunks arrived ${viaTwoAt - viaOneAt} ms apart`);
  assert.match(viaObject.text, /\r\ntransfer-encoding: chunked\r\n/i);
  await viaObject.waitFor(/\r\n0\r\n\r\n$/);
  viaObject.socket.destroy();
});

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

test('a client that does not read holds the producer back: memory stays bounded', async () => {
  const pid = server.runtimePid();
  const rssBefore = rssBytes(pid);
  const exchange = rawRequest(server.port, '/_do/stream-probe/huge/huge');
  await exchange.waitFor(/\r\n\r\n/);
  exchange.socket.pause();
  await sleep(2000);
  const { pulled } = await server.json('/_do/stream-probe/huge/cancels');
  const rssAfter = rssBytes(pid);
  // What the socket buffers (both ends' kernel buffers) and the server's bound, far from 100 MiB.
  assert.ok(pulled < 400, `the producer made ${pulled} chunks of 64 KiB for a client that reads nothing`);
  assert.ok(rssAfter - rssBefore < 48 * 1024 * 1024, `the runtime grew by ${(rssAfter - rssBefore) >> 20} MiB`);
  // The object answers other requests meanwhile.
  const started = Date.now();
  assert.equal((await server.request('/_do/stream-probe/huge/ping')).text, 'pong');
  assert.ok(Date.now() - started < 2000);
  // Once the client reads, the rest comes, to the last chunk (counted from the first byte after
  // the head, some of which may have arrived before the client stopped reading).
  let received = exchange.text.length - (exchange.text.indexOf('\r\n\r\n') + 4);
  let tail = exchange.text.slice(-7);
  exchange.socket.removeAllListeners('data');
  exchange.socket.on('data', (d) => {
    received += d.length;
    tail = (tail + d.toString('latin1')).slice(-7);
  });
  exchange.socket.resume();
  await waitFor(() => tail === '\r\n0\r\n\r\n', { timeoutMs: 60000, what: 'the whole body' });
  assert.ok(received > 100 * 1024 * 1024, `${received} bytes of body and framing`);
  exchange.socket.destroy();
});

test('a chunk made after a write goes out after the write is durable', async () => {
  const exchange = rawRequest(server.port, '/_do/stream-probe/gate/after-put');
  await exchange.waitFor(/after 1\n/);
  await exchange.waitFor(/\r\n0\r\n\r\n/);
  exchange.socket.destroy();
  assert.deepEqual(await server.json('/_do/stream-probe/gate/n'), { n: 1 });
});

test('a chunk made after a write that never becomes durable is never sent', async () => {
  // The failing disk of tests/security/flush_failure.test.mjs: fsync fails while a flag exists.
  const { server: failing, failFlag: flag } = await startServerWithFailingDisk({ flags: ['--threads', '1'] });
  try {
    await failing.deploy(fixture('stream_probe.js'));
    const exchange = rawRequest(failing.port, '/_do/stream-probe/g/after-put');
    await exchange.waitFor(/before\n/);
    fs.writeFileSync(flag, '');
    await exchange.waitClosed();
    assert.doesNotMatch(exchange.text, /after/, 'a chunk built on a write that failed was sent');
    assert.ok(!exchange.text.endsWith(LAST_CHUNK));
    fs.unlinkSync(flag);
  } finally {
    if (fs.existsSync(flag)) fs.unlinkSync(flag);
    await failing.stop();
  }
});
