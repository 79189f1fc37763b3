// Bad input gets a clear error and the server keeps running: malformed requests (400), oversized
// headers (431), bodies over the limit (413), unknown classes and routes (404).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, rawExchange, RawConnection, sleep, assertServerError } from './lib/dorm.mjs';

const BODY_LIMIT = 65536;
let server;

before(async () => {
  server = await startServer({ flags: ['--max-body-bytes', String(BODY_LIMIT)] });
  await server.deploy(fixture('echo.js'));
});

after(async () => {
  await server?.stop();
});

async function assertStillServing() {
  const res = await server.request('/_do/echo/alive?tag=alive');
  assert.equal(res.status, 200, `server should still serve after bad input: ${res.text}`);
  assert.equal(res.json().tag, 'alive');
}

const malformed = [
  ['request line without an HTTP version', 'GARBAGE\r\n\r\n'],
  ['method with characters not allowed in a token', 'G@T /_do/echo/x HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['header line without a colon', 'GET /_do/echo/x HTTP/1.1\r\nHost: a\r\nThis is not a header\r\n\r\n'],
  ['non-numeric Content-Length', 'POST /_do/echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n'],
  ['negative Content-Length', 'POST /_do/echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n'],
  [
    // RFC 9112 §6.3: differing Content-Length values are an unrecoverable error.
    'two different Content-Length headers',
    'POST /_do/echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde',
  ],
  [
    'invalid chunk size in a chunked body',
    'POST /_do/echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  ],
];

for (const [what, payload] of malformed) {
  test(`malformed request (${what}) → 400 JSON error, server keeps running`, async () => {
    const [res] = await rawExchange(server.port, payload);
    assertServerError(assert, res, 400);
    await assertStillServing();
  });
}

test('HTTP/1.1 request without a Host header → 400', async () => {
  // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request that lacks Host.
  const [res] = await rawExchange(server.port, 'GET /_do/echo/x HTTP/1.1\r\n\r\n');
  assertServerError(assert, res, 400);
  await assertStillServing();
});

test('one oversized header → 431 JSON error, server keeps running', async () => {
  const payload = `GET /_do/echo/x HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(128 * 1024)}\r\n\r\n`;
  const [res] = await rawExchange(server.port, payload);
  assertServerError(assert, res, 431);
  await assertStillServing();
});

test('too many headers in total → 431 JSON error, server keeps running', async () => {
  let headers = '';
  for (let i = 0; i < 2000; i++) headers += `X-Filler-${i}: ${'b'.repeat(50)}\r\n`;
  const [res] = await rawExchange(server.port, `GET /_do/echo/x HTTP/1.1\r\nHost: a\r\n${headers}\r\n`);
  assertServerError(assert, res, 431);
  await assertStillServing();
});

test('body at the --max-body-bytes limit reaches the object', async () => {
  const body = 'x'.repeat(BODY_LIMIT);
  const payload = `POST /_do/echo/size?op=size HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const [res] = await rawExchange(server.port, payload);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { bytes: BODY_LIMIT });
});

test('body over --max-body-bytes (Content-Length) → 413 JSON error, server keeps running', async () => {
  const body = 'x'.repeat(BODY_LIMIT + 1);
  const payload = `POST /_do/echo/size?op=size HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const [res] = await rawExchange(server.port, payload);
  assertServerError(assert, res, 413);
  await assertStillServing();
});

test('chunked body over --max-body-bytes → 413 JSON error, server keeps running', async () => {
  const chunk = 'y'.repeat(40000);
  const size = chunk.length.toString(16);
  const payload =
    'POST /_do/echo/size?op=size HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${size}\r\n${chunk}\r\n${size}\r\n${chunk}\r\n0\r\n\r\n`;
  const [res] = await rawExchange(server.port, payload);
  assertServerError(assert, res, 413);
  await assertStillServing();
});

test('default body limit (100 MB): a larger Content-Length is refused before any body is sent', async () => {
  const defaults = await startServer();
  try {
    await defaults.deploy(fixture('echo.js'));
    // Only the headers are sent: the server must answer from Content-Length alone rather than
    // wait for (or buffer) 100 MB.
    const payload = `POST /_do/echo/x?op=size HTTP/1.1\r\nHost: a\r\nContent-Length: ${100 * 1024 * 1024 + 1}\r\n\r\n`;
    const [res] = await rawExchange(defaults.port, payload, { timeoutMs: 15000 });
    assertServerError(assert, res, 413);
    const ok = await defaults.request('/_do/echo/after?tag=after');
    assert.equal(ok.status, 200);
  } finally {
    await defaults.stop();
  }
});

test('unknown class → 404 with JSON {"error": ...}', async () => {
  const res = await server.request('/_do/no-such-class/some-id/path');
  assertServerError(assert, res, 404);
  const post = await server.request('/_do/no-such-class/x', { method: 'POST', body: 'data' });
  assertServerError(assert, post, 404);
  await assertStillServing();
});

test('unknown route → 404 with JSON error', async () => {
  assertServerError(assert, await server.request('/'), 404);
  assertServerError(assert, await server.request('/definitely/not/a/route'), 404);
  assertServerError(assert, await server.request('/_do'), [400, 404]);
  await assertStillServing();
});

test('a client that goes away mid-body or mid-request does not disturb the server', async () => {
  // Headers promise 1000 bytes, 10 arrive, then the client disconnects.
  const partial = await RawConnection.open(server.port);
  await partial.write('POST /_do/echo/gone?op=size HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789');
  await sleep(100);
  partial.close();

  // The object is still working on the request when the client disconnects.
  const impatient = await RawConnection.open(server.port);
  await impatient.write('GET /_do/echo/gone/slow?op=delay&ms=300 HTTP/1.1\r\nHost: a\r\n\r\n');
  await sleep(50);
  impatient.close();
  await sleep(500);

  // Half a request line, then gone.
  const truncated = await RawConnection.open(server.port);
  await truncated.write('GET /_do/ech');
  truncated.close();

  await assertStillServing();
  assert.equal((await server.json('/_do/echo/gone?tag=after')).tag, 'after', 'the same object still answers');
});
