// crypto.subtle and CryptoKey inside a Durable Object: known-answer vectors, round trips of every
// algorithm and format, keys exchanged with Node's crypto both ways, and workerd's errors. The
// object is tests/e2e/fixtures/webcrypto_probe.js (also run next to workerd by
// tests/diff/webcrypto.mjs); expected values are the published vectors and workerd's answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('webcrypto_probe.js'), { name: 'crypto-probe' });
});

after(async () => {
  await server?.stop();
});

// The answer of a scenario; fails the test when it threw.
async function scenario(name, opts) {
  const answer = await server.json(`/_do/crypto-probe/${name}/${name}`, opts);
  assert.equal(answer.threw, undefined, `${name} threw ${JSON.stringify(answer.threw)}`);
  return answer.ok;
}

const up = (s) => s.toUpperCase();

test('HMAC: RFC 4231 vectors and a webhook signature check', async () => {
  const r = await scenario('hmac_rfc4231');
  assert.equal(r.case1_256.mac, up('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'));
  assert.equal(r.case1_512.mac, up('87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854'));
  assert.equal(r.case2_256.mac, up('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'));
  assert.equal(r.case6_384.mac, up('4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952'));
  for (const c of Object.values(r)) assert.deepEqual([c.verifies, c.tampered], [true, false]);
  assert.deepEqual(await scenario('hmac_webhook'), {
    verifies: true, algorithm: { name: 'HMAC', hash: { name: 'SHA-256' }, length: 80 }, usages: ['verify'],
    extractable: false, type: 'secret',
  });
});

test('Ed25519: RFC 8032 signatures', async () => {
  const r = await scenario('ed25519_rfc8032');
  assert.equal(r.test1.signature, up('e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'));
  assert.equal(r.test2.signature, up('92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'));
  for (const t of [r.test1, r.test2]) assert.deepEqual([t.verifies, t.exportedX], [true, true]);
});

test('AES-GCM: the GCM specification test cases', async () => {
  const r = await scenario('aes_gcm_vectors');
  assert.equal(r.case2.ciphertextAndTag, up('0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf'));
  assert.equal(r.case3.ciphertextAndTag, up('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985'
    + '4d5c2af327cd64a62cf35abd2ba6fab4'));
  assert.equal(r.case4.ciphertextAndTag, up('42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091'
    + '5bc94fbc3221a5db94fae95ae7121a47'));
  for (const c of Object.values(r)) assert.equal(c.decrypts, true);
});

test('PBKDF2 and HKDF: RFC 6070 and RFC 5869 vectors, deriveKey', async () => {
  const r = await scenario('kdf_vectors');
  assert.equal(r.pbkdf2_1, up('0c60c80f961f0e71f3a9b524af6012062fe037a6'));
  assert.equal(r.pbkdf2_2, up('ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957'));
  assert.equal(r.pbkdf2_4096, up('4b007901b765489abead49d926f721d065a429c1'));
  assert.equal(r.hkdf_case1, up('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'));
  // The HMAC key is the first 256 bits of the same HKDF output; the AES one is PBKDF2-SHA-256.
  assert.equal(r.derivedHmac.raw, r.hkdf_case1.slice(0, 64));
  assert.deepEqual(r.derivedHmac.algorithm, { name: 'HMAC', hash: { name: 'SHA-256' }, length: 256 });
  assert.equal(r.derivedAes.raw, up(nodeCrypto.pbkdf2Sync('password', 'salt', 2, 16, 'sha256').toString('hex')));
  assert.deepEqual(r.keyAlgorithm, { name: 'PBKDF2' });
});

