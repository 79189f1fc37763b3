// Alarms: setAlarm/getAlarm/deleteAlarm with Cloudflare's errors, the handler's alarmInfo and
// getAlarm() inside it, retries with backoff, transactions, deleteAll, and alarms that survive
// restarts (1,000 objects, each firing exactly once).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';

// Short retry delays (20, 40, 80... ms) keep the retry tests fast; the schedule's shape is the
// same as with the default 2 s.
const FLAGS = ['--alarm-retry-base-ms', '20'];
let server;

before(async () => {
  server = await startServer({ flags: FLAGS });
  await server.deploy(fixture('alarm_probe.js'));
  await server.deploy(fixture('no_alarm_handler.js'));
});

after(async () => {
  await server?.stop();
});

const probe = (id, rest = '') => server.json(`/_do/alarm-probe/${id}/${rest}`);

test('an alarm fires once with {retryCount: 0, isRetry: false}, reads as null inside, and is deleted', async () => {
  const set = await probe('basic', 'set?in=150');
  assert.equal(typeof set.alarm, 'number');
  assert.ok(set.alarm > Date.now() - 1000);
  await waitFor(async () => (await probe('basic')).calls.length === 1, { what: 'the alarm to fire' });
  await sleep(300);
  const state = await probe('basic');
  assert.deepEqual(state.calls, [{ retryCount: 0, isRetry: false, during: null }]);
  assert.equal(state.alarm, null);
});

test('setAlarm accepts a Date; deleteAlarm cancels', async () => {
  const set = await probe('dated', 'set-date');
  assert.ok(set.alarm > Date.now() + 50000);
  assert.deepEqual(await probe('dated', 'delete'), { alarm: null });
  const cancelled = await probe('cancel', 'set?in=200');
  assert.equal(typeof cancelled.alarm, 'number');
  await probe('cancel', 'delete');
  await sleep(600);
  assert.deepEqual((await probe('cancel')).calls, []);
});

test('setAlarm with a time <= 0 is a TypeError', async () => {
  for (const t of [0, -5]) {
    const r = await probe('bad', `set-bad?t=${t}`);
    assert.equal(r.threw, true);
    assert.equal(r.name, 'TypeError');
    assert.equal(r.message, 'setAlarm() cannot be called with an alarm time <= 0');
  }
});

test('a class without alarm() cannot set one', async () => {
  const r = await server.json('/_do/no-alarm-handler/x/');
  assert.equal(r.threw, true);
  assert.equal(r.name, 'TypeError');
  assert.equal(r.message, 'Your Durable Object class must have an alarm() handler in order to call setAlarm()');
});

test('a throwing handler is retried 6 times with growing retryCount, then dropped', async () => {
  await probe('throws', 'set?in=50&mode=throw');
  await waitFor(async () => (await probe('throws')).calls.length >= 7, { what: '7 alarm calls', timeoutMs: 15000 });
  await sleep(1500);
  const state = await probe('throws');
  assert.deepEqual(state.calls.map((c) => c.retryCount), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(state.calls.map((c) => c.isRetry), [false, true, true, true, true, true, true]);
  assert.equal(state.alarm, null, 'the alarm is deleted after the last retry');
});

test('a handler that sets a new alarm sees it, and it fires too', async () => {
  await probe('again', 'set?in=50&mode=again');
  await waitFor(async () => (await probe('again')).calls.length === 2, { what: 'two alarm calls' });
  const state = await probe('again');
  assert.equal(state.calls[0].during, null);
  assert.equal(typeof state.calls[0].after, 'number', 'getAlarm() inside the handler shows the new alarm');
  assert.equal(state.calls[1].retryCount, 0);
  await sleep(300);
  assert.equal((await probe('again')).calls.length, 2);
});

test('an alarm set in a rolled-back transaction does not exist', async () => {
  assert.deepEqual(await probe('txn', 'rollback'), { alarm: null });
});

test('deleteAll() deletes the alarm', async () => {
  assert.deepEqual(await probe('wipe', 'delete-all'), { alarm: null });
});

test('alarms on 1,000 objects survive a restart and fire exactly once; throwing ones are retried', async () => {
  const restartServer = await startServer({ flags: FLAGS });
  try {
    await restartServer.deploy(fixture('alarm_probe.js'));
    const ids = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    const throwing = ids.slice(0, 10);
    // All due at one time, late enough that the server is restarted before any fires (a
    // sanitized build, or a loaded machine, sets them several times slower): a retry chain cut
    // by the restart would start again from retryCount 0 and the counts below would not mean
    // what they say.
    const due = Date.now() + (process.env.DORM_SANITIZED ? 25000 : 15000);
    const queue = [...ids];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        const mode = throwing.includes(id) ? 'throw' : 'ok';
        await restartServer.json(`/_do/alarm-probe/${id}/set?in=${due - Date.now()}&mode=${mode}`);
      }
    }));
    await restartServer.stop();
    assert.ok(Date.now() < due - 500, `setting 1,000 alarms took until ${Date.now() - due} ms after they were due`);
    const again = await restartServer.restart();
    try {
      const read = async (id) => again.json(`/_do/alarm-probe/${id}/`);
      await waitFor(async () => {
        for (const id of [ids[999], ids[500], ids[20]]) if ((await read(id)).calls.length === 0) return false;
        return true;
      }, { what: 'the alarms after the restart', timeoutMs: 60000 });
      await waitFor(async () => (await read(throwing[0])).calls.length >= 7, { what: 'retries', timeoutMs: 20000 });
      await sleep(1500);
      const wrong = [];
      for (const id of ids) {
        const state = await read(id);
        const expected = throwing.includes(id) ? 7 : 1;
        if (state.calls.length !== expected || state.alarm !== null) wrong.push(`${id}: ${state.calls.length} calls, alarm ${state.alarm}`);
      }
      assert.deepEqual(wrong, [], 'every alarm fired the expected number of times');
    } finally {
      await again.stop();
    }
  } finally {
    if (!restartServer.exitInfo) await restartServer.stop();
  }
});
