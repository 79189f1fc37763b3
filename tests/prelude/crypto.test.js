'use strict';

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);

// Digests `input` (a JS expression) in the context and returns the hex string.
async function digestHex(algorithm, input) {
  return rt.run(`crypto.subtle.digest(${algorithm}, ${input}).then((ab) =>
    [...new Uint8Array(ab)].map((b) => b.toString(16).padStart(2, '0')).join(''))`);
}

test('digest: known vectors', async () => {
  const abc = `new TextEncoder().encode('abc')`;
  assert.equal(await digestHex(`'SHA-256'`, abc), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(await digestHex(`'SHA-1'`, abc), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(await digestHex(`'SHA-256'`, `new Uint8Array(0)`),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(await digestHex(`{ name: 'sha-384' }`, abc), nodeCrypto.createHash('sha384').update('abc').digest('hex'));
  assert.equal(await digestHex(`'Sha-512'`, `new Uint8Array([0x61, 0x62, 0x63]).buffer`),
    nodeCrypto.createHash('sha512').update('abc').digest('hex'));
  assert.equal(await digestHex(`'MD5'`, abc), '900150983cd24fb0d6963f7d28e17f72');
  // Only the bytes a view covers are hashed.
  assert.equal(await digestHex(`'SHA-1'`, `new DataView(new TextEncoder().encode('xabcx').buffer, 1, 3)`),
    'a9993e364706816aba3e25717850c26c9cd0d89d');
});

test('digest returns a promise of an ArrayBuffer and copies its input first', async () => {
  const result = await rt.run(`(async () => {
    const data = new TextEncoder().encode('abc');
    const promise = crypto.subtle.digest('SHA-256', data);
    data[0] = 0;
    const ab = await promise;
    return [promise instanceof Promise, ab instanceof ArrayBuffer, ab.byteLength, new Uint8Array(ab)[0]];
  })()`);
  assert.deepEqual([...result], [true, true, 32, 0xba]);
});

test('digest rejects unknown algorithms and bad data', async () => {
  const outcome = (code) => rt.run(`${code}.then(() => 'resolved', (e) => e.name + ':' + (e.code ?? ''))`);
  assert.equal(await outcome(`crypto.subtle.digest('SHA-3', new Uint8Array(1))`), 'NotSupportedError:9');
  assert.equal(await outcome(`crypto.subtle.digest({ name: 'AES-GCM' }, new Uint8Array(1))`), 'NotSupportedError:9');
  assert.equal(await outcome(`crypto.subtle.digest({}, new Uint8Array(1))`), 'TypeError:');
  assert.equal(await outcome(`crypto.subtle.digest('SHA-256', 'text')`), 'TypeError:');
  assert.equal(await outcome(`crypto.subtle.digest('SHA-256')`), 'TypeError:');
});

test('getRandomValues fills integer arrays in place and returns them', () => {
  const result = run(`(() => {
    const a = new Uint32Array(64);
    const same = crypto.getRandomValues(a) === a;
    const { getRandomValues } = crypto;
    const b = getRandomValues(new BigUint64Array(2));
    return [same, a.some((v) => v !== 0), b.length, crypto.getRandomValues(new Uint8Array(65536)).length];
  })()`);
  assert.deepEqual([...result], [true, true, 2, 65536]);
});

test('getRandomValues: TypeMismatchError, QuotaExceededError, TypeError', () => {
  for (const type of ['Float32Array', 'Float64Array']) {
    assert.throws(() => run(`crypto.getRandomValues(new ${type}(4))`), { name: 'TypeMismatchError', code: 17 });
  }
  assert.throws(() => run(`crypto.getRandomValues(new DataView(new ArrayBuffer(4)))`), { name: 'TypeMismatchError' });
  assert.throws(() => run(`crypto.getRandomValues(new Uint8Array(65537))`), { name: 'QuotaExceededError', code: 22 });
  assert.throws(() => run(`crypto.getRandomValues(new Uint32Array(16385))`), { name: 'QuotaExceededError' });
  assert.throws(() => run(`crypto.getRandomValues([1, 2])`), { name: 'TypeError' });
  assert.throws(() => run(`crypto.getRandomValues()`), { name: 'TypeError' });
  assert.equal(run(`(() => { try { crypto.getRandomValues(new Float32Array(1)); } catch (e) { return e instanceof DOMException; } })()`), true);
});

test('randomUUID gives version 4 UUIDs', () => {
  const uuids = run(`[crypto.randomUUID(), crypto.randomUUID()]`);
  for (const uuid of uuids) assert.match(uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(uuids[0], uuids[1]);
});

test('interfaces and timingSafeEqual', () => {
  assert.equal(run(`crypto instanceof Crypto && crypto.subtle instanceof SubtleCrypto`), true);
  assert.throws(() => run(`new Crypto()`), { name: 'TypeError' });
  assert.throws(() => run(`new SubtleCrypto()`), { name: 'TypeError' });
  assert.equal(run(`Object.prototype.toString.call(crypto.subtle)`), '[object SubtleCrypto]');
  assert.equal(run(`crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]).buffer)`), true);
  assert.equal(run(`crypto.subtle.timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))`), false);
  assert.throws(() => run(`crypto.subtle.timingSafeEqual(new Uint8Array(1), new Uint8Array(2))`), { name: 'TypeError' });
});
