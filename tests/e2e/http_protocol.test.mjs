// HTTP/1.1 connection handling: keep-alive, pipelining (several requests in one TCP write get
// their responses in order), and Connection: close.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, RawConnection, rawExchange } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('echo.js'));
});

after(async () => {
  await server?.stop();
});

function get(path) {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}

test('keep-alive: sequential requests on one connection', async () => {
  const conn = await RawConnection.open(server.port);
  try {
    for (const tag of ['first', 'second', 'third']) {
      await conn.write(get(`/_do/echo/ka/x?tag=${tag}`));
      const res = await conn.readResponse();
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().tag, tag);
      assert.equal(conn.ended, false, 'server closed a keep-alive connection after a response');
    }
    // The three requests went to the same object over the same connection.
    assert.equal(conn.error, null);
  } finally {
    conn.close();
  }
});

// RFC 9110: no Content-Length on 1xx and 204; on a 304 it would claim an empty representation.
// workerd sends neither; a 205 or 200 without a body says Content-Length: 0. Pipelined, so that a
// framing header out of place would shift the next response.
test('responses without a body: no Content-Length on 204 and 304, 0 on 205 and 200', async () => {
  const statuses = [204, 304, 205, 200];
  const responses = await rawExchange(
    server.port,
    statuses.map((s) => get(`/_do/echo/no-body/x?op=no-body&s=${s}`)).join(''),
    { count: statuses.length },
  );
  assert.deepEqual(
    responses.map((r) => [r.status, r.headers['x-tag'], r.headers['content-length'], r.headers['transfer-encoding'], r.body.length]),
    [
      [204, '204', undefined, undefined, 0],
      [304, '304', undefined, undefined, 0],
      [205, '205', '0', undefined, 0],
      [200, '200', '0', undefined, 0],
    ],
  );
});

// The runtime takes a response's headers as one list of arguments, or as one array when there are
// many: both reach the client whole and in order.
test('response headers reach the client in order, few or many', async () => {
  for (const n of [3, 1500]) {
    const [res] = await rawExchange(server.port, get(`/_do/echo/many/x?op=many-headers&n=${n}`));
    assert.equal(res.status, 200);
    // The parsed head keeps the order in which names first came.
    const names = Object.keys(res.headers).filter((name) => name.startsWith('x-h'))
      .map((name) => `${name}=${res.headers[name]}`);
    assert.deepEqual(names, Array.from({ length: n }, (_, i) => `x-h${i}=${i}`));
  }
});

test('pipelining: two requests in one write get two responses in order', async () => {
  const responses = await rawExchange(
    server.port,
    get('/_do/echo/pipe-same/a?tag=one') + get('/_do/echo/pipe-same/b?tag=two'),
    { count: 2 },
  );
  assert.deepEqual(
    responses.map((r) => [r.status, r.json().tag]),
    [
      [200, 'one'],
      [200, 'two'],
    ],
  );
});

test('pipelining: order holds even when the first request is the slowest, bodies stay framed', async () => {
  const body = 'second-body';
  const payload =
    // Slow: waits 500 ms in the object before answering.
    get('/_do/echo/pipe-a/one?op=delay&ms=500&tag=first') +
    `POST /_do/echo/pipe-b/two?tag=second HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
    get('/_do/echo/pipe-c/three?tag=third');
  const responses = await rawExchange(server.port, payload, { count: 3 });
  const seen = responses.map((r) => ({ status: r.status, ...r.json() }));
  assert.deepEqual(
    seen.map((r) => [r.status, r.tag, r.method, r.body]),
    [
      [200, 'first', 'GET', null],
      [200, 'second', 'POST', 'second-body'],
      [200, 'third', 'GET', null],
    ],
  );
});

test('pipelining: an error response does not break the requests behind it', async () => {
  const responses = await rawExchange(
    server.port,
    get('/_do/no-such-class/x') + get('/_do/echo/pipe-d/x?tag=after-error'),
    { count: 2 },
  );
  assert.equal(responses[0].status, 404);
  assert.equal(responses[1].status, 200);
  assert.equal(responses[1].json().tag, 'after-error');
});

test('Connection: close → the server closes after the response', async () => {
  const conn = await RawConnection.open(server.port);
  try {
    await conn.write('GET /_do/echo/cc/x?tag=close HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const res = await conn.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.json().tag, 'close');
    assert.equal(await conn.waitClosed(10000), true, 'connection should be closed by the server');
  } finally {
    conn.close();
  }
});

test('pipelining: fifty requests in one write, fifty responses in order', async () => {
  let payload = '';
  for (let i = 0; i < 50; i++) payload += get(`/_do/echo/pipe-${i % 5}/x?tag=${i}`);
  const responses = await rawExchange(server.port, payload, { count: 50, timeoutMs: 30000 });
  assert.deepEqual(
    responses.map((r) => r.json().tag),
    Array.from({ length: 50 }, (_, i) => String(i)),
  );
});

test('a chunked request body reaches the object decoded', async () => {
  const payload =
    'POST /_do/echo/chunked/x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
  const [res] = await rawExchange(server.port, payload);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().body, 'hello world');
});

test('a 10 MB request body reaches the object intact', async () => {
  const body = Buffer.alloc(10 * 1024 * 1024, 'z');
  const res = await server.request('/_do/echo/big-body?op=size', { method: 'POST', body, timeoutMs: 60000 });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { bytes: body.length });
});