test('AES-CBC, AES-CTR and AES-KW: answers Node agrees with, RFC 3394, wrapped JWKs', async () => {
  const r = await scenario('aes_modes');
  const key = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  const cbc = nodeCrypto.createCipheriv('aes-128-cbc', key, Buffer.alloc(16, 7));
  assert.equal(r.cbc, up(Buffer.concat([cbc.update(data), cbc.final()]).toString('hex')));
  const ctr = nodeCrypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16, 0xff));
  const ctr128 = Buffer.concat([ctr.update(data), ctr.final()]).toString('hex');
  assert.equal(r.ctr128, up(ctr128));
  // With a 4-bit counter, the second block's counter is ...fff0, not 000...0 as with 128 bits.
  assert.equal(r.ctr4.slice(0, 32), up(ctr128.slice(0, 32)));
  assert.notEqual(r.ctr4.slice(32, 64), up(ctr128.slice(32, 64)));
  assert.deepEqual([r.cbcBack, r.ctrBack], [data.toString(), data.toString()]);
  assert.equal(r.kwRfc3394, '1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5');
  assert.equal(r.unwrapped, '00112233445566778899AABBCCDDEEFF');
  assert.deepEqual(r.jwk, { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A128CBC', ext: true, k: 'AAECAwQFBgcICQoLDA0ODw' });
  assert.equal(r.kwJwk.alg, 'A128KW');
  // The wrapped JWK is AES-GCM over the JSON workerd writes (member order included).
  const json = JSON.stringify({ kty: 'oct', key_ops: ['encrypt'], alg: 'A128GCM', ext: true, k: 'ABEiM0RVZneImaq7zN3u_w' });
  const gcm = nodeCrypto.createCipheriv('aes-128-gcm', key, Buffer.alloc(12));
  assert.equal(r.wrappedJwk, up(Buffer.concat([gcm.update(json), gcm.final(), gcm.getAuthTag()]).toString('hex')));
  assert.deepEqual(r.unwrappedJwk, { usages: ['encrypt'], algorithm: { name: 'AES-GCM', length: 128 }, extractable: false, type: 'secret' });
});

test('Every algorithm round-trips through every format it allows', async () => {
  const r = await scenario('round_trips');
  const rsaAlgorithm = (name) => ({ name, modulusLength: 1024, publicExponent: { 0: 1, 1: 0, 2: 1 }, hash: { name: 'SHA-256' } });
  const expected = {
    ECDSA: [{ name: 'ECDSA', namedCurve: 'P-256' }, 64], ECDSA384: [{ name: 'ECDSA', namedCurve: 'P-384' }, 96],
    ECDSA521: [{ name: 'ECDSA', namedCurve: 'P-521' }, 132], Ed25519: [{ name: 'Ed25519' }, 64],
    RSASSA: [rsaAlgorithm('RSASSA-PKCS1-v1_5'), 128], 'RSA-PSS': [rsaAlgorithm('RSA-PSS'), 128],
  };
  for (const [label, [algorithm, bytes]] of Object.entries(expected)) {
    const k = r[label];
    assert.deepEqual(k.pairKeys, ['publicKey', 'privateKey'], label);
    assert.deepEqual(k.publicKey, { usages: ['verify'], algorithm, extractable: true, type: 'public' }, label);
    assert.deepEqual(k.privateKey, { usages: ['sign'], algorithm, extractable: true, type: 'private' }, label);
    assert.equal(k.signatureBytes, bytes, label);
    assert.deepEqual([k.verifies, k.wrongData], [true, false], label);
    for (const f of ['public_spki', 'public_jwk', 'private_pkcs8', 'private_jwk']) assert.equal(k[f], true, `${label} ${f}`);
    if (label.startsWith('ECDSA') || label === 'Ed25519') assert.equal(k.public_raw, true, label);
  }
  assert.deepEqual(r.ECDSA.privateJwkMembers, ['crv', 'd', 'ext', 'key_ops', 'kty', 'x', 'y']);
  assert.deepEqual(r.ECDSA.privateJwkHeader, { kty: 'EC', crv: 'P-256', key_ops: ['sign'], ext: true });
  assert.deepEqual(r.Ed25519.privateJwkHeader, { kty: 'OKP', alg: 'EdDSA', crv: 'Ed25519', key_ops: ['sign'], ext: true });
  assert.deepEqual(r['RSA-PSS'].privateJwkHeader, { kty: 'RSA', alg: 'PS256', key_ops: ['sign'], ext: true });
  assert.deepEqual(r.RSASSA.privateJwkMembers, ['alg', 'd', 'dp', 'dq', 'e', 'ext', 'key_ops', 'kty', 'n', 'p', 'q', 'qi']);
  assert.deepEqual(r.oaep, {
    usages: [['encrypt', 'wrapKey'], ['decrypt', 'unwrapKey']], ciphertextBytes: 128, decrypted: 'secret',
    unwrapped: { usages: ['decrypt'], algorithm: { name: 'AES-GCM', length: 128 }, extractable: false, type: 'secret' },
    jwkAlg: 'RSA-OAEP-256',
  });
  assert.deepEqual(r.ECDH, { usages: [[], ['deriveKey', 'deriveBits']], bits: 384, agree: true, truncated: 2,
    derived: { name: 'AES-CBC', length: 128 }, privateJwk: 20, pkcs8Back: ['deriveBits'] });
  assert.deepEqual(r.X25519, { usages: [[], ['deriveKey', 'deriveBits']], bits: 256, agree: true, truncated: 2,
    derived: { name: 'AES-CBC', length: 128 }, privateJwk: 20, pkcs8Back: ['deriveBits'] });
  assert.deepEqual(r.HMAC.algorithm, { name: 'HMAC', hash: { name: 'SHA-384' }, length: 1024 });
  assert.equal(r.HMAC.rawBytes, 128);
  assert.deepEqual(r.HMAC.jwk, ['kty', 'use', 'key_ops', 'alg', 'ext', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp',
    'dq', 'qi', 'oth', 'k', 'pub', 'priv']);
});

