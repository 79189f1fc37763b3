// Calls between objects of one app: namespaces in `env` (ids as Cloudflare makes them, with its
// error texts), JavaScript RPC (structured-clone arguments and results, errors rethrown with
// `remote`, Cloudflare's reserved-name and missing-method errors, classes not extending
// DurableObject refused), stub.fetch(), calls in order from one stub (E-order), an object calling
// itself, a callee reset mid-call, and many calls across threads at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  for (const file of ['target.js', 'plain.js', 'caller.js']) {
    await server.deploy(fixture(`rpc/${file}`));
  }
});

after(async () => {
  await server?.stop();
});

// Runs scenario `name` in caller object `caller` and returns its {result} or {error}.
async function scenario(name, query = '', caller = 'c1') {
  const res = await server.request(`/_do/caller/${caller}/${name}${query ? `?${query}` : ''}`);
  assert.equal(res.status, 200, `${name}: ${res.status} ${res.text}`);
  return res.json();
}

test('env holds a namespace for every class of the app, under its binding name', async () => {
  const { result } = await scenario('envKeys');
  assert.deepEqual(result, ['CALLER', 'PLAIN', 'TARGET']);
});

test('an RPC call reaches the object that the same name reaches over HTTP', async () => {
  assert.deepEqual(await scenario('increment', 'name=shared&by=2'), { result: 2 });
  assert.deepEqual(await scenario('increment', 'name=shared&by=3'), { result: 5 });
  const res = await server.request('/_do/target/shared/count');
  assert.equal(res.status, 200);
  assert.equal(res.text, '5');
});

test('arguments and results travel as structured clones', async () => {
  const { result } = await scenario('clone');
  assert.deepEqual(result, {
    map: [['a', 1]],
    set: [1, 2],
    date: 5,
    bytes: [1, 2, 3],
    list: [1, 'two', null, 'undefined'],
    big: '12345678901234567890',
  });
});

test('primitives and lists of them cross exactly, as structured clone carries them', async () => {
  const { result } = await scenario('primitives');
  assert.deepEqual(result, {
    mismatches: [],
    allSame: true,
    extraTag: 'kept',
    holeKept: true,
    nested: [[1, 'a'], 2],
    many: 44850,
    none: [],
  });
});

test('an error thrown by the callee is rethrown with its class, message and remote', async () => {
  const { result: ids } = await scenario('ids');
  const { error } = await scenario('fail');
  assert.equal(error.name, 'RangeError');
  assert.equal(error.message, 'nope');
  assert.equal(error.isRangeError, true);
  assert.equal(error.remote, true);
  assert.match(error.durableObjectId, /^[0-9a-f]{64}$/);
  assert.notEqual(error.durableObjectId, ids.hex);
  const later = (await scenario('failLater')).error;
  assert.equal(later.name, 'TypeError');
  assert.equal(later.message, 'later');
  assert.equal(later.remote, true);
});

test('reserved names, missing methods and non-functions fail as on Cloudflare', async () => {
  assert.deepEqual(
    pick((await scenario('reserved')).error),
    { name: 'TypeError', message: "'alarm' is a reserved method and cannot be called over RPC.", remote: true });
  assert.deepEqual(
    pick((await scenario('missing')).error),
    { name: 'TypeError', message: 'The RPC receiver does not implement the method "noSuchMethod".', remote: true });
  // Own instance properties are not methods (workerd: env and ctx are not visible at all).
  assert.deepEqual(
    pick((await scenario('instanceProperty')).error),
    { name: 'TypeError', message: 'The RPC receiver does not implement the method "ctx".', remote: true });
  // Names the stub itself has (Object.prototype's) are not sent, as on workerd's stub.
  assert.deepEqual(await scenario('prototypeOnStub'), { result: 'boolean' });
  assert.deepEqual(
    pick((await scenario('notAFunction')).error),
    { name: 'TypeError', message: '"notAFunction" is not a function.', remote: true });
});

test('values that cannot be cloned are refused with a DataCloneError', async () => {
  const { error } = await scenario('unclonable');
  assert.equal(error.name, 'DataCloneError');
  assert.equal(error.remote, null, 'refused in the caller, before any call');
});

