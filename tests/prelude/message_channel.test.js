'use strict';

// MessageChannel and MessagePort, checked against workerd's answers to the same calls.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = async (code) => JSON.parse(await rt.run(`(async () => {
  try { return JSON.stringify(await (async () => ${code})()); }
  catch (e) { return JSON.stringify({ error: e.constructor.name, message: e.message }); }
})()`));

// Lets every queued microtask run (delivery takes one).
rt.run(`globalThis.settle = async () => { for (let i = 0; i < 10; i++) await Promise.resolve(); };`);

test('a message is a structured clone, dispatched on the peer as a MessageEvent in a later microtask', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    const obj = { a: [1, 2], m: new Map([[1, 2]]), d: new Date(0) };
    port2.onmessage = (e) => got.push([e.constructor.name, e.type, e.data.a, e.data.m.get(1), e.data.d.getTime(), e.target === port2,
      e.data === obj, e.origin, e.lastEventId, e.source === port2, e.ports, e.isTrusted]);
    port1.postMessage(obj);
    const sync = got.length;
    await Promise.resolve();
    const afterOne = got.length;
    await settle();
    return [sync, afterOne, got];
  })()`), [0, 1, [['MessageEvent', 'message', [1, 2], 2, 0, true, false, null, '', true, [], true]]]);
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (e) => got.push(e.data === undefined);
    port1.postMessage();
    await settle();
    return got;
  })()`), [true]);
});

test('messages wait until the port is started by start(), onmessage or a message listener', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port1.postMessage(1);
    port1.postMessage(2);
    await settle();
    const held = got.length;
    port2.addEventListener('message', (e) => got.push(e.data));
    const sync = got.length;
    await settle();
    return [held, sync, got];
  })()`), [0, 0, [1, 2]]);
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port1.postMessage(1);
    port2.start();
    port2.start();
    await settle();
    const unheard = got.length;
    port2.addEventListener('message', (e) => got.push(e.data));
    port1.postMessage(2);
    await settle();
    return [unheard, got];
  })()`), [0, [2]]);
});

test('a port whose last listener goes holds messages again', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    const l = (e) => got.push(e.data);
    port2.addEventListener('message', l);
    port2.removeEventListener('message', l);
    port1.postMessage(1);
    await settle();
    const held = got.slice();
    port2.onmessage = l;
    port2.onmessage = null;
    port1.postMessage(2);
    await settle();
    const stillHeld = got.slice();
    port2.addEventListener('message', l);
    await settle();
    return [held, stillHeld, got, port2.onmessage];
  })()`), [[], [], [2], null]);
  // Message 1 was handed to the port's dispatch when onmessage started it; by the time that ran
  // the port had no listener, so it was heard by nobody (as in workerd).
});

test('both ports can send; order is kept', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port1.onmessage = (e) => got.push('p1:' + e.data);
    port2.onmessage = (e) => got.push('p2:' + e.data);
    port1.postMessage(1); port2.postMessage(2); port1.postMessage(3);
    await settle();
    return got;
  })()`), ['p2:1', 'p1:2', 'p2:3']);
});

test('close() closes both ports, dispatches close on each (the peer first) and drops messages', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    const closed = [];
    port2.onmessage = (e) => got.push(e.data);
    port1.addEventListener('close', (e) => closed.push(['p1', e.constructor.name]));
    port2.addEventListener('close', () => closed.push('p2'));
    port1.close();
    port1.close();
    port1.postMessage(1);
    port2.postMessage(2);
    await settle();
    return [got, closed];
  })()`), [[], ['p2', ['p1', 'Event']]]);
});

test('a listener that throws ends the dispatch, and its exception is dispatched as a message', async () => {
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    const show = (d) => (d instanceof Error ? 'Error:' + d.message : d);
    port2.addEventListener('message', (e) => { got.push(['l1', show(e.data)]); if (!(e.data instanceof Error)) throw new Error('boom'); });
    port2.addEventListener('message', (e) => got.push(['l2', show(e.data)]));
    port2.start();
    port1.postMessage(1);
    await settle();
    return got;
  })()`), [['l1', 1], ['l1', 'Error:boom'], ['l2', 'Error:boom']]);
  rt.reported.length = 0;
  assert.deepEqual(await run(`(async () => {
    const { port1, port2 } = new MessageChannel();
    const got = [];
    port2.onmessage = (e) => { got.push(e.data instanceof Error ? 'Error:' + e.data.message : e.data); throw new Error('boom' + got.length); };
    port1.postMessage(1);
    port1.postMessage(2);
    await settle();
    return got;
  })()`), [1, 'Error:boom1', 2, 'Error:boom3']);
  // The exceptions thrown while handling the exceptions are reported.
  assert.deepEqual(rt.reported.map((e) => e.message), ['boom2', 'boom4']);
});

test('a close listener that throws ends close() with its exception', async () => {
  assert.deepEqual(await run(`(() => {
    const { port1, port2 } = new MessageChannel();
    const seen = [];
    port2.addEventListener('close', (e) => { seen.push(['p2', e.isTrusted]); throw new Error('x'); });
    port1.addEventListener('close', () => seen.push('p1'));
    try { port1.close(); } catch (e) { seen.push('threw ' + e.message); }
    port1.close();
    return seen;
  })()`), [['p2', true], 'threw x']);
});

test("cloning and transfer errors are workerd's", async () => {
  assert.deepEqual(await run(`(() => { const { port1 } = new MessageChannel(); port1.postMessage(() => 1); })()`), {
    error: 'DOMException', message: '() => 1 could not be cloned.',
  });
  assert.deepEqual(await run(`(() => { const { port1, port2 } = new MessageChannel(); port2.close(); port1.postMessage({ f: Symbol('x') }); })()`), {
    error: 'DOMException', message: 'Symbol(x) could not be cloned.',
  });
  assert.deepEqual(await run(`(() => { const { port1 } = new MessageChannel(); port1.postMessage(1, [new ArrayBuffer(1)]); })()`), {
    error: 'Error', message: 'Transfer list is not supported',
  });
  assert.deepEqual(await run(`(() => { const { port1 } = new MessageChannel(); port1.postMessage(1, { transfer: [new ArrayBuffer(1)] }); })()`), {
    error: 'Error', message: 'Transfer list is not supported',
  });
  assert.equal(await run(`(() => { const { port1 } = new MessageChannel(); port1.postMessage(1, { transfer: [] }); return 'ok'; })()`), 'ok');
  assert.deepEqual(await run(`new MessagePort()`), { error: 'TypeError', message: 'Illegal constructor' });
});

test("the interfaces have workerd's shape", async () => {
  assert.deepEqual(await run(`(() => {
    const c = new MessageChannel();
    const onmessage = c.port1.onmessage;
    c.port1.onmessage = 5;
    return [c.port1 === c.port1, Object.getOwnPropertyNames(c), Object.prototype.toString.call(c.port1), c.port1 instanceof EventTarget,
      Object.getOwnPropertyNames(MessagePort.prototype).sort(), onmessage, c.port1.onmessage];
  })()`), [true, ['port2', 'port1'], '[object MessagePort]', true, ['close', 'constructor', 'onmessage', 'postMessage', 'start'], null, null]);
});

test('console.log shows a channel and its ports as workerd does', () => {
  rt.logs.length = 0;
  rt.run(`console.log(new MessageChannel())`);
  assert.deepEqual(rt.messages(), [
    'MessageChannel {\n  port2: MessagePort { onmessage: null },\n  port1: MessagePort { onmessage: null }\n}',
  ]);
});
