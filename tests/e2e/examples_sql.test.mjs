// The Cloudflare skill's SQL examples: the session store (TTL + hourly cleanup alarm) and the
// leader election on a SQL primary key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, sleep, EXAMPLES_DIR } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(path.join(EXAMPLES_DIR, 'session-store.ts'));
  await server.deploy(path.join(EXAMPLES_DIR, 'leader-election.ts'));
});

after(async () => {
  await server?.stop();
});

test('the session store keeps values, expires them in its cleanup and schedules the next one', async () => {
  const put = (key, value, ttl) => server.json(`/_do/session-store/s1/${key}${ttl ? `?ttl=${ttl}` : ''}`,
    { method: 'PUT', body: JSON.stringify(value) });
  await put('alice', { role: 'admin' });
  await put('short', { temp: true }, 50);
  assert.deepEqual(await server.json('/_do/session-store/s1/alice'), { key: 'alice', value: { role: 'admin' } });
  assert.deepEqual(await server.json('/_do/session-store/s1/short'), { key: 'short', value: { temp: true } });
  await sleep(120);
  const cleanup = await server.json('/_do/session-store/s1/cleanup', { method: 'POST' });
  assert.ok(cleanup.nextCleanup > Date.now() + 3500000, 'the next cleanup is an hour away');
  assert.deepEqual(await server.json('/_do/session-store/s1/short'), { key: 'short', value: null });
  assert.deepEqual(await server.json('/_do/session-store/s1/alice'), { key: 'alice', value: { role: 'admin' } });
});

test('the first worker becomes leader; every later one is refused', async () => {
  const elect = (worker) => server.json(`/_do/leader-election/cluster/?worker=${worker}`, { method: 'POST' });
  const results = await Promise.all(['w1', 'w2', 'w3', 'w4'].map(elect));
  const leaders = results.filter((r) => r.leader).map((r) => r.worker);
  assert.equal(leaders.length, 1, `exactly one leader: ${JSON.stringify(results)}`);
  assert.deepEqual(await server.json('/_do/leader-election/cluster/'), { leader: leaders[0] });
  assert.deepEqual(await elect('w5'), { worker: 'w5', leader: false });
  assert.deepEqual(await server.json('/_do/leader-election/other/'), { leader: null });
});
