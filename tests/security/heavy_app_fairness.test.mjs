// An app whose turns ran long once is "heavy" for minutes, and its turns then hold at most half
// of the event-loop threads (cpu_tenant.test.mjs); a thread stays the app's for a linger (half a
// second) after each long turn there. An app with one object whose turns run long (or, on a
// loaded machine, turns that merely take long) renewed that linger without end, and its objects
// on the other threads starved: let in only in the instants between two of its turns, they got a
// handful of answers while the others had hundreds. Threads held back now take turns with the one
// holding the app (once they have waited 2 s), so every object of the app keeps being served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const OBJECTS = 8;
const LOOP_MS = 8000;

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('runaway.js'), { app: 'busy', name: 'runaway' });
  // A second app: the limit applies only while apps share the server.
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const busy = (p) =>
  server.request(`/_do/runaway${p}`, { headers: { host: `busy.localhost:${server.port}` }, timeoutMs: 60000 });
const victim = (p) =>
  server.request(p, { headers: { host: `victim.localhost:${server.port}` }, timeoutMs: 60000 });

test('every object of a heavy app keeps being served while its objects on one thread are busy without pause', { timeout: 120000 }, async (t) => {
  const ids = Array.from({ length: OBJECTS }, (_, i) => `loop-${i}`);
  // In memory before the app turns heavy, so that they stay on their home threads (a hash of the
  // id: with 8 objects, both threads have some).
  for (const id of ids) assert.equal((await busy(`/${id}/ticks`)).status, 200);
  // One long turn marks the app heavy.
  assert.equal((await busy('/warm/spin?ms=200')).status, 200);

  const counts = new Map(ids.map((id) => [id, 0]));
  const until = Date.now() + LOOP_MS;
  const loop = async (id) => {
    while (Date.now() < until) {
      // A little work per request, as a real app's would; one object's turns run long.
      const res = await busy(`/${id}/spin?ms=${id === ids[0] ? 60 : 1}`);
      assert.equal(res.status, 200, res.text);
      counts.set(id, counts.get(id) + 1);
    }
  };
  // Another app's reads meanwhile.
  const victimReads = (async () => {
    let n = 0;
    while (Date.now() < until) {
      assert.equal((await victim('/_do/vault/v/read')).status, 200);
      n++;
      await sleep(20);
    }
    return n;
  })();
  await Promise.all(ids.map(loop));
  const reads = await victimReads;

  const values = [...counts.values()];
  t.diagnostic(`answers per object in ${LOOP_MS} ms: ${values.join(', ')}; victim reads ${reads}`);
  // Before, the objects on the thread not holding the app answered once or twice in all.
  const quick = values.slice(1);
  const even = quick.reduce((a, b) => a + b, 0) / quick.length;
  for (const [id, n] of [...counts].slice(1)) {
    assert.ok(n >= 10 && n >= even / 10, `${id} answered ${n} times, an even share is ${even.toFixed(0)}: ${values}`);
  }
  assert.ok(values[0] >= 5, `the object with long turns answered ${values[0]} times`);
  assert.ok(reads > 0, 'the other app was served meanwhile');
});
