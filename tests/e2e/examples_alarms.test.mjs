// The Cloudflare skill's Batcher (flushes from an alarm) and rate limiter from examples/, and
// ctx.abort().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, fixture, waitFor, EXAMPLES_DIR } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(path.join(EXAMPLES_DIR, 'batcher.ts'));
  await server.deploy(path.join(EXAMPLES_DIR, 'rate-limiter.ts'));
  await server.deploy(fixture('abort_probe.js'));
});

after(async () => {
  await server?.stop();
});

test('the Batcher buffers items and its alarm flushes them after 10 s', async () => {
  for (const item of ['apple', 'pear', 'plum']) {
    assert.equal((await server.request('/_do/batcher/b1', { method: 'POST', body: item })).status, 200);
  }
  const before = await server.json('/_do/batcher/b1');
  assert.deepEqual(before.buffer, ['apple', 'pear', 'plum']);
  assert.equal(typeof before.alarm, 'number');
  await waitFor(async () => (await server.json('/_do/batcher/b1')).flushed.length === 1,
    { what: 'the batch to be flushed', timeoutMs: 20000, intervalMs: 250 });
  const after = await server.json('/_do/batcher/b1');
  assert.deepEqual(after, { buffer: [], flushed: [['apple', 'pear', 'plum']], alarm: null });
});

test('the rate limiter allows `limit` requests per window, per user', async () => {
  const statuses = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await server.request('/_do/rate-limiter/api/?user=alice&limit=3&window=60000')).status);
  }
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.equal((await server.request('/_do/rate-limiter/api/?user=bob&limit=3&window=60000')).status, 200);
});

test('ctx.abort(reason) fails the request with the reason, drops its writes and resets the object', async () => {
  await server.json('/_do/abort-probe/a/keep');
  const first = await server.json('/_do/abort-probe/a/');
  const res = await server.request('/_do/abort-probe/a/abort?reason=stop%20now');
  assert.equal(res.status, 500);
  assert.match(res.text, /stop now/);
  const after = await server.json('/_do/abort-probe/a/');
  assert.equal(after.kept, 1);
  assert.equal(after.lost, null, 'the write made before abort() was discarded');
  assert.notEqual(after.constructedAt, first.constructedAt, 'a fresh instance');
  const dflt = await server.request('/_do/abort-probe/b/abort');
  assert.match(dflt.text, /Application called abort\(\) to reset Durable Object\./);
});