test('Keys made by Node work in Dorm', async () => {
  const r = await scenario('node_keys');
  const rsa = nodeCrypto.createPrivateKey({ key: r.rsaJwk, format: 'jwk' });
  // PKCS #1 v1.5 is deterministic: Node's signature with its own key must equal Dorm's.
  assert.equal(r.rsaSignature, up(nodeCrypto.sign('sha256', Buffer.from('from node'), rsa).toString('hex')));
  assert.deepEqual(r.rsaAlgorithm, { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: { 0: 1, 1: 0, 2: 1 }, hash: { name: 'SHA-256' } });
  assert.equal(r.rsaJwk.alg, 'RS256');
  assert.deepEqual([r.rsaPkcs8Same, r.ecVerifies, r.ecSpkiSame], [true, true, true]);
  const ec = nodeCrypto.createPrivateKey({ key: r.ecJwk, format: 'jwk' });
  assert.equal(r.ecPkcs8, ec.export({ format: 'der', type: 'pkcs8' }).toString('base64'));
  const ecPublic = nodeCrypto.createPublicKey(ec).export({ format: 'jwk' });
  assert.equal(r.ecRaw, up(Buffer.concat([Buffer.from([4]), Buffer.from(ecPublic.x, 'base64url'), Buffer.from(ecPublic.y, 'base64url')]).toString('hex')));

  // A key and a signature made here, checked there.
  const data = Buffer.from('made by node');
  const cases = [
    ['ECDSA', nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }), { name: 'ECDSA', namedCurve: 'P-384' },
      { name: 'ECDSA', hash: 'SHA-384' }, (k) => nodeCrypto.sign('sha384', data, { key: k, dsaEncoding: 'ieee-p1363' })],
    ['Ed25519', nodeCrypto.generateKeyPairSync('ed25519'), { name: 'Ed25519' }, 'Ed25519', (k) => nodeCrypto.sign(null, data, k)],
    ['RSA-PSS', nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 2048 }), { name: 'RSA-PSS', hash: 'SHA-512' },
      { name: 'RSA-PSS', saltLength: 64 }, (k) => nodeCrypto.sign('sha512', data, { key: k, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 })],
  ];
  for (const [label, pair, algorithm, params, sign] of cases) {
    const signature = sign(pair.privateKey).toString('base64');
    for (const [format, key] of [['spki', pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')],
      ['jwk', pair.publicKey.export({ format: 'jwk' })]]) {
      const answer = await server.json('/_do/crypto-probe/exchange/import-verify', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ format, key, algorithm, params, signature, data: data.toString('base64') }),
      });
      assert.equal(answer.ok?.verifies, true, `${label} ${format}: ${JSON.stringify(answer)}`);
    }
  }
});

