'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { buildBundle, createRuntime } = require('./harness.js');

const json = (rt, code) => JSON.parse(rt.run(`JSON.stringify(${code})`));

test('the Web API globals are installed where workerd has them', () => {
  const rt = createRuntime();
  const names = [
    'AbortController', 'AbortSignal', 'Crypto', 'CustomEvent', 'DOMException', 'Event', 'Headers',
    'Navigator', 'Request', 'Response', 'SubtleCrypto', 'TextDecoder', 'TextEncoder', 'URL', 'URLSearchParams',
    'atob', 'btoa', 'clearInterval', 'clearTimeout', 'queueMicrotask',
    'reportError', 'setInterval', 'setTimeout', 'structuredClone', 'Blob', 'File', 'FormData',
    'URLPattern', 'MessageChannel', 'MessagePort', 'CompressionStream', 'DecompressionStream',
  ];
  // The interfaces and functions: on ServiceWorkerGlobalScope.prototype, enumerable.
  const onPrototype = json(rt, `${JSON.stringify(names)}.map((name) => {
    const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), name);
    return [d && typeof d.value, d && d.writable, d && d.enumerable, d && d.configurable];
  })`);
  onPrototype.forEach((d, i) => assert.deepEqual(d, ['function', true, true, true], names[i]));
  // The objects: own properties of the global object, enumerable but for console (Node's vm
  // contexts answer own-property queries through the prototype chain too: the e2e test
  // webapis_global_scope checks the rest on the server).
  assert.deepEqual(json(rt, `['navigator', 'performance', 'scheduler', 'caches', 'crypto', 'self', 'ServiceWorkerGlobalScope']
    .map((name) => Object.getOwnPropertyDescriptor(globalThis, name).enumerable)`), [true, true, true, true, true, true, true]);
  assert.deepEqual(json(rt, `(() => { const d = Object.getOwnPropertyDescriptor(globalThis, 'console');
    return [d.writable, d.enumerable, d.configurable]; })()`), [true, false, true]);
  assert.equal(rt.run(`self === globalThis`), true);
  assert.equal(rt.run(`origin`), 'null');
  // Each interface is named as its global, whatever the bundler called it, but for TraceEvent,
  // another name of TailEvent, as on workerd.
  assert.deepEqual(json(rt, `Object.getOwnPropertyNames(Object.getPrototypeOf(globalThis))
    .filter((k) => /^[A-Z]/.test(k) && typeof globalThis[k] === 'function' && globalThis[k].name !== k)`), ['TraceEvent']);
  assert.equal(rt.run(`TraceEvent === TailEvent`), true);
  // And V8 knows the classes the bundler renames by their names (its messages use them; the
  // messages' other words come from the server's markReadOnly, which this harness lacks).
  assert.match(rt.run(`(() => { 'use strict'; try { new AbortController().signal = 1; } catch (e) { return e.message; } })()`),
    /#<AbortController>/);
  assert.match(rt.run(`(() => { 'use strict'; try { new ReadableStream().locked = 1; } catch (e) { return e.message; } })()`),
    /#<ReadableStream>/);
  assert.match(rt.run(`(() => { 'use strict'; try { new TextDecoder().encoding = 1; } catch (e) { return e.message; } })()`),
    /#<TextDecoder>/);
  // workerd's Cloudflare global, its flags frozen.
  assert.deepEqual(json(rt, `[Object.prototype.toString.call(Cloudflare), Object.isFrozen(Cloudflare.compatibilityFlags),
    Cloudflare.compatibilityFlags.nodejs_compat, Cloudflare.compatibilityFlags.streams_enable_constructors]`),
  ['[object Cloudflare]', true, false, true]);
  // workerd's answers.
  assert.equal(rt.run(`navigator.userAgent`), 'Cloudflare-Workers');
  assert.equal(rt.run(`navigator.hardwareConcurrency`), 1);
  assert.equal(rt.run(`navigator instanceof Navigator`), true);
  assert.equal(rt.run(`Object.prototype.toString.call(console)`), '[object console]');
});

test('the bundle uses no Node.js globals', () => {
  // web-streams-polyfill looks for the global object through `globalThis`, then `self`, then
  // `global`: globalThis always exists, so `global` is never reached.
  // entities (htmlparser2's, for HTMLRewriter) decodes its tables with atob when there is one,
  // else with Buffer: atob is a global of the prelude, so Buffer is never reached.
  const source = buildBundle().replace(
    /"undefined"\s*!=\s*typeof globalThis\s*\?\s*globalThis\s*:\s*"undefined"\s*!=\s*typeof self\s*\?\s*self\s*:\s*"undefined"\s*!=\s*typeof global\s*\?\s*global\s*:\s*void 0/g,
    'globalThis').replace(
    /typeof Buffer\.from === "function"[\s\S]*?new Buffer\(input, "base64"\)\.toString\("binary"\)/,
    'null');
  assert.doesNotMatch(source, /(?<![\w$.])(process|Buffer|global|require)\s*[.[(]/);
  assert.doesNotMatch(source, /typeof\s+(process|Buffer|global|require|__dirname|__filename)\b/);
  // The fake host gives the context nothing but __dormNative, so loading at all proves it too.
  assert.equal(createRuntime().run(`typeof process + typeof Buffer + typeof require`), 'undefinedundefinedundefined');
});

test('setTimeout passes extra arguments and returns numeric ids', () => {
  const rt = createRuntime();
  rt.run(`
    globalThis.calls = [];
    globalThis.ids = [
      setTimeout((a, b) => calls.push(['t', a, b]), 20, 'x', 2),
      setTimeout(() => calls.push(['early']), 5),
      setTimeout(() => calls.push(['cancelled']), 10),
      setTimeout(function () { calls.push(['this', this === globalThis]); }),
    ];
    clearTimeout(ids[2]);
  `);
  assert.ok(json(rt, 'ids').every((id) => typeof id === 'number'));
  rt.advance(30);
  assert.deepEqual(json(rt, 'calls'), [['this', true], ['early'], ['t', 'x', 2]]);
});

test('setInterval repeats until cleared; bad arguments are handled', () => {
  const rt = createRuntime();
  rt.run(`
    globalThis.ticks = [];
    let count = 0;
    globalThis.interval = setInterval((label) => { ticks.push(label); if (++count === 3) clearInterval(interval); }, 10, 'tick');
    setTimeout(() => ticks.push('negative delay runs first'), -100);
    clearTimeout(undefined);
    clearTimeout('nonsense');
  `);
  rt.advance(100);
  assert.deepEqual(json(rt, 'ticks'), ['negative delay runs first', 'tick', 'tick', 'tick']);
  assert.equal(rt.timers.size, 0);
  // workerd's texts.
  assert.throws(() => rt.run(`setTimeout('code()', 1)`),
    { message: "Failed to execute 'setTimeout' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'function'." });
  assert.throws(() => rt.run(`setInterval()`),
    { message: "Failed to execute 'setInterval' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'function'." });
  assert.throws(() => rt.run(`clearTimeout()`),
    { message: "Failed to execute 'clearTimeout' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'Number'." });
});

test('errors thrown by timer callbacks are reported', () => {
  const rt = createRuntime();
  rt.run(`setTimeout(() => { throw new Error('in timer'); }, 1)`);
  rt.advance(1);
  assert.equal(rt.reported.length, 1);
  assert.equal(rt.reported[0].message, 'in timer');
});

test('queueMicrotask runs callbacks in order and reports their errors', async () => {
  const rt = createRuntime();
  rt.run(`
    globalThis.order = [];
    queueMicrotask(() => order.push(1));
    queueMicrotask(() => { throw new Error('micro'); });
    Promise.resolve().then(() => order.push(2));
    queueMicrotask(() => order.push(3));
    order.push(0);
  `);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(json(rt, 'order'), [0, 1, 2, 3]);
  assert.equal(rt.reported.length, 1);
  assert.equal(rt.reported[0].message, 'micro');
  assert.throws(() => rt.run(`queueMicrotask('no')`), { name: 'TypeError' });
  assert.throws(() => rt.run(`queueMicrotask()`), { name: 'TypeError' });
});

test('reportError hands the value to the host', () => {
  const rt = createRuntime();
  rt.run(`reportError(new RangeError('reported')); reportError('plain')`);
  assert.equal(rt.reported[0].message, 'reported');
  assert.equal(rt.reported[1], 'plain');
  assert.throws(() => rt.run(`reportError()`), { name: 'TypeError' });
});

test('structuredClone copies through the serializer', () => {
  const rt = createRuntime();
  const result = rt.run(`(() => {
    const source = { n: 1, nested: { list: [1, 'two'] }, when: new Date(5), map: new Map([['k', 'v']]), bytes: new Uint8Array([7]) };
    source.self = source;
    const copy = structuredClone(source);
    return [copy !== source, copy.nested !== source.nested, copy.nested.list[1], copy.self === copy,
      Object.prototype.toString.call(copy.when), copy.when.getTime(), copy.map.get('k'), copy.bytes[0],
      structuredClone(undefined) === undefined];
  })()`);
  assert.deepEqual([...result], [true, true, 'two', true, '[object Date]', 5, 'v', 7, true]);
  assert.throws(() => rt.run(`structuredClone(() => 1)`), { name: 'DataCloneError', code: 25 });
  assert.throws(() => rt.run(`structuredClone()`), { name: 'TypeError' });
  assert.throws(() => rt.run(`structuredClone(1, { transfer: 5 })`), { name: 'TypeError' });
  assert.equal(rt.run(`structuredClone(new Uint8Array([1]).buffer, { transfer: [] }).byteLength`), 1);
  // Transferred ArrayBuffers are detached; their contents go to the clone.
  assert.equal(rt.run(`(() => { const b = new Uint8Array([1, 2, 3]).buffer; const c = structuredClone({ b }, { transfer: [b] }); return [b.byteLength, c.b.byteLength].join(); })()`), '0,3');
  // As workerd: a buffer listed twice is transferred once.
  assert.equal(rt.run(`(() => { const b = new ArrayBuffer(1); return [structuredClone(b, { transfer: [b, b] }).byteLength, b.byteLength].join(); })()`), '1,0');
});
