// Answers that once differed from workerd's (checked side by side with it): SQL bindings spread
// over several statements ran the first statement with NULL and left a partial write; next() at
// the end had no `value`; a Symbol binding was stored as text; rowsRead/rowsWritten of CREATE
// TABLE were 0/0 (workerd 1/2) and other counts differed too; storage.get() without a key
// answered undefined; JSON.stringify(ctx.id) gave the id (workerd: {"name":"<instance name>"},
// its own properties `jurisdiction` and `name`); structuredClone() ignored `transfer`. WebSocket
// send() threw on a detached buffer and sent a view over a SharedArrayBuffer as the text "0,0";
// TextEncoder.encodeInto() told a Uint8Array with `instanceof` (an object made from its prototype
// reached the native, which threw its own contract's text; an app's Symbol.hasInstance refused a
// real one); Headers' iterators and forEach saw changes made while they ran (a name appended
// before the current one made it come again), and a Symbol key of a record threw;
// structuredClone() refused a buffer listed twice in `transfer` (workerd transfers it once); a
// detached buffer made TextDecoder, Blob, bodies and WebCrypto throw "Cannot perform Construct on
// a detached ArrayBuffer" (workerd reads no bytes), and a view over a SharedArrayBuffer became
// the text "104,105,33" in a Blob or a body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

test('the runtime answers these calls as workerd does', async () => {
  const server = await startServer();
  try {
    await server.deploy(path.join(here, 'fixtures', 'answers.js'), { name: 'answers' });
    const res = await server.request('/_do/answers/a/');
    assert.equal(res.status, 200, res.text);
    const out = res.json();
    assert.equal(
      out.spread,
      'Error: When executing multiple SQL statements in a single call, only the last statement can have parameters.',
    );
    assert.equal(out.rowsAfterSpread, 0, 'nothing of a refused call was written');
    assert.equal(out.endHasValue, true);
    assert.equal(out.symbolBinding, 'TypeError: Cannot convert a Symbol value to a string');
    // [rowsRead, rowsWritten] as workerd 1.20261023.1 answered them.
    assert.deepEqual(out.counts, {
      createTable: [1, 2],
      createIndex: [2, 1],
      insert: [3, 6],
      several: [1, 0],
      scanAtExec: [1, 0],
      scanAfterOne: [2, 0],
      scanAtEnd: [4, 0],
    });
    assert.equal(out.getWithoutKey, 'TypeError');
    // workerd 1.20261023.1: `jurisdiction` and `name` are own enumerable read-only properties.
    assert.equal(out.idJson, '{"name":"a"}');
    assert.deepEqual(out.idKeys, ['jurisdiction', 'name']);
    assert.deepEqual(out.transfer, [0, 3]);
  } finally {
    await server.stop();
  }
});

test('storage, SQL and WebCrypto refuse arguments of the wrong type or range with workerd\'s errors', async () => {
  const server = await startServer();
  try {
    await server.deploy(path.join(here, 'fixtures', 'argument_answers.js'), { name: 'argument-answers' });
    const res = await server.request('/_do/argument-answers/a/');
    assert.equal(res.status, 200, res.text);
    const symbol = 'TypeError: Cannot convert a Symbol value to a string';
    const range = 'TypeError: Value out of range. Must be between -2147483648 and 2147483647 (inclusive).';
    // As workerd 1.20261023.1 answered each (tests/diff's runner, the same calls on both).
    assert.deepEqual(res.json(), {
      getSymbol: symbol,
      putSymbol: symbol,
      deleteSymbols: symbol,
      listPrefixSymbol: symbol,
      kvGetSymbol: symbol,
      sqlSymbol: symbol,
      sqlUndefined: "TypeError: Failed to execute 'exec' on 'SqlStorage': parameter 1 is not of type 'String'.",
      listLimit2p31: range,
      listLimitMax: 'Map(0)',
      listLimitInfinity: 'TypeError: List limit must be positive.',
      listLimitBigInt: 'TypeError: Cannot convert a BigInt value to a number',
      alarmString: "TypeError: Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.",
      alarmTrue: "TypeError: Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.",
      alarmNaN: 'TypeError: The value cannot be converted because it is not a valid Date.',
      alarmHalf: 'TypeError: setAlarm() cannot be called with an alarm time <= 0',
      alarmYear275760: "TypeError: This API doesn't support dates after 2189.",
      alarmAfterAll: null,
      transactionNumber: "TypeError: Failed to execute 'transaction' on 'DurableObjectStorage': parameter 1 is not of type 'function'.",
      transactionSyncMissing: "TypeError: Failed to execute 'transactionSync' on 'DurableObjectStorage': parameter 1 is not of type 'function'.",
      stored: [],
      hkdfMinus8: 'TypeError: deriveBits length must be an unsigned long integer.',
      hkdf2p32plus8: range,
      hkdf1e20: range,
      hkdfNaN: 0,
      aesKeyLength2p32plus128: range,
      pbkdf2Iterations2p32plus1: range,
      gcmTagLength2p32plus128: range,
      // Answered as with the built-ins in place.
      replacedGlobals: {
        listReverse: 'ba', sqlProtoColumn: true, getMany: 'a=1 b=2 ', putMany: '3 4', sqlBindings: 3, kvList: 'kv=1 true',
      },
    });
  } finally {
    await server.stop();
  }
});

test('WebSocket send(), encodeInto(), Headers, structuredClone(), bodies, Blob, TextDecoder and crypto take hostile values as workerd does', async () => {
  const server = await startServer();
  try {
    await server.deploy(path.join(here, 'fixtures', 'hostile_values.js'), { name: 'hostile-values' });
    const res = await server.request('/_do/hostile-values/a/');
    assert.equal(res.status, 200, res.text);
    // As workerd 1.20261023.1 answered them (tests/diff side by side).
    assert.deepEqual(res.json(), {
      webSocket: {
        detached: 'undefined',
        detachedView: 'undefined',
        shared: 'undefined',
        none: "TypeError: Failed to execute 'send' on 'WebSocket': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView or string'.",
        nul: 'undefined',
        got: ['bytes 0', 'bytes 0', 'bytes 3', 'null'],
      },
      encodeInto: {
        proxy: "TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.",
        fake: "TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.",
        real: '2 2',
      },
      headers: { seen: ['a=1', 'b=2', 'c=3'], each: ['a', 'b'], symbol: '[["a","2"]]' },
      transferTwice: '3 3 0',
      bufferSources: {
        decodeDetached: '',
        blobDetached: 1,
        responseDetached: '',
        blobShared: 'hi!',
        responseShared: 'hi!',
        digestDetached: 'the digest of no bytes',
        randomFloat: 'TypeMismatchError: ArrayBufferView argument to getRandomValues() must be an integer-typed view.',
      },
    });
    assert.equal(server.exitInfo, null, server.outputTail?.());
  } finally {
    await server.stop();
  }
});