test('Keys made by Dorm work in Node', async () => {
  const r = await scenario('export-for-node');
  const data = Buffer.from(r.data, 'base64');
  const spki = (b64) => nodeCrypto.createPublicKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'spki' });
  const pkcs8 = (b64) => nodeCrypto.createPrivateKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'pkcs8' });
  const sig = (k) => Buffer.from(r[k].signature, 'base64');
  assert.equal(nodeCrypto.verify('sha256', data, { key: spki(r.ecdsa.spki), dsaEncoding: 'ieee-p1363' }, sig('ecdsa')), true);
  assert.equal(nodeCrypto.verify(null, data, spki(r.ed25519.spki), sig('ed25519')), true);
  assert.equal(nodeCrypto.verify('sha256', data, { key: spki(r.rsaPss.spki), padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32 }, sig('rsaPss')), true);
  assert.equal(nodeCrypto.verify('sha256', data, spki(r.rsaPkcs1.spki), sig('rsaPkcs1')), true);
  for (const k of ['ecdsa', 'ed25519', 'rsaPss', 'rsaPkcs1']) {
    // The private key Node reads has the public key the JWK describes.
    const fromPkcs8 = nodeCrypto.createPublicKey(pkcs8(r[k].pkcs8)).export({ format: 'jwk' });
    const fromJwk = nodeCrypto.createPublicKey({ key: r[k].jwk, format: 'jwk' }).export({ format: 'jwk' });
    assert.deepEqual(fromPkcs8, fromJwk, k);
  }
});

test('Edges: empty inputs, MD5 HMAC, odd lengths, JWK consistency checks', async () => {
  const r = await scenario('edge_cases');
  const ok = (name) => { assert.equal(r[name].threw, undefined, `${name}: ${JSON.stringify(r[name])}`); return r[name].ok; };
  const threw = (name) => r[name].threw;
  const hkdfEmpty = Buffer.from(nodeCrypto.hkdfSync('sha256', Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0), 8));
  assert.equal(ok('hkdfEmptyKey'), up(hkdfEmpty.toString('hex')));
  assert.equal(ok('hkdfZeroBits'), 0);
  assert.deepEqual(threw('hkdfTooLong'), { name: 'OperationError', message: 'HKDF deriveBits failed.' });
  assert.equal(ok('pbkdf2EmptyPassword'), up(nodeCrypto.pbkdf2Sync('', '', 3, 16, 'sha256').toString('hex')));
  assert.deepEqual(threw('pbkdf2Odd'), { name: 'OperationError',
    message: 'PBKDF2 requires a derived key length that is a multiple of eight (requested 12).' });
  assert.deepEqual(ok('hmacMd5'), {
    mac: up(nodeCrypto.createHmac('md5', 'key').update('x').digest('hex')),
    algorithm: { name: 'HMAC', hash: { name: 'MD5' }, length: 24 },
    jwk: { threw: { name: 'NotSupportedError', message: 'Unimplemented JWK key export format for key algorithm "MD5".' } },
  });
  assert.deepEqual(ok('hmacShortLength'), { algorithm: { name: 'HMAC', hash: { name: 'SHA-1' }, length: 13 }, raw: 'FFF8' });
  assert.deepEqual(ok('hmacGenerateOdd'), { algorithm: { name: 'HMAC', hash: { name: 'SHA-256' }, length: 12 }, bytes: 2 });
  const empty = ok('emptyData');
  const gcm = nodeCrypto.createCipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12));
  gcm.final();
  assert.equal(empty.gcm, up(gcm.getAuthTag().toString('hex')));
  assert.deepEqual([empty.gcmBack, empty.ctr], [0, 0]);
  assert.equal(empty.hmac, up(nodeCrypto.createHmac('sha1', Buffer.alloc(16)).digest('hex')));
  const taken = ok('dataTakenAtCall');
  const gcmTaken = nodeCrypto.createCipheriv('aes-128-gcm', Buffer.alloc(16), Buffer.alloc(12));
  const gcmBytes = Buffer.concat([gcmTaken.update('original'), gcmTaken.final(), gcmTaken.getAuthTag()]);
  assert.deepEqual(taken, {
    ciphertext: up(gcmBytes.toString('hex')),
    decrypted: 'original',
    mac: up(nodeCrypto.createHmac('sha256', Buffer.alloc(16)).update('original').digest('hex')),
    verified: true,
    getterChanged: up(nodeCrypto.createHmac('sha256', Buffer.alloc(16)).update(Buffer.alloc(8, 0x79)).digest('hex')),
  });
  assert.equal(ok('ecdhRawCompressed'), true);
  assert.deepEqual(threw('jwkRsaAlg'), { name: 'DataError',
    message: 'JSON Web Key Algorithm parameter "alg" ("RS384") does not match requested hash algorithm "RS384".' });
  assert.deepEqual(threw('jwkExtFalseAsymmetric'), { name: 'DataError',
    message: 'JWK ext field for "Ed25519" is set to false but extractable is true' });
  assert.deepEqual(ok('caseInsensitive'), [{ name: 'AES-GCM', length: 128 }, { name: 'Ed25519' }, { name: 'ECDSA', namedCurve: 'P-384' }]);
  assert.deepEqual(ok('nodeEd25519'), { algorithm: { name: 'NODE-ED25519', namedCurve: 'NODE-ED25519' }, verifies: true, jwk: 'Ed25519' });
  assert.deepEqual(threw('nodeEd25519BadCurve'), { name: 'NotSupportedError', message: 'EDDSA curve "Ed25519" isn\'t supported.' });
});

