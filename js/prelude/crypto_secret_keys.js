// The secret-key algorithms of crypto.subtle: HMAC, AES-GCM/CBC/CTR/KW, PBKDF2 and HKDF. Each
// function follows workerd's checks in workerd's order, with its messages; the cryptography itself
// is native (src/runtime/crypto_symmetric.cc, crypto_kdf.cc).
import native from './native.js';
import {
  Uint8ArrayCtor, byteLength, setBytes, sliceBytes, startsWith, stringSliceFrom, toArrayBuffer,
} from './crypto_intrinsics.js';
import { createKey, usageList } from './crypto_key.js';
import { base64UrlDecode, base64UrlEncode, makeJsonWebKey } from './crypto_jwk.js';
import {
  Usage, derivationMask, digestBlockSize, digestSize, domError, lookupDigest, requireHash,
  typeError, validateUsages,
} from './crypto_params.js';

// Cloudflare's limit: PBKDF2 runs in one native call, so the iteration count bounds its CPU time.
export const maxPbkdf2Iterations = 100000;

function randomBytes(n) {
  const bytes = new Uint8ArrayCtor(n);
  const chunk = new Uint8ArrayCtor(n < 65536 ? n : 65536);
  for (let offset = 0; offset < n; offset += 65536) {
    native.getRandomValues(chunk);
    const take = n - offset < 65536 ? n - offset : 65536;
    setBytes(bytes, take === byteLength(chunk) ? chunk : sliceBytes(chunk, 0, take), offset);
  }
  return bytes;
}

// Keeps the first `bits` bits of `bytes` (whose length is ceil(bits / 8)), zeroing the rest.
function zeroTrailingBits(bytes, bits) {
  const extra = byteLength(bytes) * 8 - bits;
  if (extra > 0) bytes[byteLength(bytes) - 1] &= (0xff << extra) & 0xff;
}

// --- HMAC ---

const hmacUsages = Usage.sign | Usage.verify;

export function importHmac(name, format, data, algorithm, extractable, usages) {
  const set = validateUsages(name, 'import secret', usages, hmacUsages);
  const hash = requireHash(algorithm.hash);
  let bytes;
  if (format === 'raw') {
    bytes = data;
  } else {
    if (data.kty !== 'oct') {
      throw domError('DataError', 'HMAC "jwk" key import requires a JSON Web Key with Key Type parameter '
        + `("kty") equal to "oct" (encountered "${data.kty}").`);
    }
    bytes = data.k === undefined ? null : base64UrlDecode(data.k);
    if (bytes === null) {
      throw domError('DataError', 'HMAC "jwk" key import requires a base64Url encoding of the key');
    }
    if (data.alg !== undefined) {
      if (startsWith(hash, 'SHA-')) {
        const expected = `HS${stringSliceFrom(hash, 4)}`;
        if (data.alg !== expected) {
          throw domError('DataError', 'HMAC "jwk" key import specifies "alg" that is incompatible with '
            + `the hash name (encountered "${data.alg}", expected "${expected}").`);
        }
      } else {
        throw domError('NotSupportedError',
          `Unrecognized or unimplemented hash algorithm requested${data.alg}`);
      }
    }
  }
  const keySize = byteLength(bytes) * 8;
  const length = algorithm.length === undefined ? keySize : algorithm.length;
  if (length === 0 || length > keySize || length <= keySize - 8) {
    throw domError('DataError', `Imported HMAC key length (${length}) must be a non-zero value up to 7 `
      + 'bits less than, and no greater than, the bit length of the raw key data '
      + `(${keySize}).`);
  }
  zeroTrailingBits(bytes, length);
  const digest = lookupDigest(hash);
  return createKey('secret', extractable, { __proto__: null, name, hash: digest, length }, set, bytes);
}

export function generateHmac(name, algorithm, extractable, usages) {
  const digest = lookupDigest(requireHash(algorithm.hash));
  const set = validateUsages(name, 'generate', usages, hmacUsages);
  const length = algorithm.length === undefined ? digestBlockSize[digest] * 8 : algorithm.length;
  if (!(length > 0)) {
    throw domError('OperationError',
      `HMAC key length must be a non-zero unsigned long integer (requested ${length}).`);
  }
  const bytes = randomBytes((length + 7) >> 3);
  zeroTrailingBits(bytes, length);
  return createKey('secret', extractable, { __proto__: null, name, hash: digest, length }, set, bytes);
}

