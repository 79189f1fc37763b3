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
  // As in workerd, a dictionary without a name names the algorithm "undefined".
  assert.equal(await outcome(`crypto.subtle.digest({}, new Uint8Array(1))`), 'NotSupportedError:9');
  assert.equal(await outcome(`crypto.subtle.digest(undefined, new Uint8Array(1))`), 'TypeError:');
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
  // workerd's message.
  assert.throws(() => run(`crypto.getRandomValues(new Uint8Array(65537))`), {
    name: 'QuotaExceededError', code: 22,
    message: 'getRandomValues() only accepts buffers of size <= 64K but provided 65537 bytes.',
  });
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

// --- crypto.subtle with keys (the natives are tests/prelude/fake_crypto_natives.js) ---

const hex = (bytes) => Buffer.from(bytes).toString('hex');

// Runs an async function body in the context; resolves to its value or to { threw: {name, message} }.
function subtle(body) {
  return rt.run(`(async () => {
    const s = crypto.subtle;
    const enc = new TextEncoder();
    const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
    const fromHex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
    try { return await (async () => { ${body} })(); } catch (e) { return { threw: { name: e.name, message: e.message } }; }
  })()`).then((v) => JSON.parse(JSON.stringify(v)));
}

test('HMAC: RFC 4231 vectors, verify, and the key it makes', async () => {
  const r = await subtle(`
    const key = await s.importKey('raw', new Uint8Array(20).fill(0x0b), { name: 'HMAC', hash: 'sha-256' }, true, ['verify', 'sign']);
    const mac = await s.sign('HMAC', key, enc.encode('Hi There'));
    const jefe = await s.importKey('raw', enc.encode('Jefe'), { name: 'HMAC', hash: { name: 'SHA-512' } }, false, ['sign']);
    return {
      mac: hex(mac), jefe: hex(await s.sign({ name: 'hmac' }, jefe, enc.encode('what do ya want for nothing?'))),
      good: await s.verify('HMAC', key, mac, enc.encode('Hi There')),
      bad: await s.verify('HMAC', key, new Uint8Array(32), enc.encode('Hi There')),
      short: await s.verify('HMAC', key, new Uint8Array(3), enc.encode('Hi There')),
      algorithm: key.algorithm, usages: key.usages, type: key.type, extractable: key.extractable,
      jwk: await s.exportKey('jwk', key), keys: Object.keys(key),
    };`);
  assert.equal(r.mac, 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  assert.equal(r.jefe, '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737');
  assert.deepEqual([r.good, r.bad, r.short], [true, false, false]);
  assert.deepEqual(r.algorithm, { name: 'HMAC', hash: { name: 'SHA-256' }, length: 160 });
  assert.deepEqual(r.usages, ['sign', 'verify']);
  assert.deepEqual([r.type, r.extractable], ['secret', true]);
  assert.deepEqual(r.jwk, { kty: 'oct', key_ops: ['sign', 'verify'], alg: 'HS256', ext: true, k: 'CwsLCwsLCwsLCwsLCwsLCwsLCws' });
  assert.deepEqual(r.keys, ['usages', 'algorithm', 'extractable', 'type']);
});

test('AES-GCM, CBC, CTR and KW: known answers and round trips', async () => {
  const r = await subtle(`
    const gcm = await s.importKey('raw', fromHex('feffe9928665731c6d6a8f9467308308'), 'AES-GCM', true, ['encrypt', 'decrypt']);
    const params = { name: 'AES-GCM', iv: fromHex('cafebabefacedbaddecaf888'), additionalData: fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2') };
    const pt = fromHex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
    const ct = await s.encrypt(params, gcm, pt);
    const short = await s.encrypt({ ...params, tagLength: 96 }, gcm, pt);
    const tampered = new Uint8Array(ct.slice(0)); tampered[0] ^= 1;
    const cbc = await s.generateKey({ name: 'AES-CBC', length: 192 }, true, ['encrypt', 'decrypt']);
    const iv = new Uint8Array(16);
    const ctr = await s.importKey('raw', new Uint8Array(16), 'AES-CTR', false, ['encrypt', 'decrypt']);
    const counter = new Uint8Array(16).fill(0xff);
    const kw = await s.importKey('raw', fromHex('000102030405060708090a0b0c0d0e0f'), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const inner = await s.importKey('raw', fromHex('00112233445566778899aabbccddeeff'), 'AES-GCM', true, ['encrypt']);
    const wrapped = await s.wrapKey('raw', inner, kw, 'AES-KW');
    const back = await s.unwrapKey('raw', wrapped, kw, 'AES-KW', 'AES-GCM', true, ['encrypt']);
    let tamperedResult;
    try { await s.decrypt(params, gcm, tampered); } catch (e) { tamperedResult = [e.name, e.message]; }
    return {
      ct: hex(ct), short: short.byteLength, back: hex(await s.decrypt(params, gcm, ct)) === hex(pt), tamperedResult,
      cbc: new TextDecoder().decode(await s.decrypt({ name: 'AES-CBC', iv }, cbc, await s.encrypt({ name: 'AES-CBC', iv }, cbc, enc.encode('abc')))),
      cbcLength: (await s.encrypt({ name: 'AES-CBC', iv }, cbc, new Uint8Array(16))).byteLength,
      ctr: new TextDecoder().decode(await s.decrypt({ name: 'AES-CTR', counter, length: 8 }, ctr,
        await s.encrypt({ name: 'AES-CTR', counter, length: 8 }, ctr, enc.encode('a message longer than one block')))),
      wrapped: hex(wrapped), unwrapped: hex(await s.exportKey('raw', back)), jwk: await s.exportKey('jwk', cbc).then((j) => [j.alg, j.k.length]),
    };`);
  assert.equal(r.ct, '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e0915bc94fbc3221a5db94fae95ae7121a47');
  assert.equal(r.short, 60 + 12);
  assert.equal(r.back, true);
  assert.equal(r.tamperedResult[0], 'OperationError');
  assert.match(r.tamperedResult[1], /^Decryption failed\. .* Input length was 60, output length expected to be 60 for AES-GCM$/);
  assert.equal(r.cbc, 'abc');
  assert.equal(r.cbcLength, 32);
  assert.equal(r.ctr, 'a message longer than one block');
  // RFC 3394 section 4.1.
  assert.equal(r.wrapped, '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5');
  assert.equal(r.unwrapped, '00112233445566778899aabbccddeeff');
  assert.deepEqual(r.jwk, ['A192CBC', 32]);
});

test('AES-CTR: the counter wraps within its low bits, and may not repeat', async () => {
  const r = await subtle(`
    const key = await s.importKey('raw', new Uint8Array(16), 'AES-CTR', false, ['encrypt']);
    const counter = new Uint8Array(16); counter[15] = 0xff; counter[14] = 0x01;
    const wrapped = new Uint8Array(await s.encrypt({ name: 'AES-CTR', counter, length: 8 }, key, new Uint8Array(32)));
    const restart = counter.slice(); restart[15] = 0;
    const second = new Uint8Array(await s.encrypt({ name: 'AES-CTR', counter: restart, length: 8 }, key, new Uint8Array(16)));
    let repeat;
    try { await s.encrypt({ name: 'AES-CTR', counter, length: 1 }, key, new Uint8Array(48)); } catch (e) { repeat = [e.name, e.message]; }
    return { same: hex(wrapped.slice(16)) === hex(second), repeat };`);
  assert.equal(r.same, true, 'the block after 0x..01ff is 0x..0100, not 0x..0200');
  assert.deepEqual(r.repeat, ['OperationError', 'Counter block values will repeat.']);
});

test('PBKDF2 and HKDF: RFC 6070 and RFC 5869 vectors, deriveKey, the iteration cap', async () => {
  const r = await subtle(`
    const pw = await s.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
    const ikm = await s.importKey('raw', new Uint8Array(22).fill(0x0b), { name: 'HKDF' }, false, ['deriveBits']);
    const derived = await s.deriveKey({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1, hash: 'SHA-256' }, pw,
      { name: 'HMAC', hash: 'SHA-1' }, true, ['sign']);
    let cap;
    try { await s.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 100001, hash: 'SHA-1' }, pw, 160); }
    catch (e) { cap = [e.name, e.message]; }
    return {
      p1: hex(await s.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1, hash: 'SHA-1' }, pw, 160)),
      p4096: hex(await s.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 4096, hash: 'SHA-1' }, pw, 160)),
      hkdf: hex(await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: fromHex('000102030405060708090a0b0c'), info: fromHex('f0f1f2f3f4f5f6f7f8f9') }, ikm, 336)),
      derived: [derived.algorithm, (await s.exportKey('raw', derived)).byteLength],
      cap, algorithm: pw.algorithm, extractable: pw.extractable,
    };`);
  assert.equal(r.p1, '0c60c80f961f0e71f3a9b524af6012062fe037a6');
  assert.equal(r.p4096, '4b007901b765489abead49d926f721d065a429c1');
  assert.equal(r.hkdf, '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  assert.deepEqual(r.derived, [{ name: 'HMAC', hash: { name: 'SHA-1' }, length: 512 }, 64]);
  assert.deepEqual(r.cap, ['NotSupportedError', 'Pbkdf2 failed: iteration counts above 100000 are not supported (requested 100001).']);
  assert.deepEqual([r.algorithm, r.extractable], [{ name: 'PBKDF2' }, false]);
});

test('Ed25519: RFC 8032 test 1 from JWK and raw keys', async () => {
  const r = await subtle(`
    const b64url = (h) => btoa(String.fromCharCode(...fromHex(h))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    const d = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
    const x = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
    const priv = await s.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: b64url(d), x: b64url(x) }, 'Ed25519', true, ['sign']);
    const pub = await s.importKey('raw', fromHex(x), 'Ed25519', true, ['verify']);
    const sig = await s.sign('Ed25519', priv, new Uint8Array(0));
    return { sig: hex(sig), ok: await s.verify('Ed25519', pub, sig, new Uint8Array(0)), raw: hex(await s.exportKey('raw', pub)),
      jwk: await s.exportKey('jwk', priv) };`);
  assert.equal(r.sig, 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
  assert.equal(r.ok, true);
  assert.equal(r.raw, 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  assert.deepEqual(Object.keys(r.jwk), ['kty', 'key_ops', 'alg', 'ext', 'crv', 'x', 'd']);
  assert.equal(r.jwk.alg, 'EdDSA');
});

test('Generated key pairs sign, verify, encrypt and agree through every format', async () => {
  const r = await subtle(`
    const out = {};
    const rsa = { modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    for (const [label, params, op, pub, priv] of [
      ['ECDSA', { name: 'ECDSA', namedCurve: 'P-521' }, { name: 'ECDSA', hash: 'SHA-384' }, ['spki', 'jwk', 'raw'], ['pkcs8', 'jwk']],
      ['Ed25519', 'Ed25519', 'Ed25519', ['spki', 'jwk', 'raw'], ['pkcs8', 'jwk']],
      ['PSS', { name: 'RSA-PSS', ...rsa }, { name: 'RSA-PSS', saltLength: 20 }, ['spki', 'jwk'], ['pkcs8', 'jwk']],
      ['PKCS1', { name: 'RSASSA-PKCS1-v1_5', ...rsa }, 'RSASSA-PKCS1-v1_5', ['spki', 'jwk'], ['pkcs8', 'jwk']]]) {
      const pair = await s.generateKey(params, true, ['sign', 'verify']);
      const sig = await s.sign(op, pair.privateKey, enc.encode('m'));
      const r = [sig.byteLength, await s.verify(op, pair.publicKey, sig, enc.encode('m')), await s.verify(op, pair.publicKey, sig, enc.encode('n'))];
      for (const f of pub) r.push(await s.verify(op, await s.importKey(f, await s.exportKey(f, pair.publicKey), params, true, ['verify']), sig, enc.encode('m')));
      for (const f of priv) r.push(await s.verify(op, pair.publicKey, await s.sign(op, await s.importKey(f, await s.exportKey(f, pair.privateKey), params, true, ['sign']), enc.encode('m')), enc.encode('m')));
      out[label] = r;
    }
    const oaep = await s.generateKey({ name: 'RSA-OAEP', ...rsa }, false, ['encrypt', 'decrypt']);
    out.oaep = new TextDecoder().decode(await s.decrypt('RSA-OAEP', oaep.privateKey, await s.encrypt('RSA-OAEP', oaep.publicKey, enc.encode('hi'))));
    out.oaepUsages = [oaep.publicKey.usages, oaep.privateKey.usages, oaep.publicKey.extractable, oaep.privateKey.extractable];
    for (const params of [{ name: 'ECDH', namedCurve: 'P-256' }, { name: 'X25519' }]) {
      const a = await s.generateKey(params, true, ['deriveBits']);
      const b = await s.generateKey(params, true, ['deriveBits']);
      const ab = await s.deriveBits({ name: params.name, public: b.publicKey }, a.privateKey, 256);
      const ba = await s.deriveBits({ name: params.name, public: a.publicKey }, b.privateKey, null);
      out[params.name] = [hex(ab) === hex(ba), (await s.deriveBits({ name: params.name, public: b.publicKey }, a.privateKey, 12)).byteLength, a.publicKey.usages];
    }
    return out;`);
  assert.deepEqual(r.ECDSA, [132, true, false, true, true, true, true, true]);
  assert.deepEqual(r.Ed25519, [64, true, false, true, true, true, true, true]);
  assert.deepEqual(r.PSS, [128, true, false, true, true, true, true]);
  assert.deepEqual(r.PKCS1, [128, true, false, true, true, true, true]);
  assert.equal(r.oaep, 'hi');
  assert.deepEqual(r.oaepUsages, [['encrypt'], ['decrypt'], true, false]);
  assert.deepEqual(r.ECDH, [true, 2, []]);
  assert.deepEqual(r.X25519, [true, 2, []]);
});

test('Errors have workerd classes and messages', async () => {
  const r = await subtle(`
    const hmac = await s.importKey('raw', new Uint8Array(16), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const out = {};
    const cases = {
      unknown: () => s.importKey('raw', new Uint8Array(16), 'FOO', false, ['sign']),
      usage: () => s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['sign']),
      none: () => s.importKey('raw', new Uint8Array(16), 'AES-GCM', false, []),
      wrongAlg: () => s.sign('ECDSA', hmac, new Uint8Array(1)),
      wrongUsage: () => s.verify('HMAC', hmac, new Uint8Array(1), new Uint8Array(1)),
      notKey: () => s.sign('HMAC', {}, new Uint8Array(1)),
      export: () => s.exportKey('raw', hmac),
      badSpki: () => s.importKey('spki', new Uint8Array(10), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']),
      missingHash: () => s.importKey('raw', new Uint8Array(16), { name: 'HMAC' }, false, ['sign']),
      ivType: () => s.encrypt({ name: 'AES-GCM', iv: 'x' }, hmac, new Uint8Array(1)),
    };
    for (const [k, f] of Object.entries(cases)) { try { await f(); out[k] = 'resolved'; } catch (e) { out[k] = [e.name, e.message, e instanceof DOMException]; } }
    return out;`);
  assert.deepEqual(r.unknown, ['NotSupportedError', 'Unrecognized key import algorithm "FOO" requested.', true]);
  assert.deepEqual(r.usage, ['SyntaxError', 'Attempt to import secret AES-GCM key with invalid usage "sign".', true]);
  assert.deepEqual(r.none, ['SyntaxError', 'Secret/private CryptoKeys must have at least one usage.', true]);
  assert.deepEqual(r.wrongAlg, ['InvalidAccessError', 'Requested algorithm "ECDSA" does not match this CryptoKey\'s algorithm "HMAC".', true]);
  assert.deepEqual(r.wrongUsage, ['InvalidAccessError', 'Requested key usage "verify" does not match any usage listed in this CryptoKey.', true]);
  assert.deepEqual(r.notKey, ['TypeError', "Failed to execute 'sign' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'.", false]);
  assert.deepEqual(r.export, ['InvalidAccessError', 'Attempt to export non-extractable HMAC key.', true]);
  assert.deepEqual(r.badSpki, ['DataError', 'Invalid SPKI input.', true]);
  assert.deepEqual(r.missingHash, ['TypeError', 'Missing field "hash" in "algorithm".', false]);
  assert.deepEqual(r.ivType, ['TypeError', "Incorrect type for the 'iv' field on 'EncryptAlgorithm': the provided value is not of type 'BufferSource'.", false]);
});

test('Key material stays out of reach, even with built-ins replaced', async () => {
  // A fresh context, so that the replaced built-ins do not leak into other tests.
  const other = createRuntime();
  const r = await other.run(`(async () => {
    let seen = '';  // a string: an array's push would meet the Array.prototype setter below
    const key = await crypto.subtle.importKey('raw', new Uint8Array(16).fill(7), 'AES-GCM', false, ['encrypt']);
    const keyBytes = Object.getOwnPropertyNames(key).concat(Object.getOwnPropertySymbols(key).map(String));
    // Replace what a careless implementation would call on the key's bytes or records.
    const TA = Object.getPrototypeOf(Uint8Array.prototype);
    for (const name of ['slice', 'subarray', 'map', 'set', 'fill']) {
      const original = TA[name];
      TA[name] = function (...args) { seen += '|' + name + ':' + Array.from(this).join(','); return original.apply(this, args); };
    }
    Object.defineProperty(Uint8Array, Symbol.species, { get() { seen += '|' + 'species'; return Uint8Array; } });
    Object.defineProperty(Object.prototype, 'material', { get() { seen += '|' + 'material'; return undefined; }, configurable: true });
    // Names of internal records, never members of a WebCrypto dictionary (which WebIDL reads
    // through the prototype chain).
    Object.defineProperty(Object.prototype, 'der', { get() { seen += '|' + 'der'; return undefined; }, configurable: true });
    Object.defineProperty(Array.prototype, '0', { set(v) { seen += '|' + 'index0'; }, configurable: true });
    const arrayIterator = Array.prototype[Symbol.iterator];
    Array.prototype[Symbol.iterator] = function () { seen += '|' + 'iterator'; return arrayIterator.call(this); };
    globalThis.Uint8Array = function () { seen += '|' + 'Uint8Array'; };
    globalThis.Promise = function () { seen += '|' + 'Promise'; };
    const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new DataView(new ArrayBuffer(12)) }, key, new DataView(new ArrayBuffer(3)));
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    const raw = await crypto.subtle.exportKey('raw', hmac);
    const jwk = await crypto.subtle.exportKey('jwk', hmac);
    const ec = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const ecJwk = await crypto.subtle.exportKey('jwk', ec.privateKey);
    const ecBack = await crypto.subtle.importKey('jwk', ecJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    delete Object.prototype.material;
    delete Object.prototype.der;
    delete Array.prototype[0];
    return { ctLength: ct.byteLength, rawLength: raw.byteLength, jwkHasK: typeof jwk.k, keyBytes, ecBack: ecBack.type,
      leaked: seen.includes('7,7,7') || seen.includes('|material') || seen.includes('|der'), seen,
      forged: await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, Object.create(CryptoKey.prototype), new Uint8Array(1)).then(() => 'resolved', (e) => e.name) };
  })()`);
  assert.equal(r.ctLength, 3 + 16);
  assert.equal(r.rawLength, 64);
  assert.equal(r.jwkHasK, 'string');
  assert.equal(r.ecBack, 'private');
  assert.deepEqual([...r.keyBytes], ['usages', 'algorithm', 'extractable', 'type']);
  assert.equal(r.leaked, false);
  assert.equal(r.seen, '', 'the prelude called none of the replaced built-ins');
  assert.equal(r.forged, 'TypeError');
});
