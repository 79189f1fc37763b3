// A tenant whose requests burn CPU up to the limit (issue 10, item 12) held every event-loop
// thread at once: two such requests stopped the server for every app for as long as the CPU limit
// allowed. Now one app's long turns hold at most half the threads (--long-turn-threads); while it
// holds them, its other events wait and the remaining threads keep serving the other apps. A turn
// cannot be preempted, so objects of other apps placed on a held thread still wait for the turn
// running there: at most one CPU limit, instead of one per request queued before theirs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const CPU_LIMIT_MS = 3000;
const BURNERS = 6;
const VICTIMS = 12;

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2', '--cpu-limit-ms', String(CPU_LIMIT_MS)] });
  await server.deploy(fixture('runaway.js'), { app: 'runaway', name: 'runaway' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const runaway = (p) =>
  server.request(`/_do/runaway${p}`, { headers: { host: `runaway.localhost:${server.port}` }, timeoutMs: 120000 });
const victim = (p) =>
  server.request(p, { headers: { host: `victim.localhost:${server.port}` }, timeoutMs: 120000 });

async function timedVictimRead(id) {
  const started = Date.now();
  const res = await victim(`/_do/vault/${id}/read`);
  return { id, status: res.status, ms: Date.now() - started };
}

for (const [label, route] of [['in their first turn', 'spin'], ['after awaiting a flush', 'sync-spin']]) {
  test(`requests of one app burning CPU ${label} leave a thread to the others; victims wait at most one CPU limit`, { timeout: 180000 }, async () => {
    const victimIds = Array.from({ length: VICTIMS }, (_, i) => `v${i}`);
    // The victims' objects are live on both threads before the attack.
    for (const id of victimIds) assert.equal((await victim(`/_do/vault/${id}/read`)).status, 200);
    // One long turn marks the app as one whose turns may run long.
    assert.equal((await runaway(`/warm-${route}/spin?ms=200`)).status, 200);

    // Burners on objects spread over both threads, all at once: each runs to the CPU limit.
    const burners = Array.from({ length: BURNERS }, (_, i) => runaway(`/${route}-${i}/${route}`));
    await sleep(300);
    const reads = await Promise.all(victimIds.map(timedVictimRead));
    const results = await Promise.all(burners);

    for (const r of results) {
      assert.equal(r.status, 500, r.text);
      assert.match(r.json().error, /exceeded its CPU time limit/);
    }
    for (const r of reads) assert.equal(r.status, 200, `victim ${r.id}`);
    const latencies = reads.map((r) => r.ms).sort((a, b) => a - b);
    // Victims on the thread the tenant does not hold answer at once (without the limit, both
    // threads were held: none did).
    const prompt = latencies.filter((ms) => ms < 1000).length;
    assert.ok(prompt >= 2, `victims answered within 1 s: ${prompt} of ${VICTIMS}; latencies ${latencies}`);
    // The others wait for the one turn running on their thread, not for every burner queued there
    // before them (three per thread: ~3 CPU limits).
    const worst = latencies[latencies.length - 1];
    assert.ok(worst < 2 * CPU_LIMIT_MS, `worst victim latency ${worst} ms; latencies ${latencies}`);

    // The server is whole afterwards.
    assert.equal((await victim('/_do/vault/v0/read')).status, 200);
    assert.equal((await runaway(`/after-${route}/ticks`)).status, 200);
  });
}

// Objects not in memory are placed when their next event comes, away from a thread busy with a
// long turn (runtime::ObjectPlacement): during the attack, every victim that had to be loaded
// answers at once, whichever thread is its home.
test('victims not in memory during the attack are placed on the thread the tenant does not hold', { timeout: 180000 }, async (t) => {
  const victimIds = Array.from({ length: VICTIMS }, (_, i) => `cold-${i}`);
  assert.equal((await runaway('/warm-cold/spin?ms=200')).status, 200);
  const burners = Array.from({ length: BURNERS }, (_, i) => runaway(`/cold-spin-${i}/spin`));
  await sleep(300);
  const reads = await Promise.all(victimIds.map(timedVictimRead));
  const results = await Promise.all(burners);
  for (const r of results) assert.equal(r.status, 500, r.text);
  for (const r of reads) assert.equal(r.status, 200, `victim ${r.id}`);
  const latencies = reads.map((r) => r.ms).sort((a, b) => a - b);
  // Before placement, the half of them whose home thread was held waited for the turn there (one
  // CPU limit, 3 s).
  t.diagnostic(`victim latencies (ms): ${latencies}`);
  const worst = latencies[latencies.length - 1];
  assert.ok(worst < 1000, `worst victim latency ${worst} ms; latencies ${latencies}`);
  // They stay where they were placed, and answer there afterwards.
  for (const id of victimIds) assert.equal((await victim(`/_do/vault/${id}/read`)).status, 200);
});
