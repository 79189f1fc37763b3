// EventSource against a local upstream: events as they come (named ones through
// addEventListener), reconnection after the server disconnects with the stream's retry time and
// Last-Event-ID, the request's Accept and Cache-Control, and the errors that close it (a non-2xx
// status, a content type other than text/event-stream). Parsing edge cases: tests/prelude.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, fixture } from './lib/dorm.mjs';

const ALLOWED_HOST = '127.0.0.2';
const APP = 'sse';
let upstream;
let server;
const requests = [];

before(async () => {
  upstream = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push({ path: url.pathname, headers: req.headers, at: Date.now() });
    if (url.pathname === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      if (req.headers['last-event-id'] === undefined) {
        // The first connection: an event, then the server goes away.
        res.end('retry: 1200\nid: 41\ndata: first\n\n');
      } else {
        res.write(': resumed\nevent: update\nid: 42\ndata: second\ndata: lines\n\n');
      }
    } else if (url.pathname === '/missing') {
      res.writeHead(404, { 'content-type': 'text/event-stream' });
      res.end();
    } else if (url.pathname === '/plain') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('data: x\n\n');
    }
  });
  await new Promise((resolve) => upstream.listen(0, ALLOWED_HOST, resolve));
  server = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST] });
  await server.deploy(fixture('outbound/event_reader.js'), { app: APP, name: 'events' });
});

after(async () => {
  await server?.stop();
  upstream?.closeAllConnections?.();
  await new Promise((resolve) => upstream.close(resolve));
});

const base = () => `http://${ALLOWED_HOST}:${upstream.address().port}`;

async function read(path, count = 1) {
  const url = encodeURIComponent(`${base()}${path}`);
  const res = await server.request(`/_do/events/x?url=${url}&count=${count}`, {
    headers: { host: `${APP}.localhost:${server.port}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json();
}

test('events arrive; after a disconnection it reconnects after retry: with Last-Event-ID', async () => {
  requests.length = 0;
  const got = await read('/stream', 2);
  const origin = base();
  assert.deepEqual(got, {
    events: [['message', 'first', '41', origin], ['update', 'second\nlines', '42', origin]],
    errors: [['Error', 'The server disconnected.', 0]],
    opens: 2,
    url: `${base()}/stream`,
    readyState: 2,
  });
  assert.equal(requests.length, 2);
  assert.equal(requests[0].headers.accept, 'text/event-stream');
  assert.equal(requests[0].headers['cache-control'], 'no-cache');
  assert.equal(requests[0].headers['last-event-id'], undefined);
  assert.equal(requests[1].headers['last-event-id'], '41');
  const waited = requests[1].at - requests[0].at;
  assert.ok(waited >= 1100 && waited < 5000, `reconnected after ${waited} ms`);
});

test('a non-2xx status or another content type closes it with workerd\'s AbortError', async () => {
  assert.deepEqual(await read('/missing'), {
    events: [], errors: [['AbortError', 'The response status code was 404.', 2]], opens: 0,
    url: `${base()}/missing`, readyState: 2,
  });
  assert.deepEqual(await read('/plain'), {
    events: [], errors: [['AbortError', "The content type 'text/plain' is invalid.", 2]], opens: 0,
    url: `${base()}/plain`, readyState: 2,
  });
});