test('functions go by reference: returned, passed, and inside returned objects', async () => {
  assert.deepEqual(await scenario('returnFunction'), { result: { type: 'function', called: 1 } });
  // The callee calls the caller's function twice; each call runs back in the caller.
  assert.deepEqual(await scenario('argFunction'), { result: { doubled: 42, again: 44 } });
  assert.deepEqual(await scenario('functionsInResult'),
    { result: { base: 6, plus: 10, times: 42, disposable: 'function' } });
});

test('a reference the callee returns from its arguments works until the result is disposed', async () => {
  // As on workerd: a function, a stub the caller holds and an RpcTarget, each sent and returned.
  const disposed = 'Error: RPC stub used after being disposed.';
  assert.deepEqual(await scenario('echoedReferences'), {
    result: {
      fnResult: { type: 'function', same: false, call: 5, again: 2, afterDispose: disposed, calls: 2 },
      viaPromise: { inBlock: 'in block', afterDispose: disposed },
      // The caller's own stub keeps working after the one that came back is disposed; disposing
      // both releases the export once.
      stubResult: { same: false, call: 11, afterDispose: disposed, original: 12, released: 1 },
      // The caller's RpcTarget is disposed once the stub that came back is, not when the call
      // returned.
      targetResult: {
        same: false, add: 3, total: 3, disposedWhileHeld: 0, afterDispose: disposed, disposed: 1,
      },
    },
  });
});

test('RpcTarget stubs: methods, getters, dispose, and use after dispose', async () => {
  assert.deepEqual(await scenario('rpcTarget'), {
    result: {
      first: 7, second: 8, value: 8, before: 0, after: 1,
      afterDispose: 'Error: RPC stub used after being disposed.',
    },
  });
  // An RpcTarget passed as an argument: the callee's calls and property reads run in the caller.
  assert.deepEqual(await scenario('targetArg'), { result: { total: 8, viaGetter: 8 } });
});

test('promise pipelining: calls and property reads on a result not yet awaited', async () => {
  assert.deepEqual(await scenario('pipeline'), {
    result: {
      direct: 13, chained: 101, property: 7, plain: 'targets',
      missing: 'TypeError: The RPC receiver does not implement the method "noSuchMethod".',
    },
  });
  assert.deepEqual(await scenario('stubProperty'), { result: { getter: 5, method: 'function' } });
});

test('a dup() of a stub received as an argument outlives the call until disposed', async () => {
  const { result } = await scenario('dupCallback');
  assert.deepEqual(result, {
    kept: 'kept',
    later: 12,
    again: 15,
    dropped: 'dropped',
    calls: 2,
    afterDrop: 'Error: RPC stub used after being disposed.',
  });
});

test('a stub received as an argument stops working when the call returns', async () => {
  const { result } = await scenario('keptCallback');
  assert.equal(result.kept, 'kept');
  assert.equal(result.later, 'Error: RPC stub used after being disposed.');
  assert.equal(result.remote, true);
});

test('a Durable Object stub passed over RPC reaches the same object', async () => {
  assert.deepEqual(await scenario('stubArg'), { result: { first: 5, second: 6, direct: 6 } });
});

test('a class not extending DurableObject takes fetch() but not RPC', async () => {
  assert.deepEqual(await scenario('plainFetch'), { result: 'plain' });
  const { error } = await scenario('plainRpc');
  assert.equal(error.name, 'TypeError');
  assert.match(error.message, /^The receiving Durable Object does not support RPC, because its class was not declared with `extends DurableObject`\./);
});

test('ids: idFromName, idFromString, newUniqueId and stubs as on Cloudflare', async () => {
  const { result } = await scenario('ids');
  assert.match(result.hex, /^[0-9a-f]{64}$/);
  assert.equal(result.name, 'lobby');
  assert.equal(result.equal, true);
  assert.equal(result.fromStringName, null);
  assert.equal(result.uniqueLength, 64);
  assert.equal(result.uniqueDiffers, true);
  assert.deepEqual(result.stubKeys, ['name', 'id']);
  assert.equal(result.stubName, 'lobby');
  assert.equal(result.stubIdIsId, true);
  assert.equal(result.otherNamespace, true);
  // The object /_do/target/lobby is the one idFromName('lobby') names, whichever way it is reached.
  const direct = await server.request('/_do/target/lobby');
  assert.equal(direct.json().id, result.hex);
  assert.deepEqual(result.viaName, { id: result.hex, name: 'lobby' });
  assert.equal(result.viaString.id, result.hex);
  assert.deepEqual(result.viaUnique, { id: result.uniqueHex, name: null });
});

