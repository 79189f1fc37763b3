// The input gate: events of one object run one at a time; a storage await does not let other
// events in, a timer await does; blockConcurrencyWhile() holds everything back until it is done,
// also when called from the constructor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep } from './lib/dorm.mjs';

let server;

before(async () => {
  // Several threads, so that a missing per-object lock could show up as overlapping events.
  server = await startServer({ flags: ['--threads', '4'] });
  await server.deploy(fixture('gate_probe.js'));
  await server.deploy(fixture('ctor_block.js'));
});

after(async () => {
  await server?.stop();
});

test('concurrent read-modify-write across storage awaits loses no update', async () => {
  const N = 40;
  const results = await Promise.all(
    Array.from({ length: N }, () => server.json('/_do/gate-probe/rmw/incr')),
  );
  assert.deepEqual(
    results.map((r) => r.n).sort((a, b) => a - b),
    Array.from({ length: N }, (_, i) => i + 1),
    'each increment should see the previous one',
  );
  assert.deepEqual(await server.json('/_do/gate-probe/rmw/count'), { n: N, maxActive: 1 });
});

test('synchronous sections of one object never overlap, even with --threads 4', async () => {
  const results = await Promise.all(
    Array.from({ length: 30 }, () => server.json('/_do/gate-probe/excl/exclusive')),
  );
  assert.equal(Math.max(...results.map((r) => r.overlaps)), 0);
});

test('awaiting a timer lets another request in: B completes while A waits', async () => {
  let aDone = false;
  const a = server.json('/_do/gate-probe/timer/timer-wait?ms=1500').then((r) => {
    aDone = true;
    return r;
  });
  // Send B until it observes that A has started (A sets the flag before its timer).
  let sawA = false;
  const deadline = Date.now() + 10000;
  while (!sawA && Date.now() < deadline) {
    const b = await server.json('/_do/gate-probe/timer/mark');
    if (b.seen === 'A') {
      sawA = true;
      assert.equal(aDone, false, 'B should complete while A is still waiting on its timer');
    } else {
      await sleep(20);
    }
  }
  assert.ok(sawA, 'no request B ever ran while A was waiting on its timer');
  assert.deepEqual(await a, { flagAfter: 'B' }, 'A should observe the state B left behind');
});

test('blockConcurrencyWhile() holds other requests back until its callback is done', async () => {
  const a = server.json('/_do/gate-probe/bcw/block?ms=1000');
  const deadline = Date.now() + 15000;
  let phase = null;
  // Until A has started, the probe reports null; once A started, a probe may only run after the
  // callback completed, so it can never see "blocking".
  while (phase === null && Date.now() < deadline) {
    phase = (await server.json('/_do/gate-probe/bcw/phase')).phase;
    if (phase === null) await sleep(20);
  }
  assert.equal(phase, 'done', 'a request ran while blockConcurrencyWhile was in progress');
  assert.deepEqual(await a, { phase: 'done' });
});

test('blockConcurrencyWhile() in the constructor runs before any fetch', async () => {
  const results = await Promise.all(
    Array.from({ length: 5 }, () => server.json('/_do/ctor-block/fresh')),
  );
  for (const r of results) assert.deepEqual(r, { ready: true, boots: 0 });
});
