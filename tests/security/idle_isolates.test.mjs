// An app's isolate costs megabytes per runtime thread. Isolates of apps with no live object and
// no timer are disposed after the eviction period, so many idle apps do not pin memory forever;
// the next request creates the isolate again, with the app's storage intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep, waitFor } from '../e2e/lib/dorm.mjs';

const APPS = 8;

function isolateApps(metrics) {
  const apps = new Set();
  for (const line of metrics.split('\n')) {
    const m = /^dorm_isolate_heap_used_bytes\{[^}]*app="([^"]+)"/.exec(line);
    if (m) apps.add(m[1]);
  }
  return apps;
}

test('idle app isolates are disposed and come back on the next request', async () => {
  const server = await startServer({ flags: ['--threads', '1', '--idle-evict-seconds', '1'] });
  try {
    for (let i = 0; i < APPS; i++) await server.deploy(fixture('echo.js'), { app: `idle${i}` });
    const metrics = async () => {
      const res = await server.request('/_admin/metrics', { headers: { authorization: `Bearer ${server.adminToken()}` } });
      assert.equal(res.status, 200, res.text);
      return isolateApps(res.text);
    };
    // Each app's isolate is looked for right after its request: the first ones may be idle for
    // over a second by the time the last is asked (a slow or busy machine), and go.
    for (let i = 0; i < APPS; i++) {
      const res = await server.request(`/_do/echo/x/?op=put&k=k&v=v${i}`, { headers: { host: `idle${i}.localhost:${server.port}` } });
      assert.equal(res.status, 200, res.text);
      assert.ok((await metrics()).has(`idle${i}`), `isolate of idle${i} while in use`);
    }

    // Objects are evicted after 1 s idle, then their app's isolate after 1 s more.
    await waitFor(async () => {
      const now = await metrics();
      return [...Array(APPS).keys()].every((i) => !now.has(`idle${i}`));
    }, { timeoutMs: 20000, intervalMs: 250, what: 'idle isolates disposed' });

    for (let i = 0; i < APPS; i++) {
      const res = await server.request('/_do/echo/x/?op=get&k=k', { headers: { host: `idle${i}.localhost:${server.port}` } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), { value: `v${i}` });
      assert.ok((await metrics()).has(`idle${i}`), `the isolate of idle${i} is back`);
    }
    await sleep(10);
  } finally {
    await server.stop();
  }
});