export function exportHmac(slots, format) {
  if (format !== 'raw' && format !== 'jwk') {
    throw domError('NotSupportedError', `Unimplemented key export format "${format}".`);
  }
  if (format === 'raw') return toArrayBuffer(slots.material);
  const { hash } = slots.algorithm;
  if (!startsWith(hash, 'SHA-')) {
    throw domError('NotSupportedError',
      `Unimplemented JWK key export format for key algorithm "${hash}".`);
  }
  return makeJsonWebKey({
    __proto__: null,
    kty: 'oct',
    k: base64UrlEncode(slots.material),
    alg: `HS${stringSliceFrom(hash, 4)}`,
    key_ops: usageList(slots.usages),
    ext: true,
  });
}

export function signHmac(slots, data) {
  return native.hmac(slots.algorithm.hash, slots.material, data);
}

export function verifyHmac(slots, signature, data) {
  const expected = new Uint8ArrayCtor(native.hmac(slots.algorithm.hash, slots.material, data));
  const n = byteLength(expected);
  if (byteLength(signature) !== n) return false;
  let difference = 0;
  for (let i = 0; i < n; i++) difference |= expected[i] ^ signature[i];
  return difference === 0;
}

// --- AES ---

function aesUsages(name) {
  const wrap = Usage.wrapKey | Usage.unwrapKey;
  return name === 'AES-KW' ? wrap : wrap | Usage.encrypt | Usage.decrypt;
}

export function importAes(name, format, data, algorithm, extractable, usages) {
  const set = validateUsages(name, 'import secret', usages, aesUsages(name));
  let bytes;
  if (format === 'raw') {
    bytes = data;
    const bits = byteLength(bytes) * 8;
    if (bits !== 128 && bits !== 192 && bits !== 256) {
      throw domError('DataError',
        `Imported AES key length must be 128, 192, or 256 bits but provided ${bits}.`);
    }
  } else {
    if (data.kty !== 'oct') {
      throw domError('DataError', 'Symmetric "jwk" key import requires a JSON Web Key with Key Type '
        + `parameter "kty" equal to "oct" (encountered "${data.kty}").`);
    }
    bytes = data.k === undefined ? null : base64UrlDecode(data.k);
    if (bytes === null) {
      throw domError('DataError', 'Symmetric "jwk" key import requires a base64Url encoding of the key.');
    }
    const bits = byteLength(bytes) * 8;
    if (bits !== 128 && bits !== 192 && bits !== 256) {
      throw domError('DataError',
        `Imported AES key length must be 128, 192, or 256 bits but provided ${bits}.`);
    }
    if (data.alg !== undefined) {
      const expected = `A${bits}${stringSliceFrom(name, 4)}`;
      if (data.alg !== expected) {
        throw domError('DataError',
          `Symmetric "jwk" key contains invalid "alg" value "${data.alg}", expected "${expected}".`);
      }
    }
    if (usages.length > 0 && data.use !== undefined && data.use !== 'enc') {
      throw domError('DataError', `Symmetric "jwk" key must have a "use" of "enc", not "${data.use}".`);
    }
    const ops = data.key_ops;
    if (ops !== undefined) {
      for (let i = 0; i < ops.length; i++) {
        for (let j = i + 1; j < ops.length; j++) {
          if (ops[i] === ops[j]) {
            throw domError('DataError',
              `Symmetric "jwk" key contains duplicate value "${ops[i]}", in "key_op".`);
          }
        }
      }
      for (let i = 0; i < usages.length; i++) {
        let found = false;
        for (let j = 0; j < ops.length; j++) found = found || ops[j] === usages[i];
        if (!found) throw domError('DataError', `"jwk" key missing usage "${usages[i]}", in "key_ops".`);
      }
    }
    if (data.ext !== undefined && !data.ext && extractable) {
      throw domError('DataError', `"jwk" key has value "false", for "ext" that is incompatible with `
        + 'import extractability value "true".');
    }
  }
  const length = byteLength(bytes) * 8;
  return createKey('secret', extractable, { __proto__: null, name, length }, set, bytes);
}

export function generateAes(name, algorithm, extractable, usages) {
  const set = validateUsages(name, 'generate', usages, aesUsages(name));
  const { length } = algorithm;
  if (length === undefined) throw typeError('Missing field "length" in "algorithm".');
  if (length !== 128 && length !== 192 && length !== 256) {
    throw domError('OperationError',
      `Generated AES key length must be 128, 192, or 256 bits but requested ${length}.`);
  }
  return createKey('secret', extractable, { __proto__: null, name, length }, set, randomBytes(length / 8));
}