test('CryptoKey and SubtleCrypto look as in workerd', async () => {
  const r = await scenario('interfaces');
  assert.deepEqual(r, {
    keyOwn: ['usages', 'algorithm', 'extractable', 'type'],
    typeDescriptor: { writable: false, enumerable: true, configurable: true, value: 'string', get: 'undefined' },
    protoNames: ['constructor'],
    tag: '[object CryptoKey]',
    instance: true,
    construct: { threw: { name: 'TypeError', message: 'Illegal constructor' } },
    json: '{"usages":["encrypt","decrypt"],"algorithm":{"name":"AES-GCM","length":128},"extractable":false,"type":"secret"}',
    subtleMethods: ['encrypt', 'decrypt', 'sign', 'verify', 'digest', 'generateKey', 'deriveKey', 'deriveBits',
      'importKey', 'exportKey', 'wrapKey', 'unwrapKey', 'timingSafeEqual', 'constructor'],
    lengths: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    returnsPromise: true,
    // workerd builds the dictionary on each read; Dorm's is one object per key (see README).
    algorithmFresh: false,
    // As workerd: a CryptoKey is a host object that structured clone refuses.
    clone: {
      threw: {
        name: 'DataCloneError',
        message: 'Could not serialize object of type "CryptoKey". This type does not support serialization.',
      },
    },
    forgedKey: { threw: { name: 'TypeError', message: "Failed to execute 'encrypt' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'." } },
  });
});

