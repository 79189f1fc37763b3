// Alarms outlive the instance that set them: an alarm set by one version of a class fires on the
// handler of the version deployed since, and an alarm of an object evicted for idleness, or
// hibernated with an open WebSocket, wakes a fresh instance. (Restarts: alarms.test.mjs.)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

let server;

before(async () => {
  // Objects idle for a second are evicted (half a second when only hibernatable WebSockets are
  // open), unless their alarm is due within 10 s: an alarm 12 s away meets no live instance.
  server = await startServer({ flags: ['--idle-evict-seconds', '1', '--hibernate-after-ms', '500'] });
  await server.deploy(fixture('alarm_versioned_v1.js'), { name: 'alarm-versioned' });
  await server.deploy(fixture('alarm_hibernation.js'));
});

after(async () => {
  await server?.stop();
});

const probe = (id, rest = '') => server.json(`/_do/alarm-versioned/${id}/${rest}`);

// Waits without touching the object (a request would load it) until `time_ms` has passed.
async function waitPast(timeMs) {
  while (Date.now() < timeMs) await sleep(Math.min(200, timeMs - Date.now() + 1));
}

test('an alarm set by version 1 fires once, on version 2 after a redeploy', async () => {
  const set = await probe('redeploy', 'set?in=6000');
  assert.equal(set.version, 1);
  await server.deploy(fixture('alarm_versioned_v2.js'), { name: 'alarm-versioned' });
  assert.ok(Date.now() < set.alarm, 'the redeploy finished before the alarm was due');
  await waitPast(set.alarm + 500);
  const state = await waitFor(async () => {
    const s = await probe('redeploy');
    return s.calls.length > 0 ? s : null;
  }, { what: 'the alarm to fire', timeoutMs: 20000 });
  assert.equal(state.version, 2);
  assert.deepEqual(state.calls.map((c) => [c.version, c.retryCount]), [[2, 0]]);
  assert.equal(state.alarm, null, 'the alarm is deleted once it ran');
  await sleep(500);
  assert.equal((await probe('redeploy')).calls.length, 1, 'it fired exactly once');
});

// Each of these waits 12 s for its alarm, on objects of their own: they wait together. (The
// redeploy above resets every object of the app, so it runs first.)
describe('alarms of instances no longer in memory', { concurrency: true }, () => {
  test('an alarm wakes an object evicted for idleness, on a fresh instance', async () => {
    // Due after the 10 s before its time during which an object with an alarm stays loaded.
    const set = await probe('evicted', 'set?in=12000');
    await waitPast(set.alarm + 500);
    const state = await waitFor(async () => {
      const s = await probe('evicted');
      return s.calls.length > 0 ? s : null;
    }, { what: 'the alarm to fire', timeoutMs: 20000 });
    assert.equal(state.calls.length, 1);
    assert.notEqual(state.calls[0].instance, set.instance, 'the instance that set the alarm was evicted');
    assert.equal(state.calls[0].retryCount, 0);
    assert.equal(state.alarm, null);
    await sleep(500);
    assert.equal((await probe('evicted')).calls.length, 1, 'it fired exactly once');
  });

  test('an alarm wakes a hibernated object, which reaches its open WebSocket', async () => {
    const ws = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/alarm-hibernation/h/?in=12000`);
    try {
      ws.send('who');
      const who = JSON.parse(await ws.next((d) => JSON.parse(d).kind === 'who'));
      assert.equal(typeof who.alarm, 'number');
      const fired = JSON.parse(await ws.next((d) => JSON.parse(d).kind === 'alarm',
        { timeoutMs: 40000, what: 'the alarm message' }));
      assert.notEqual(fired.instance, who.instance, 'the object hibernated before its alarm woke it');
      assert.ok(Date.now() >= who.alarm, 'not before its time');
    } finally {
      ws.ws.close();
    }
  });
});
