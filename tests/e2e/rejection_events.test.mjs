// `addEventListener('unhandledrejection' | 'rejectionhandled')` on the global scope, as workerd
// delivers them: a trusted, non-cancelable PromiseRejectionEvent with own `reason` and `promise`,
// the global object as target and `this`; `rejectionhandled` (reason undefined) when a reported
// promise gets a handler later. Expected values are workerd's answers to the same code
// (tests/e2e/fixtures/rejection_events.js run on workerd 2026-10-23 at compatibility date
// 2026-10-01, where unhandled_rejection_after_microtask_checkpoint is on).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  // A short CPU limit, for the listener that never returns.
  server = await startServer({ flags: ['--cpu-limit-ms', '1000'] });
  await server.deploy(fixture('rejection_events.js'), { name: 'rejections' });
});

after(async () => {
  await server?.stop();
});

const run = async (name) => (await server.request(`/_do/rejections/x/${encodeURIComponent(name)}`));
const events = async () => server.json('/_do/rejections/x/events');
// A timing case: what the listeners saw, in short (`?quiet` runs it without listeners).
const timing = async (name) => server.json(`/_do/rejections/x/${name}`);

const unhandled = (reason, samePromise = true) => ({
  type: 'unhandledrejection', ctor: 'PromiseRejectionEvent', reason, promiseIsPromise: true, samePromise,
  cancelable: false, bubbles: false, isTrusted: true, phase: 2, keys: ['reason', 'promise'],
  thisIsGlobal: true, target: true, currentTarget: true,
});

test("a rejection by the module's top level reaches no listener, and is logged", async () => {
  const reasons = (list) => list.map((e) => e.reason);
  assert.deepEqual(reasons(await events()), []);
  await server.waitForOutput(/Uncaught \(in promise\) Error: top-level/);
  assert.deepEqual(reasons(await events()), []);
});

test('an unhandled rejection reaches every listener, and is not logged', async () => {
  await events();
  assert.equal((await run('plain')).status, 200);
  assert.deepEqual(await events(), [unhandled('plain'), { handleEvent: 'unhandledrejection' }]);
  // A rejection no listener heard is logged (below): wait for one, then look for this one.
  assert.deepEqual(await timing('quiet?quiet'), []);
  await server.waitForOutput(/Uncaught \(in promise\) Error: quiet/);
  assert.doesNotMatch(server.output, /Uncaught \(in promise\) Error: plain/);
});

test('reported once the microtasks have run: a handler a microtask later is in time', async () => {
  for (const name of ['await-null', 'await-null-twice', 'microtask', 'microtask-nested', 'then-chain', 'async-fn']) {
    assert.deepEqual(await timing(name), [], name);
  }
  // A handler in a later task comes after the report.
  assert.deepEqual(await timing('timeout0'), ['unhandled:timeout0', 'handled']);
  assert.deepEqual(await timing('two'), ['unhandled:two-a', 'unhandled:two-b']);
});

test('rejectionhandled runs inside the call that adds the handler', async () => {
  assert.deepEqual(await timing('handled-order'),
    ['unhandled:handled-order', 'before', 'handled', 'after', 'microtask']);
});

test('only the listeners there when the promise is rejected hear of it; the others are logged', async () => {
  assert.deepEqual(await timing('late-listener'), []);
  await server.waitForOutput(/Uncaught \(in promise\) Error: late-listener/);
  assert.deepEqual(await timing('early-listener'), []);
  // A handler added while nobody listens: no rejectionhandled for later listeners either.
  assert.deepEqual(await timing('relisten'), ['unhandled:relisten']);
  // A rejection by a listener is reported in the same turn.
  assert.deepEqual(await timing('from-listener'),
    ['unhandled:from-listener', 'nested-listener', 'unhandled:rejected by a listener']);
  // After the others' output, nothing of the heard ones: only the rejection nobody heard.
  assert.deepEqual(await timing('quiet?quiet'), []);
  await server.waitForOutput(/Uncaught \(in promise\) Error: quiet[^]*Uncaught \(in promise\) Error: quiet/);
  assert.doesNotMatch(server.output, /Error: (early-listener|relisten|from-listener|rejected by a listener)/);
});

test('a handler added after the report dispatches rejectionhandled', async () => {
  await events();
  await run('late');
  assert.deepEqual(await events(), [
    unhandled('late'), { handleEvent: 'unhandledrejection' },
    { type: 'rejectionhandled', reasonIsUndefined: true, samePromise: true, ctor: 'PromiseRejectionEvent', thisIsGlobal: true },
  ]);
});

test('handled in time or a removed listener: nothing', async () => {
  await events();
  await run('handled');
  assert.deepEqual(await events(), []);
  await run('removed');
  assert.deepEqual(await events(), [unhandled('7'), { handleEvent: 'unhandledrejection' }]);
});

test('a listener that throws is reported and the others still run', async () => {
  await events();
  assert.equal((await run('throws')).status, 200);
  assert.deepEqual(await events(), [unhandled('listener throws'), { handleEvent: 'unhandledrejection' }]);
  await server.waitForOutput(/thrown by a listener/);
});

test('the global scope dispatches like an EventTarget; PromiseRejectionEvent is not constructible', async () => {
  assert.deepEqual(await server.json('/_do/rejections/x/shape'), {
    construct: 'TypeError: Illegal constructor', dispatched: true, count: 1,
    types: ['function', 'function', 'function'], ownEnumerable: false,
  });
});

test('a listener that never returns is stopped by the CPU limit; the server goes on', async () => {
  const spin = await run('spin');
  assert.equal(spin.status, 500);
  await events();
  await run('plain');
  assert.deepEqual(await events(), [unhandled('plain'), { handleEvent: 'unhandledrejection' }]);
});