test('Errors: workerd classes and messages', async () => {
  const r = await scenario('errors');
  const expected = {
    unknownAlgorithm: ['NotSupportedError', 'Unrecognized key import algorithm "FOO" requested.'],
    unknownGenerate: ['NotSupportedError', 'Unrecognized key generation algorithm "HKDF" requested.'],
    unknownFormat: ['NotSupportedError', 'Unrecognized key import format "pem".'],
    unknownHash: ['NotSupportedError', 'Unrecognized or unimplemented digest algorithm requested.'],
    missingHash: ['TypeError', 'Missing field "hash" in "algorithm".'],
    badUsage: ['SyntaxError', 'Attempt to import secret AES-GCM key with invalid usage "sign".'],
    noUsage: ['SyntaxError', 'Secret/private CryptoKeys must have at least one usage.'],
    usagesNotArray: ['TypeError', "Failed to execute 'importKey' on 'SubtleCrypto': parameter 5 is not of type 'Array'."],
    keyDataWrongType: ['TypeError', "Failed to execute 'importKey' on 'SubtleCrypto': parameter 2 is not of type 'BufferSource or JsonWebKey'."],
    jwkForRaw: ['TypeError', 'Import data provided for buffer-based import formats must be a buffer source.'],
    wrongAlgorithm: ['InvalidAccessError', 'Requested algorithm "ECDSA" does not match this CryptoKey\'s algorithm "HMAC".'],
    wrongUsage: ['InvalidAccessError', 'Requested key usage "verify" does not match any usage listed in this CryptoKey.'],
    notAKey: ['TypeError', "Failed to execute 'sign' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'."],
    notBytes: ['TypeError', "Failed to execute 'sign' on 'SubtleCrypto': parameter 3 is not of type 'BufferSource'."],
    missingAlgorithm: ['TypeError', "Failed to execute 'digest' on 'SubtleCrypto': parameter 1 is not of type 'string or HashAlgorithm'."],
    badAesLength: ['DataError', 'Imported AES key length must be 128, 192, or 256 bits but provided 120.'],
    badGcmTag: ['OperationError', 'Invalid AES-GCM tag length 100.'],
    missingIv: ['TypeError', 'Missing field "iv" in "algorithm".'],
    ivWrongType: ['TypeError', "Incorrect type for the 'iv' field on 'EncryptAlgorithm': the provided value is not of type 'BufferSource'."],
    gcmTampered: ['OperationError', 'Decryption failed. This could be due to a ciphertext authentication failure, bad padding, '
      + 'incorrect CryptoKey, or another algorithm-specific reason. Input length was 4, output length expected to be 4 for AES-GCM'],
    gcmTooShort: ['OperationError', 'Ciphertext length of 24 bits must be greater than or equal to the size of the AES-GCM tag length of 128 bits.'],
    nonExtractable: ['InvalidAccessError', 'Attempt to export non-extractable AES-GCM key.'],
    rawPrivateEc: ['InvalidAccessError', 'Raw export of elliptic curve keys is only allowed for public keys.'],
    ecdsaMissingHash: ['TypeError', 'Missing "hash" in AlgorithmIdentifier. (ECDSA requires that the hash algorithm be specified at '
      + 'call time rather than on the key. This differs from other WebCrypto algorithms for historical reasons.)'],
    badSpki: ['DataError', 'Invalid SPKI input.'],
    badPkcs8: ['DataError', 'Invalid PKCS8 input.'],
    curveMismatch: ['DataError', '"algorithm.namedCurve" "P-384" does not match the curve specified by the input key data.'],
    notRsa: ['DataError', 'Input was not an RSA key.'],
    unknownCurve: ['NotSupportedError', 'Unrecognized or unimplemented EC curve "P-999" requested.'],
    publicOnlyUsages: ['SyntaxError', 'Attempt to generate asymmetric keys with no valid private key usages.'],
    badRawEc: ['DataError', 'Failed to import raw EC key data: Invalid point encoding..'],
    badRawEd: ['DataError', 'Ed25519 raw keys must be exactly 32-bytes (provided 10).'],
    jwkWrongKty: ['DataError', 'HMAC "jwk" key import requires a JSON Web Key with Key Type parameter ("kty") equal to "oct" (encountered "RSA").'],
    jwkBadK: ['DataError', 'Symmetric "jwk" key import requires a base64Url encoding of the key.'],
    jwkExtFalse: ['DataError', 'JWK ext field for "AES-GCM" is set to false but extractable is true'],
    pbkdf2Extractable: ['SyntaxError', 'PBKDF2 key cannot be extractable.'],
    pbkdf2NullLength: ['OperationError', 'PBKDF2 cannot derive a key with null length.'],
    pbkdf2ZeroIterations: ['OperationError', 'PBKDF2 requires a positive iteration count (requested 0).'],
    pbkdf2MissingSalt: ['TypeError', 'Missing field "salt" in "algorithm".'],
    negativeLength: ['TypeError', 'deriveBits length must be an unsigned long integer.'],
    rsaSmallModulus: ['OperationError', 'The modulus length must be a multiple of 8 and between 256 and 16k, but 128 was requested.'],
    rsaOddModulus: ['OperationError', "Can't generate key: RSA key size is required to be a multiple of 128"],
    rsaBadExponent: ['OperationError', 'The "publicExponent" must be either 3 or 65537, but got 5.'],
    kwBadLength: ['OperationError', "Provided a wrapped key to unwrap that is 160 bits which isn't a multiple of 64 bits."],
    kwTampered: ['OperationError', 'AES-KW key unwrapping failed.'],
    deriveKeyUnknown: ['NotSupportedError', 'Unrecognized derived key type "RSA-PSS" requested.'],
    deriveWrongUsage: ['InvalidAccessError', 'Requested key usage "deriveKey" does not match any usage listed in this CryptoKey.'],
    deriveKeyNoLength: ['TypeError', 'Missing field "length" in "derivedKeyParams".'],
    deriveKeyHkdfNull: ['OperationError', 'HKDF cannot derive a key with null length.'],
    // Cloudflare's limit; workerd run locally has none (see README).
    pbkdf2TooMany: ['NotSupportedError', 'Pbkdf2 failed: iteration counts above 100000 are not supported (requested 100001).'],
    x25519Zero: ['OperationError', 'Failed to derive EDDH key: public key routines INVALID_PEER_KEY.'],
    ecdhMixed: ['InvalidAccessError', 'Base ECDH private key cannot be used to derive a key from a peer X25519 public key'],
    ecdhCurves: ['InvalidAccessError', 'Private key for derivation is using curve "P-256" while public key is using "P-384".'],
    cbcBadPadding: ['OperationError', 'Decryption failed. This could be due to a ciphertext authentication failure, bad padding, '
      + 'incorrect CryptoKey, or another algorithm-specific reason. Input length was 32, output length expected to be 16 for AES-CBC'],
    ctrBadCounter: ['OperationError', 'Counter must have length of 16 bytes (provided 8).'],
    oaepTooLong: ['OperationError', 'RSA-OAEP failed encrypt/decrypt.'],
    pssNoSalt: ['DataError', 'Failed to provide salt for RSA-PSS key operation which requires a salt'],
    jwkEcBadPoint: ['OperationError', 'Invalid EC key; public key coordinates "x" and "y" are invalid: Point is not on curve..'],
    jwkOkpWrongCurve: ['NotSupportedError', 'Only Ed25519 is supported but "X25519" was requested.'],
    jwkEcdsaAlg: ['DataError', 'JSON Web Key Algorithm parameter "alg" ("ES384") does not match requested curve.'],
    spkiTrailing: ['DataError', 'Invalid 2 trailing bytes after SPKI input.'],
    ecdhPublicUsage: ['SyntaxError', 'Attempt to import public ECDH key with invalid usage "deriveBits".'],
    unwrapBadJson: ['DataError', 'Symmetric "jwk" key import requires a JSON Web Key with Key Type parameter "kty" equal to "oct" (encountered "undefined").'],
    // workerd takes any SPKI key as an Ed25519 one; Dorm checks the type (see README).
    ed25519FromEcSpki: ['DataError', 'Input was not an Ed25519 key.'],
    rawSecretImport: ['NotSupportedError', 'Key format "raw-secret" requires the webcrypto_modern_algorithms flag.'],
    rawSecretExport: ['NotSupportedError', 'Key format "raw-secret" requires the webcrypto_modern_algorithms flag.'],
    exportBadFormat: ['NotSupportedError', 'AES-CBC key only supports exporting "raw", "raw-secret" & "jwk", not "spki".'],
    edBadSignatureLength: ['OperationError', 'Invalid Ed25519 signature length 3'],
  };
  for (const [name, [errorName, message]] of Object.entries(expected)) {
    assert.deepEqual(r[name], { name: errorName, message }, name);
  }
  assert.deepEqual(Object.keys(r).sort(), Object.keys(expected).sort());
});
