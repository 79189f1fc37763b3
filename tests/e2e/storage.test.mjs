// ctx.storage: get/put/delete/list with their options and errors, deleteAll, transactions,
// sync, structured-clone values, UTF-8 key order, write coalescing, and durability across
// restarts and kill -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('storage_probe.js'));
});

after(async () => {
  await server?.stop();
});

// Runs a scenario on its own object (instance id = scenario name unless given).
function run(scenario, instance = scenario) {
  return server.json(`/_do/storage-probe/${encodeURIComponent(instance)}/${scenario}`);
}

const cp = (s) => Array.from(s, (c) => c.codePointAt(0).toString(16));

test('put and get single values', async () => {
  assert.deepEqual(await run('basic'), {
    str: 'hello',
    num: 42,
    obj: { a: [1, 2, { b: null }], t: true },
    missingIsUndefined: true,
  });
});

test('get(keys[]) returns a Map of the present keys in UTF-8 byte order', async () => {
  assert.deepEqual(await run('get-many'), {
    isMap: true,
    keys: [cp('a'), cp('b'), cp('\uFFFF'), cp('\u{10000}')],
    values: [2, 1, 3, 4],
    noneIsMap: true,
    noneSize: 0,
  });
});

test('put(entries) stores every entry', async () => {
  assert.deepEqual(await run('put-entries'), { stored: { x: 1, y: 'two', z: [3] } });
});

test('put(key, undefined) → TypeError "put() called with undefined value."', async () => {
  const r = await run('put-undefined');
  assert.equal(r.threw, true);
  assert.equal(r.isTypeError, true, `expected a TypeError, got ${r.name}`);
  assert.equal(r.message, 'put() called with undefined value.');
  assert.equal(r.storedIsUndefined, true);
});

test('delete(key) → boolean, delete(keys[]) → count', async () => {
  assert.deepEqual(await run('delete'), { first: true, again: false, many: 2, left: ['keep'] });
});

test('list() with start, startAfter, end, prefix, reverse and limit', async () => {
  assert.deepEqual(await run('list'), {
    isMap: true,
    all: ['a', 'b', 'c', 'd', 'e'],
    values: [1, 2, 3, 4, 5],
    start: ['b', 'c', 'd', 'e'],
    startAfter: ['c', 'd', 'e'],
    end: ['a', 'b', 'c'],
    startEnd: ['b', 'c'],
    startAfterEnd: ['c', 'd'],
    limit: ['a', 'b'],
    reverse: ['e', 'd', 'c', 'b', 'a'],
    reverseLimit: ['e', 'd'],
    windowReverseLimit: ['d', 'c'],
    endEqualsStart: [],
    endBeforeStart: [],
  });
  assert.deepEqual(await run('prefix'), {
    prefix: ['p:1', 'p:2', 'p:3'],
    prefixReverseLimit: ['p:3', 'p:2'],
    noMatch: [],
  });
});

test('list() option errors are TypeErrors with the documented messages', async () => {
  const r = await run('list-errors');
  for (const [which, message] of [
    ['bothStarts', 'list() cannot be called with both start and startAfter values.'],
    ['zeroLimit', 'List limit must be positive.'],
    ['negativeLimit', 'List limit must be positive.'],
  ]) {
    assert.equal(r[which].threw, true, `${which} should fail`);
    assert.equal(r[which].isTypeError, true, `${which}: expected a TypeError, got ${r[which].name}`);
    assert.equal(r[which].message, message, which);
  }
});

test('keys are ordered by UTF-8 bytes: U+FFFF before U+10000, unlike JS string order', async () => {
  const ordered = ['A', 'z', '\u00E9', '\uE000', '\uFFFF', '\u{10000}'].map(cp);
  assert.deepEqual(await run('utf8-order'), {
    list: ordered,
    reverse: [...ordered].reverse(),
    fromFFFF: [cp('\uFFFF'), cp('\u{10000}')],
    before10000: ordered.slice(0, 5),
    getMany: [cp('A'), cp('\uFFFF'), cp('\u{10000}')],
  });
});

test('deleteAll() removes everything', async () => {
  assert.deepEqual(await run('delete-all'), { left: [], k1: null });
  assert.deepEqual(await run('all-keys', 'delete-all'), { keys: [] });
});

test('transaction(): commits on success, sees its own writes, returns the callback value', async () => {
  assert.deepEqual(await run('txn-commit'), {
    returned: { inside: 'one', listed: ['t1', 't2'] },
    after: { t1: 'one', t2: 'two' },
  });
});

test('transaction(): txn.rollback() discards puts and deletes', async () => {
  assert.deepEqual(await run('txn-rollback'), { r1: 'before', r2: null, r3: 'keep' });
});

test('transaction(): a throw rolls back and rejects with the error', async () => {
  const r = await run('txn-throw');
  assert.equal(r.failure.threw, true);
  assert.equal(r.failure.message, 'txn-fail-42');
  assert.equal(r.x1, 'before');
  assert.equal(r.x2, null);
});

test('sync() returns a promise that resolves', async () => {
  assert.deepEqual(await run('sync'), { isThenable: true, value: 1 });
});

const cloneExpected = {
  date: { isDate: true, iso: '2024-02-29T12:30:00.000Z' },
  map: {
    isMap: true,
    entries: [
      ['k', { deep: [1, 2] }],
      [7, 'seven'],
    ],
  },
  set: { isSet: true, values: [1, 'two', '3n'] },
  nested: { value: { a: { b: { c: [1, { d: 'e' }] } }, when: '1970-01-01T00:00:00.000Z' }, whenIsDate: true },
  buffer: { isArrayBuffer: true, bytes: [1, 2, 3, 250] },
  big: { type: 'bigint', value: '12345678901234567890123n' },
};

test('values round-trip by structured clone (Date, Map, Set, nested, ArrayBuffer, BigInt)', async () => {
  assert.deepEqual(await run('clone-roundtrip'), cloneExpected);
});

test('structured-clone values are intact after a restart', async () => {
  assert.deepEqual(await run('clone-write', 'clone-restart'), { ok: true });
  await server.stop();
  server = await server.restart();
  assert.deepEqual(await run('clone-read', 'clone-restart'), cloneExpected);
});

test('structured clone semantics: null is a value, cycles survive, stored values are copies', async () => {
  assert.deepEqual(await run('clone-semantics'), { nullValue: null, nullPresent: true, cycleKept: true, copyValue: 1 });
});

test('a non-cloneable value → DataCloneError; a batch containing one stores nothing', async () => {
  const r = await run('clone-error');
  assert.equal(r.single.threw, true);
  assert.equal(r.single.name, 'DataCloneError');
  assert.equal(r.batch.threw, true);
  assert.equal(r.batch.name, 'DataCloneError');
  assert.deepEqual(r.storedKeys, []);
});

test('writes issued without an await between them are all applied, last one wins', async () => {
  assert.deepEqual(await run('coalesce'), { stored: { c1: 3, c2: 2 } });
  // And they were committed, not just cached.
  assert.deepEqual(await run('all-keys', 'coalesce'), { keys: ['c1', 'c2'] });
});

test('acknowledged writes survive kill -9', async () => {
  assert.deepEqual(await run('durable-write', 'durability'), { ok: true });
  await server.kill9();
  server = await server.restart();
  assert.deepEqual(await run('durable-read', 'durability'), {
    found: { durable: { v: 'persisted', n: 7 }, 'durable-a': 1, 'durable-b': 2 },
  });
});
