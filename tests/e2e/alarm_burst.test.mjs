// A burst of alarms, one per object, interrupted by kill -9. After the restart every alarm whose
// handler had not committed fires (again), every handler that committed left exactly its writes
// (its count and its record, committed with the deletion of its alarm, so never a second run), and
// alarms deleted before their time (deleteAlarm() acknowledged) never fire, before or after the
// crash. The alarms are set a few seconds ahead, so the server opens their objects' databases
// before they are due (AlarmScheduler's warming) and the crash also hits objects warmed but not yet
// fired. Whatever the server's speed, the kill lands inside the burst's window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, fixture, httpRequest, sleep, waitFor } from './lib/dorm.mjs';

const SANITIZED = Boolean(process.env.DORM_SANITIZED);
const OBJECTS = SANITIZED ? 600 : 2000;
const CANCELLED = SANITIZED ? 60 : 200;
// The alarms' times step by this much, so that the burst lasts OBJECTS * STEP_MS. The server is
// killed once one of the WATCHED earliest alarms is seen to have run, or two thirds of the way
// into the burst if none is seen by then: either way inside the burst, so that the alarms due
// later can only run after the restart, however fast or slow the server is.
const STEP_MS = SANITIZED ? 10 : 4;
const WATCHED = 20;

async function pool(total, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

test('kill -9 during a burst of alarms loses none and runs no committed handler twice', { timeout: SANITIZED ? 900000 : 300000 }, async (t) => {
  let server = await startServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const call = async (s, id, rest) => {
    const res = await httpRequest({ port: s.port, path: `/_do/alarm-burst/${id}/${rest}`, method: 'POST', agent, timeoutMs: 60000 });
    assert.equal(res.status, 200, `${id}/${rest}: ${res.text}`);
    return res.json();
  };
  const id = (i) => `o${i}`;
  const cid = (i) => `c${i}`;
  try {
    await server.deploy(fixture('alarm_burst.js'));

    // Every object exists (with an alarm far off) before the burst's times are chosen, so that
    // setting them takes about as long as this did.
    const far = Date.now() + 3600000;
    let started = Date.now();
    await pool(OBJECTS + CANCELLED, 32, (i) => call(server, i < OBJECTS ? id(i) : cid(i - OBJECTS), `set?at=${far}`));
    const setupMs = Date.now() - started;

    const start = Date.now() + Math.ceil(1.5 * setupMs) + 6000;
    const at = Array.from({ length: OBJECTS }, (_, i) => start + Math.floor(i * STEP_MS));
    // The cancelled alarms fall in the last part of the burst, well after their deletion.
    const cancelledAt = Array.from({ length: CANCELLED }, (_, i) => start + Math.floor(OBJECTS * STEP_MS) + 1000 + i);
    started = Date.now();
    await pool(OBJECTS + CANCELLED, 32, async (i) => {
      const when = i < OBJECTS ? at[i] : cancelledAt[i - OBJECTS];
      const r = await call(server, i < OBJECTS ? id(i) : cid(i - OBJECTS), `set?at=${when}`);
      assert.equal(r.alarm, when);
    });
    const deleteAcked = [];
    await pool(CANCELLED, 16, async (i) => {
      const r = await call(server, cid(i), 'delete');
      assert.equal(r.alarm, null);
      deleteAcked[i] = Date.now();
    });
    t.diagnostic(`objects set up in ${setupMs} ms; the burst starts ${start - Date.now()} ms from now`);

    const killBy = start + Math.floor((OBJECTS * STEP_MS * 2) / 3);
    await sleep(Math.max(0, start - Date.now()));
    for (let seen = false; !seen && Date.now() < killBy - 20; ) {
      const timeoutMs = Math.max(20, killBy - Date.now());
      const states = await Promise.all(Array.from({ length: WATCHED }, (_, i) =>
        httpRequest({ port: server.port, path: `/_do/alarm-burst/${id(i)}/state`, agent, timeoutMs }).catch(() => null)));
      seen = states.some((r) => r?.status === 200 && r.json().runs > 0);
      if (!seen) await sleep(5);
    }
    await server.kill9();
    const killedAt = Date.now();
    agent.destroy();

    server = await server.restart();
    const readAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
    const state = async (name) => {
      const res = await httpRequest({ port: server.port, path: `/_do/alarm-burst/${name}/state`, agent: readAgent, timeoutMs: 60000 });
      assert.equal(res.status, 200, `${name}/state: ${res.text}`);
      return res.json();
    };
    // Every alarm fires after the restart, if it had not before.
    const done = new Set();
    await waitFor(async () => {
      const pending = [];
      for (let i = 0; i < OBJECTS; i++) if (!done.has(i)) pending.push(i);
      await pool(pending.length, 16, async (k) => {
        const s = await state(id(pending[k]));
        if (s.runs > 0 && s.alarm === null) done.add(pending[k]);
      });
      return done.size === OBJECTS;
    }, { timeoutMs: SANITIZED ? 600000 : 180000, intervalMs: 500, what: 'every alarm to fire after the restart' });
    // A little longer, so that a second run of any handler would show.
    await sleep(1000);

    let afterCrash = 0;
    let dueAfterCrash = 0;
    await pool(OBJECTS, 16, async (i) => {
      const s = await state(id(i));
      assert.equal(s.runs, 1, `${id(i)}: its handler's writes were committed ${s.runs} times`);
      assert.equal(s.alarm, null, `${id(i)}: alarm left`);
      assert.deepEqual(
        { runs: s.fired.runs, armed: s.fired.armed, scheduled: s.fired.scheduled },
        { runs: 1, armed: at[i], scheduled: at[i] },
        `${id(i)}: the record of its run`,
      );
      assert.ok(s.fired.at >= at[i] - 5, `${id(i)}: ran ${at[i] - s.fired.at} ms early`);
      if (s.fired.at > killedAt) afterCrash += 1;
      if (at[i] > killedAt + 10) dueAfterCrash += 1;
    });
    for (let i = 0; i < CANCELLED; i++) {
      assert.ok(deleteAcked[i] < cancelledAt[i] - 50, `c${i}: deleted only ${cancelledAt[i] - deleteAcked[i]} ms before its time`);
      const s = await state(cid(i));
      assert.deepEqual({ runs: s.runs, fired: s.fired, alarm: s.alarm }, { runs: 0, fired: null, alarm: null }, `${cid(i)}: a deleted alarm fired`);
    }
    // The crash interrupted the burst: the alarms due after it ran after the restart.
    assert.ok(dueAfterCrash > 0, 'the server was killed after the burst');
    assert.ok(afterCrash >= dueAfterCrash, `${afterCrash} alarms ran after the restart, ${dueAfterCrash} were due after the crash`);
    t.diagnostic(`${OBJECTS - afterCrash} alarms ran before the crash, ${afterCrash} after the restart`);
    readAgent.destroy();
    await server.stop();
  } finally {
    agent.destroy();
    await server.kill9();
  }
});