test('jurisdictions are accepted and kept on the ids', async () => {
  assert.deepEqual(await scenario('jurisdiction'), { result: { jurisdiction: 'eu', sub: 'eu', length: 64 } });
});

test('malformed and foreign ids are refused with Cloudflare\'s errors', async () => {
  const { result } = await scenario('badIds');
  assert.deepEqual(result, {
    short: 'TypeError: Invalid Durable Object ID: must be 64 hex digits',
    nonHex: 'TypeError: Invalid Durable Object ID: must be 64 hex digits',
    otherNamespace: 'TypeError: Durable Object ID is not valid for this namespace.',
    getNotAnId: "TypeError: Failed to execute 'get' on 'DurableObjectNamespace': parameter 1 is not of type 'DurableObjectId'.",
    getOtherNamespace: 'no error',
    forgeId: 'TypeError: Illegal constructor',
  });
});

test('stub.fetch() delivers exactly the request and returns the response', async () => {
  const { result } = await scenario('fetch', 'name=fetched');
  assert.equal(result.status, 201);
  assert.equal(result.from, 'target');
  assert.equal(result.body.method, 'POST');
  assert.equal(result.body.url, 'https://fake-host/some/path?x=1');
  assert.equal(result.body.header, 'yes');
  assert.equal(result.body.body, 'payload');
  assert.equal(result.body.name, 'fetched');
  await scenario('increment', 'name=fetched-count&by=7');
  assert.deepEqual(await scenario('fetchRequest', 'name=fetched-count'), { result: { status: 200, text: '7' } });
  const { error } = await scenario('fetchThrows');
  assert.equal(error.name, 'TypeError');
  assert.equal(error.message, 'fetch failed here');
  assert.equal(error.remote, true);
  assert.equal(error.durableObjectId, null);
});

test('calls from one stub are delivered in the order they were made (E-order)', async () => {
  const n = 200;
  const { result } = await scenario('order', `name=ordered&n=${n}`);
  assert.deepEqual(result.log, Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(result.lengths, Array.from({ length: n }, (_, i) => i + 1));
});

test('calls made while the caller has writes not yet durable still arrive, in order', async () => {
  const { result } = await scenario('writeThenCall', 'name=gated');
  assert.deepEqual(result, { log: ['before', 'after-write', 'same-turn', 'next-turn'], fourth: 4, written: 1 });
});

test('an object calling itself through its own stub does not deadlock', async () => {
  assert.deepEqual(await scenario('self', 'depth=5'), { result: 'up:up:up:up:up:bottom' });
});

test('a callee reset mid-call fails the call with durableObjectReset', async () => {
  const { error } = await scenario('reset');
  assert.equal(error.message, 'callee reset on purpose');
  assert.equal(error.durableObjectReset, true);
  assert.equal(error.retryable, null, 'abort() is not retryable, as on workerd');
  // The next call gets a fresh instance.
  assert.deepEqual(await scenario('afterReset'), { result: 1 });
});

test('many calls to objects on both threads, from several callers at once, all land', async () => {
  const objects = 40;
  const rounds = 5;
  const callers = ['a', 'b', 'c', 'd'];
  const answers = await Promise.all(
    callers.map((caller) => scenario('spread', `prefix=load&objects=${objects}&rounds=${rounds}`, `load-${caller}`)));
  for (const answer of answers) {
    assert.ok(Array.isArray(answer.result), JSON.stringify(answer));
    assert.equal(answer.result.length, objects);
  }
  // Every caller's increments landed: each object counted rounds × callers.
  const { result: counts } = await scenario('spread', `prefix=load&objects=${objects}&rounds=0`, 'load-check');
  assert.deepEqual(counts, Array.from({ length: objects }, () => rounds * callers.length));
});

function pick(error) {
  return { name: error.name, message: error.message, remote: error.remote };
}