export function exportAes(slots, format) {
  const { name } = slots.algorithm;
  if (format !== 'raw' && format !== 'jwk') {
    throw domError('NotSupportedError',
      `${name} key only supports exporting "raw", "raw-secret" & "jwk", not "${format}".`);
  }
  if (format === 'raw') return toArrayBuffer(slots.material);
  return makeJsonWebKey({
    __proto__: null,
    kty: 'oct',
    k: base64UrlEncode(slots.material),
    alg: `A${byteLength(slots.material) * 8}${stringSliceFrom(name, 4)}`,
    key_ops: usageList(slots.usages),
    ext: true,
  });
}

function decryptionFailed(name, inputLength, outputLength) {
  return domError('OperationError', 'Decryption failed. This could be due to a ciphertext '
    + 'authentication failure, bad padding, incorrect CryptoKey, or another algorithm-specific reason. '
    + `Input length was ${inputLength}, output length expected to be ${outputLength} for ${name}`);
}

function gcmParams(algorithm) {
  const { iv } = algorithm;
  if (iv === undefined) throw typeError('Missing field "iv" in "algorithm".');
  if (byteLength(iv) === 0) throw domError('OperationError', 'AES-GCM IV must not be empty.');
  return iv;
}

function gcmTagLength(algorithm) {
  const tagLength = algorithm.tagLength === undefined ? 128 : algorithm.tagLength;
  if (tagLength !== 32 && tagLength !== 64 && !(tagLength >= 96 && tagLength <= 128 && tagLength % 8 === 0)) {
    throw domError('OperationError', `Invalid AES-GCM tag length ${tagLength}.`);
  }
  return tagLength;
}

function ctrParams(algorithm) {
  const { counter } = algorithm;
  if (counter === undefined) throw typeError('Missing "counter" member in "algorithm".');
  if (byteLength(counter) !== 16) {
    throw domError('OperationError', `Counter must have length of 16 bytes (provided ${byteLength(counter)}).`);
  }
  const { length } = algorithm;
  if (length === undefined) throw typeError('Missing "length" member in "algorithm".');
  if (!(length > 0 && length <= 128)) {
    throw domError('OperationError', `Invalid counter of ${length} bits length provided.`);
  }
  return counter;
}

function runCtr(slots, algorithm, data) {
  const counter = ctrParams(algorithm);
  const result = native.aesCrypt('AES-CTR', true, slots.material, counter, data, undefined, algorithm.length);
  if (result === null) throw domError('OperationError', 'Counter block values will repeat.');
  return result;
}

export function encryptAes(slots, algorithm, data) {
  const { name } = slots.algorithm;
  if (name === 'AES-GCM') {
    const iv = gcmParams(algorithm);
    const tagLength = gcmTagLength(algorithm);
    return native.aesCrypt(name, true, slots.material, iv, data, algorithm.additionalData, tagLength);
  }
  if (name === 'AES-CBC') {
    const { iv } = algorithm;
    if (iv === undefined) throw typeError('Missing field "iv" in "algorithm".');
    if (byteLength(iv) !== 16) {
      throw domError('OperationError', `AES-CBC IV must be 16 bytes long (provided ${byteLength(iv)} bytes).`);
    }
    return native.aesCrypt(name, true, slots.material, iv, data, undefined, 0);
  }
  if (name === 'AES-CTR') return runCtr(slots, algorithm, data);
  throw domError('NotSupportedError', `The encrypt operation is not implemented for "${name}".`);
}

export function decryptAes(slots, algorithm, data) {
  const { name } = slots.algorithm;
  const n = byteLength(data);
  if (name === 'AES-GCM') {
    const iv = gcmParams(algorithm);
    const tagLength = gcmTagLength(algorithm);
    if (n < tagLength / 8) {
      throw domError('OperationError', `Ciphertext length of ${n * 8} bits must be greater than or equal `
        + `to the size of the AES-GCM tag length of ${tagLength} bits.`);
    }
    const result = native.aesCrypt(name, false, slots.material, iv, data, algorithm.additionalData, tagLength);
    if (result === null) throw decryptionFailed(name, n - tagLength / 8, n - tagLength / 8);
    return result;
  }
  if (name === 'AES-CBC') {
    const { iv } = algorithm;
    if (iv === undefined) throw typeError('Missing field "iv" in "algorithm".');
    if (byteLength(iv) !== 16) {
      throw domError('OperationError', `AES-CBC IV must be 16 bytes long (provided ${byteLength(iv)}).`);
    }
    const result = native.aesCrypt(name, false, slots.material, iv, data, undefined, 0);
    if (result === null) {
      // What the cipher had written before its final block failed: every whole block but the
      // last when the input ends on a block boundary.
      const whole = n - (n % 16);
      throw decryptionFailed(name, n, n % 16 === 0 && n > 0 ? whole - 16 : whole);
    }
    return result;
  }
  if (name === 'AES-CTR') return runCtr(slots, algorithm, data);
  throw domError('NotSupportedError', `The decrypt operation is not implemented for "${name}".`);
}

