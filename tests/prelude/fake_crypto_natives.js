'use strict';

// The WebCrypto natives of src/runtime/crypto_subtle.h (contracts in docs/contracts.md), written
// with node:crypto for the prelude tests. Each checks its arguments as strictly as the C++ does,
// so that the prelude is caught passing what the contract does not allow.

const nodeCrypto = require('node:crypto');
const util = require('node:util');

const nodeDigests = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', MD5: 'md5' };
const nodeCurves = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
const webCurves = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const jwkCurves = { 'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521' };
const coordinateBytes = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

function fail(what) {
  throw new Error(`fake crypto native: ${what}`);
}

// Natives bound to a context: `realm` holds that context's Uint8Array, ArrayBuffer and Array.
function createCryptoNatives(realm) {
  const isU8 = (v) => util.types.isUint8Array(v);
  const expect = (condition, what) => { if (!condition) fail(what); };
  const bytes = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  // Copied element by element: the context's own methods may have been replaced by its code.
  const toU8 = (buf) => {
    const out = new realm.Uint8Array(buf.length);
    for (let i = 0; i < buf.length; i++) out[i] = buf[i];
    return out;
  };
  const toAB = (buf) => toU8(buf).buffer;
  const b64u = (buf) => Buffer.from(buf).toString('base64url');
  const unb64u = (s) => Buffer.from(s, 'base64url');
  const digest = (name, md5 = true) => {
    expect(name in nodeDigests && (md5 || name !== 'MD5'), `unknown digest ${name}`);
    return nodeDigests[name];
  };
  const integer = (v, min, max, what) => {
    expect(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max, what);
    return v;
  };
  // The length of the DER element at the start of `der` (its header and contents).
  const derLength = (der) => {
    if (der.length < 2) return -1;
    const first = der[1];
    if (first < 0x80) return 2 + first;
    const count = first & 0x7f;
    let length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[2 + i];
    return 2 + count + length;
  };
  const publicKeyOf = (der) => nodeCrypto.createPublicKey({ key: bytes(der), format: 'der', type: 'spki' });
  const privateKeyOf = (der) => nodeCrypto.createPrivateKey({ key: bytes(der), format: 'der', type: 'pkcs8' });
  const kindOf = (key) => ({
    rsa: 'RSA', ec: webCurves[key.asymmetricKeyDetails?.namedCurve] ? 'EC' : '', ed25519: 'Ed25519', x25519: 'X25519',
  })[key.asymmetricKeyType] ?? '';
  const encode = (key) => key.export({ format: 'der', type: key.type === 'private' ? 'pkcs8' : 'spki' });

  function ctr(key, counter, bits, data) {
    const cipher = `aes-${key.length * 8}-ctr`;
    const mask = (1n << BigInt(bits)) - 1n;
    const value = BigInt(`0x${Buffer.from(counter).toString('hex')}`);
    const blocks = BigInt(Math.ceil(data.length / 16));
    if (bits < 128 && blocks > (1n << BigInt(bits))) return null;
    let low = value & mask;
    const high = value & ~mask;
    const pieces = [];
    let offset = 0;
    while (offset < data.length) {
      const untilWrap = bits === 128 ? blocks : mask - low + 1n;
      let take = data.length - offset;
      if (untilWrap * 16n < BigInt(take)) take = Number(untilWrap * 16n);
      const iv = Buffer.from((high | low).toString(16).padStart(32, '0'), 'hex');
      const c = nodeCrypto.createCipheriv(cipher, key, iv);
      pieces.push(c.update(data.subarray(offset, offset + take)), c.final());
      offset += take;
      low = 0n;
    }
    return Buffer.concat(pieces);
  }

  return {
    hmac(hash, key, data) {
      expect(isU8(key) && isU8(data), 'hmac(hash, Uint8Array, Uint8Array)');
      return toAB(nodeCrypto.createHmac(digest(hash), bytes(key)).update(bytes(data)).digest());
    },
    aesCrypt(mode, encrypt, key, iv, data, aad, bits) {
      expect(['AES-GCM', 'AES-CBC', 'AES-CTR'].includes(mode) && typeof encrypt === 'boolean'
        && isU8(key) && [16, 24, 32].includes(key.length) && isU8(iv) && isU8(data)
        && (aad === undefined || isU8(aad)) && Number.isInteger(bits), 'aesCrypt arguments');
      const k = bytes(key);
      const input = bytes(data);
      if (mode === 'AES-CTR') {
        expect(iv.length === 16 && bits >= 1 && bits <= 128, 'aesCrypt CTR parameters');
        const out = ctr(k, iv, bits, input);
        return out === null ? null : toAB(out);
      }
      if (mode === 'AES-CBC') {
        expect(iv.length === 16, 'aesCrypt CBC iv');
        try {
          const c = (encrypt ? nodeCrypto.createCipheriv : nodeCrypto.createDecipheriv)(`aes-${k.length * 8}-cbc`, k, bytes(iv));
          return toAB(Buffer.concat([c.update(input), c.final()]));
        } catch {
          return null;
        }
      }
      expect(iv.length > 0 && [32, 64, 96, 104, 112, 120, 128].includes(bits), 'aesCrypt GCM parameters');
      const tagBytes = bits / 8;
      const name = `aes-${k.length * 8}-gcm`;
      if (encrypt) {
        const c = nodeCrypto.createCipheriv(name, k, bytes(iv), { authTagLength: 16 });
        if (aad !== undefined && aad.length > 0) c.setAAD(bytes(aad));
        const out = Buffer.concat([c.update(input), c.final()]);
        return toAB(Buffer.concat([out, c.getAuthTag().subarray(0, tagBytes)]));
      }
      if (input.length < tagBytes) return null;
      try {
        const c = nodeCrypto.createDecipheriv(name, k, bytes(iv), { authTagLength: tagBytes });
        if (aad !== undefined && aad.length > 0) c.setAAD(bytes(aad));
        c.setAuthTag(input.subarray(input.length - tagBytes));
        return toAB(Buffer.concat([c.update(input.subarray(0, input.length - tagBytes)), c.final()]));
      } catch {
        return null;
      }
    },
    aesKeyWrap(wrap, key, data) {
      expect(typeof wrap === 'boolean' && isU8(key) && [16, 24, 32].includes(key.length) && isU8(data), 'aesKeyWrap arguments');
      if (data.length % 8 !== 0 || data.length < (wrap ? 16 : 24)) return null;
      const iv = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
      try {
        const c = (wrap ? nodeCrypto.createCipheriv : nodeCrypto.createDecipheriv)(`id-aes${key.length * 8}-wrap`, bytes(key), iv);
        return toAB(Buffer.concat([c.update(bytes(data)), c.final()]));
      } catch {
        return null;
      }
    },
    pbkdf2(hash, password, salt, iterations, length) {
      expect(isU8(password) && isU8(salt), 'pbkdf2 byte arguments');
      integer(iterations, 1, 100000, 'pbkdf2 iterations');
      integer(length, 0, 255 * 64, 'pbkdf2 length');
      return toAB(nodeCrypto.pbkdf2Sync(bytes(password), bytes(salt), iterations, length, digest(hash)));
    },
    hkdf(hash, key, salt, info, length) {
      expect(isU8(key) && isU8(salt) && isU8(info), 'hkdf byte arguments');
      integer(length, 0, 255 * 64, 'hkdf length');
      const md = digest(hash);
      if (length > 255 * nodeCrypto.createHash(md).digest().length) return null;
      return toAB(Buffer.from(nodeCrypto.hkdfSync(md, bytes(key), bytes(salt), bytes(info), length)));
    },
    keyGenerate(kind, a, b) {
      let pair;
      if (kind === 'RSA') {
        integer(a, 256, 16384, 'keyGenerate RSA modulus');
        expect(isU8(b), 'keyGenerate RSA exponent');
        pair = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: a, publicExponent: Number(BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`)) });
      } else if (kind === 'EC') {
        expect(a in nodeCurves, 'keyGenerate EC curve');
        pair = nodeCrypto.generateKeyPairSync('ec', { namedCurve: nodeCurves[a] });
      } else if (kind === 'Ed25519' || kind === 'X25519') {
        pair = nodeCrypto.generateKeyPairSync(kind.toLowerCase());
      } else {
        fail('keyGenerate kind');
      }
      return realm.Array.of(toU8(encode(pair.privateKey)), toU8(encode(pair.publicKey)));
    },
    keyParse(format, der) {
      expect((format === 'spki' || format === 'pkcs8') && isU8(der), 'keyParse(format, Uint8Array)');
      let key;
      try {
        key = format === 'spki' ? publicKeyOf(der) : privateKeyOf(der);
      } catch {
        return null;
      }
      const kind = kindOf(key);
      if (kind === '') return null;
      let detail;
      let exponent;
      if (kind === 'RSA') {
        detail = key.asymmetricKeyDetails.modulusLength;
        let hex = key.asymmetricKeyDetails.publicExponent.toString(16);
        if (hex.length % 2) hex = `0${hex}`;
        exponent = toU8(Buffer.from(hex, 'hex'));
      } else if (kind === 'EC') {
        detail = webCurves[key.asymmetricKeyDetails.namedCurve];
      }
      return realm.Array.of(kind, toU8(encode(key)), der.length - derLength(der), detail, exponent);
    },
    keyFromRaw(kind, curve, raw) {
      expect(typeof curve === 'string' && isU8(raw), 'keyFromRaw(kind, curve, Uint8Array)');
      try {
        if (kind === 'EC') {
          expect(curve in nodeCurves, 'keyFromRaw curve');
          const point = nodeCrypto.ECDH.convertKey(bytes(raw), nodeCurves[curve], undefined, undefined, 'uncompressed');
          const w = coordinateBytes[curve];
          if (point.length !== 1 + 2 * w) return null;
          const jwk = { kty: 'EC', crv: jwkCurves[curve], x: b64u(point.subarray(1, 1 + w)), y: b64u(point.subarray(1 + w)) };
          return toU8(encode(nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' })));
        }
        expect(kind === 'Ed25519' || kind === 'X25519', 'keyFromRaw kind');
        if (raw.length !== 32) return null;
        return toU8(encode(nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: kind, x: b64u(bytes(raw)) }, format: 'jwk' })));
      } catch {
        return null;
      }
    },
    keyFromJwk(kind, curve, parts) {
      expect(typeof curve === 'string' && Array.isArray(parts) && parts.every((p) => p === undefined || isU8(p)), 'keyFromJwk(kind, curve, parts)');
      const s = (i) => (parts[i] === undefined ? undefined : b64u(bytes(parts[i])));
      let jwk;
      if (kind === 'RSA') {
        jwk = { kty: 'RSA', n: s(0), e: s(1), d: s(2), p: s(3), q: s(4), dp: s(5), dq: s(6), qi: s(7) };
      } else if (kind === 'EC') {
        expect(curve in nodeCurves, 'keyFromJwk curve');
        const w = coordinateBytes[curve];
        const pad = (i) => (parts[i] === undefined ? undefined : b64u(Buffer.concat([Buffer.alloc(Math.max(0, w - parts[i].length)), bytes(parts[i])])));
        jwk = { kty: 'EC', crv: jwkCurves[curve], x: pad(0), y: pad(1), d: pad(2) };
      } else {
        expect(kind === 'Ed25519' || kind === 'X25519', 'keyFromJwk kind');
        jwk = { kty: 'OKP', crv: kind, x: s(0), d: s(1) };
      }
      for (const k of Object.keys(jwk)) if (jwk[k] === undefined) delete jwk[k];
      try {
        if (jwk.d !== undefined) {
          if (kind === 'Ed25519' || kind === 'X25519') {
            // The public half comes from the private key, as the C++ native derives it.
            const probe = nodeCrypto.createPrivateKey({ key: { ...jwk, x: b64u(Buffer.alloc(32)) }, format: 'jwk' });
            jwk.x = probe.export({ format: 'jwk' }).x;
          }
          return toU8(encode(nodeCrypto.createPrivateKey({ key: jwk, format: 'jwk' })));
        }
        return toU8(encode(nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' })));
      } catch {
        return null;
      }
    },
    keyExport(der, isPrivate, format) {
      expect(isU8(der) && typeof isPrivate === 'boolean' && (format === 'raw' || format === 'jwk'), 'keyExport arguments');
      const key = isPrivate ? privateKeyOf(der) : publicKeyOf(der);
      const jwk = key.export({ format: 'jwk' });
      const kind = kindOf(key);
      if (format === 'raw') {
        expect(!isPrivate && kind !== 'RSA', 'keyExport raw of a public EC or OKP key');
        return toAB(kind === 'EC' ? Buffer.concat([Buffer.from([4]), unb64u(jwk.x), unb64u(jwk.y)]) : unb64u(jwk.x));
      }
      const names = kind === 'RSA' ? ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] : kind === 'EC' ? ['x', 'y', 'd'] : ['x', 'd'];
      return realm.Array.of(...names.filter((name) => jwk[name] !== undefined).map((name) => toU8(unb64u(jwk[name]))));
    },
    sign(algorithm, der, hash, salt, data) {
      expect(isU8(der) && isU8(data), 'sign(algorithm, Uint8Array, hash, salt, Uint8Array)');
      const key = privateKeyOf(der);
      return toAB(nodeCrypto.sign(algorithm === 'Ed25519' ? null : digest(hash, false), bytes(data), signOptions(algorithm, key, salt)));
    },
    verify(algorithm, der, hash, salt, signature, data) {
      expect(isU8(der) && isU8(signature) && isU8(data), 'verify arguments');
      const key = publicKeyOf(der);
      try {
        return nodeCrypto.verify(algorithm === 'Ed25519' ? null : digest(hash, false), bytes(data), signOptions(algorithm, key, salt), bytes(signature));
      } catch {
        return false;
      }
    },
    rsaOaep(encrypt, der, hash, label, data) {
      expect(typeof encrypt === 'boolean' && isU8(der) && (label === undefined || isU8(label)) && isU8(data), 'rsaOaep arguments');
      const options = {
        key: encrypt ? publicKeyOf(der) : privateKeyOf(der),
        padding: nodeCrypto.constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: digest(hash, false),
        oaepLabel: label === undefined || label.length === 0 ? undefined : bytes(label),
      };
      try {
        return toAB(encrypt ? nodeCrypto.publicEncrypt(options, bytes(data)) : nodeCrypto.privateDecrypt(options, bytes(data)));
      } catch {
        return null;
      }
    },
    deriveSharedSecret(privateDer, publicDer) {
      expect(isU8(privateDer) && isU8(publicDer), 'deriveSharedSecret(Uint8Array, Uint8Array)');
      const secret = nodeCrypto.diffieHellman({ privateKey: privateKeyOf(privateDer), publicKey: publicKeyOf(publicDer) });
      return secret.every((b) => b === 0) ? null : toAB(secret);
    },
  };

  function signOptions(algorithm, key, salt) {
    expect(['RSASSA-PKCS1-v1_5', 'RSA-PSS', 'ECDSA', 'Ed25519'].includes(algorithm), 'signature algorithm');
    const expected = { 'RSASSA-PKCS1-v1_5': 'rsa', 'RSA-PSS': 'rsa', ECDSA: 'ec', Ed25519: 'ed25519' }[algorithm];
    expect(key.asymmetricKeyType === expected, 'signature key type');
    if (algorithm === 'RSA-PSS') {
      integer(salt, 0, 65536, 'saltLength');
      return { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: salt };
    }
    return algorithm === 'ECDSA' ? { key, dsaEncoding: 'ieee-p1363' } : { key };
  }
}

module.exports = { createCryptoNatives };
