'use strict';

// performance and scheduler, checked against workerd's answers to the same calls. The harness's
// timers run on a fake clock that advance() moves.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = async (code) => JSON.parse(await rt.run(`(async () => {
  try { return JSON.stringify(await (async () => ${code})()); }
  catch (e) { return JSON.stringify({ error: e.constructor.name, message: e.message }); }
})()`));

// Settles `code`'s promise while moving the fake clock 1 ms at a time; returns [result, ms].
async function runTimed(code) {
  let settled = false;
  let result;
  rt.run(`globalThis.__pending = (async () => {
    try { return JSON.stringify(await (async () => ${code})()); }
    catch (e) { return JSON.stringify({ error: e.constructor.name, name: e.name, message: e.message }); }
  })()`).then((value) => {
    settled = true;
    result = value === undefined ? undefined : JSON.parse(value);
  });
  let ms = 0;
  for (; ms < 10000 && !settled; ms++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!settled) rt.advance(1);
  }
  return [result, ms];
}

test('performance.now() is Date.now() and timeOrigin is 0; Performance is not a global', async () => {
  assert.deepEqual(await run(`(() => {
    const before = Date.now();
    const now = performance.now();
    const keys = [];
    for (const k in performance) keys.push(k);
    return [now >= before && now <= Date.now(), Number.isInteger(now), performance.timeOrigin,
      Object.prototype.toString.call(performance), typeof Performance, keys, JSON.stringify(performance),
      typeof performance.mark];
  })()`), [true, true, 0, '[object Performance]', 'undefined', ['timeOrigin', 'now'], '{}', 'undefined']);
});

test('scheduler.wait resolves with undefined after the delay', async () => {
  const [result, ms] = await runTimed(`scheduler.wait(25).then((v) => [v === undefined, 'done'])`);
  assert.deepEqual(result, [true, 'done']);
  assert.ok(ms >= 25 && ms <= 27, `resolved after ${ms} ms`);
  assert.deepEqual((await runTimed(`scheduler.wait('abc')`))[0], undefined);
  assert.deepEqual((await runTimed(`scheduler.wait(-5)`))[0], undefined);
  assert.deepEqual(await run(`[Object.prototype.toString.call(scheduler), typeof Scheduler, scheduler.constructor.name,
    Object.getOwnPropertyNames(Object.getPrototypeOf(scheduler)).sort(), scheduler.wait(1) instanceof Promise]`),
  ['[object Scheduler]', 'undefined', 'Scheduler', ['constructor', 'wait'], true]);
});

test('an abort rejects with the reason rebuilt as workerd rebuilds it, and clears the timer', async () => {
  rt.advance(100);
  const before = rt.timers.size;
  const [aborted] = await runTimed(`(async () => { const c = new AbortController(); const p = scheduler.wait(1000, { signal: c.signal });
    c.abort(); try { await p; return 'resolved'; } catch (e) { return [e.constructor.name, e.name, e.message]; } })()`);
  assert.deepEqual(aborted, ['DOMException', 'AbortError', 'The operation was aborted']);
  assert.equal(rt.timers.size, before);
  assert.deepEqual((await runTimed(`(async () => { const c = new AbortController(); const p = scheduler.wait(1000, { signal: c.signal });
    c.abort('why'); try { await p; } catch (e) { return [e.constructor.name, e.message, e === 'why']; } })()`))[0], ['Error', 'why', false]);
  assert.deepEqual((await runTimed(`(async () => { const c = new AbortController(); const p = scheduler.wait(1000, { signal: c.signal });
    const r = new RangeError('x'); c.abort(r); try { await p; } catch (e) { return [e.constructor.name, e.message, e === r]; } })()`))[0], ['RangeError', 'x', false]);
  assert.deepEqual((await runTimed(`(async () => { try { await scheduler.wait(10, { signal: AbortSignal.abort({ a: 1 }) }); }
    catch (e) { return [e.constructor.name, e.message]; } })()`))[0], ['Error', '#<Object>']);
  assert.deepEqual((await runTimed(`(async () => { try { await scheduler.wait(10, { signal: AbortSignal.abort(42) }); }
    catch (e) { return [e.constructor.name, e.message]; } })()`))[0], ['Error', '42']);
  assert.deepEqual((await runTimed(`(async () => { try { await scheduler.wait(10, { signal: AbortSignal.abort() }); }
    catch (e) { return [e.name, e.message]; } })()`))[0], ['AbortError', 'The operation was aborted']);
  assert.deepEqual((await runTimed(`(async () => { await scheduler.wait(1, { signal: undefined }); return 'ok'; })()`))[0], 'ok');
});

test("argument errors are workerd's", async () => {
  assert.deepEqual(await run(`scheduler.wait()`), {
    error: 'TypeError', message: "Failed to execute 'wait' on 'Scheduler': parameter 1 is not of type 'number'.",
  });
  assert.deepEqual(await run(`scheduler.wait(1, 5)`), {
    error: 'TypeError', message: "Failed to execute 'wait' on 'Scheduler': parameter 2 is not of type 'WaitOptions'.",
  });
  assert.deepEqual(await run(`scheduler.wait(1, { signal: 5 })`), {
    error: 'TypeError', message: "Incorrect type for the 'signal' field on 'WaitOptions': the provided value is not of type 'AbortSignal'.",
  });
  assert.deepEqual(await run(`scheduler.wait(1, { signal: null })`), {
    error: 'TypeError', message: "Incorrect type for the 'signal' field on 'WaitOptions': the provided value is not of type 'AbortSignal'.",
  });
});

test('console.log shows performance and scheduler as workerd does', () => {
  rt.logs.length = 0;
  rt.run(`console.log(performance); console.log(scheduler);`);
  assert.deepEqual(rt.messages(), ['Performance { timeOrigin: 0 }', 'Scheduler {}']);
});
