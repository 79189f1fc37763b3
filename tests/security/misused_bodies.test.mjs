// Responses and pipe streams misused by tenant code get workerd's errors, never a wrong answer or
// a request that hangs:
// - `new Response(null, {status: 200, webSocket})` and `{webSocket: {}}` were accepted; the
//   server then answered the client's WebSocket upgrade with 503 "The server is shutting down.".
// - A chunk whose buffer was detached between `writer.write()` and the pipe taking it failed only
//   the writer of a CompressionStream, DecompressionStream, IdentityTransformStream or
//   FixedLengthStream: its reader, and the response made of it, waited forever.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';
import { WsClient } from '../e2e/lib/ws.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(path.join(here, 'fixtures', 'misused_bodies.js'), { name: 'misused-bodies' });
});

after(async () => {
  await server?.stop();
});

test("a Response's webSocket member is checked as workerd checks it", async () => {
  const res = await server.request('/_do/misused-bodies/a/websocket-errors');
  assert.equal(res.status, 200, res.text);
  // workerd's answers (bench/node_modules/workerd, compatibility date 2025-06-01).
  assert.deepEqual(res.json(), [
    'RangeError: Responses with a WebSocket must have status code 101.',
    'RangeError: Responses with a WebSocket must have status code 101.',
    "TypeError: Incorrect type for the 'webSocket' field on 'InitializerDict': the provided value is not of type 'WebSocket'.",
    "TypeError: Incorrect type for the 'webSocket' field on 'InitializerDict': the provided value is not of type 'WebSocket'.",
    'TypeError: Response with null body status (101, 204, 205, or 304) cannot have a body.',
    'RangeError: Responses with a WebSocket must have status code 101.',
    'RangeError: Responses may only be constructed with status codes in the range 200 to 599, inclusive.',
    '101',
  ]);
});

test('an upgrade answered with a WebSocket and another status gets the error, not "shutting down"', async () => {
  for (const status of [200, 204]) {
    const error = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/misused-bodies/a/websocket-status?status=${status}`)
      .then((client) => { client.terminate(); return null; }, (e) => e);
    assert.ok(error, `status ${status}: the upgrade succeeded`);
    assert.equal(error.status, 500, `status ${status}: ${error.status} ${error.body}`);
    assert.equal(JSON.parse(error.body).error, 'Responses with a WebSocket must have status code 101.');
  }
  // The object and the server go on.
  const client = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/misused-bodies/a/websocket-status?status=101`);
  client.terminate();
});

test("a pipe whose chunk's buffer is detached fails its reader instead of hanging", async () => {
  const res = await server.request('/_do/misused-bodies/a/detached');
  assert.equal(res.status, 200, res.text);
  const detached = 'TypeError: Cannot perform Construct on a detached ArrayBuffer';
  for (const [name, result] of Object.entries(res.json())) {
    assert.ok(Array.isArray(result), `${name}: ${result}`);
    const [wrote, closed, read] = result;
    assert.equal(wrote, detached, name);
    assert.equal(closed, detached, name);
    assert.equal(read, detached, name);
  }
  assert.deepEqual(Object.keys(res.json()), ['compression', 'decompression', 'identity', 'fixed']);
});