export function wrapAesKw(slots, data) {
  const n = byteLength(data);
  if (n % 8 !== 0) {
    throw domError('OperationError', 'Unwrapped key bit length must be a multiple of 64 bits but '
      + `unwrapped key has a length of ${n * 8} bits.`);
  }
  if (n < 16) {
    throw domError('OperationError', `Unwrapped key has length ${n} bytes but it should be greater `
      + 'than or equal to 16 and less than or equal to 18446744073709551607');
  }
  const result = native.aesKeyWrap(true, slots.material, data);
  if (result === null) throw domError('OperationError', 'AES-KW key wrapping failed.');
  return result;
}

export function unwrapAesKw(slots, data) {
  const n = byteLength(data);
  if (n % 8 !== 0) {
    throw domError('OperationError',
      `Provided a wrapped key to unwrap that is ${n * 8} bits which isn't a multiple of 64 bits.`);
  }
  if (n < 24) {
    throw domError('OperationError', `Provided a wrapped key to unwrap this is ${n * 8} bits that is `
      + 'less than the minimal length of 192 bits.');
  }
  const result = native.aesKeyWrap(false, slots.material, data);
  if (result === null) throw domError('OperationError', 'AES-KW key unwrapping failed.');
  return result;
}

// --- PBKDF2 and HKDF ---

export function importKdf(name, format, data, algorithm, extractable, usages) {
  const set = validateUsages(name, 'import secret', usages, derivationMask);
  if (extractable) throw domError('SyntaxError', `${name} key cannot be extractable.`);
  if (format !== 'raw') {
    throw domError('NotSupportedError', name === 'PBKDF2'
      ? `PBKDF2 key must be imported in "raw" format (requested "${format}").`
      : `HKDF key must be imported in "raw" format (requested "${format}")`);
  }
  return createKey('secret', false, { __proto__: null, name }, set, data);
}

export function deriveBitsKdf(slots, algorithm, length) {
  const { name } = slots.algorithm;
  const digest = lookupDigest(requireHash(algorithm.hash));
  const { salt } = algorithm;
  if (salt === undefined) throw typeError('Missing field "salt" in "algorithm".');
  if (name === 'PBKDF2') {
    const { iterations } = algorithm;
    if (iterations === undefined) throw typeError('Missing field "iterations" in "algorithm".');
    if (length === null) throw domError('OperationError', 'PBKDF2 cannot derive a key with null length.');
    if (length % 8 !== 0) {
      throw domError('OperationError',
        `PBKDF2 requires a derived key length that is a multiple of eight (requested ${length}).`);
    }
    if (!(iterations > 0)) {
      throw domError('OperationError',
        `PBKDF2 requires a positive iteration count (requested ${iterations}).`);
    }
    if (iterations > maxPbkdf2Iterations) {
      throw domError('NotSupportedError', `Pbkdf2 failed: iteration counts above ${maxPbkdf2Iterations} `
        + `are not supported (requested ${iterations}).`);
    }
    if (length / 8 > 255 * digestSize[digest]) {
      throw domError('OperationError', 'Pbkdf2 failed: derived key length exceeds maximum for this hash');
    }
    return native.pbkdf2(digest, slots.material, salt, iterations, length / 8);
  }
  const { info } = algorithm;
  if (info === undefined) throw typeError('Missing field "info" in "algorithm".');
  if (length === null) throw domError('OperationError', 'HKDF cannot derive a key with null length.');
  if (length % 8 !== 0) {
    throw domError('OperationError',
      `HKDF requires a derived key length that is a multiple of eight (requested ${length}).`);
  }
  const result = length / 8 > 255 * digestSize[digest] ? null
    : native.hkdf(digest, slots.material, salt, info, length / 8);
  if (result === null) throw domError('OperationError', 'HKDF deriveBits failed.');
  return result;
}
