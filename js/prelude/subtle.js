// SubtleCrypto: crypto.subtle, as workerd has it. Every method reads its arguments as workerd does
// (crypto_params.js), then dispatches on the algorithm (crypto_secret_keys.js,
// crypto_asymmetric_keys.js). Methods are async functions: every error, argument errors included,
// rejects the returned promise, and the promise is the engine's own whatever user code did to the
// global Promise. The work itself runs synchronously, as in workerd.
import native from './native.js';
import { DOMException } from './dom_exception.js';
import {
  Uint8ArrayCtor, bufferSourceBytes, byteLength, getPrototypeOf, jsonParse, jsonStringify, toUpperCase,
} from './crypto_intrinsics.js';
import { readJsonWebKey } from './crypto_jwk.js';
import { keySlots } from './crypto_key.js';
import {
  Usage, digestBlockSize, domError, lookupDigest, readAlgorithm, readUsages, requireBytes,
  requireKey, typeError, validateOperation,
} from './crypto_params.js';
import {
  decryptAes, deriveBitsKdf, encryptAes, exportAes, exportHmac, generateAes, generateHmac, importAes,
  importHmac, importKdf, signHmac, unwrapAesKw, verifyHmac, wrapAesKw,
} from './crypto_secret_keys.js';
import {
  deriveBitsAgreement, encryptOaep, exportAsymmetric, generateEc, generateOkp, generateRsa, importEc,
  importOkp, importRsa, signAsymmetric, verifyAsymmetric,
} from './crypto_asymmetric_keys.js';
import { defineInterface, illegalConstructor, isObject, requireArgs, toDOMString, toLong } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('SubtleCrypto');

// Each algorithm, under its ASCII-uppercase name: its canonical name and its import and generate
// steps (null where the algorithm has none).
const algorithms = { __proto__: null };
function register(name, importKey, generateKey) {
  algorithms[toUpperCase(name)] = { __proto__: null, name, importKey, generateKey };
}
register('AES-CTR', importAes, generateAes);
register('AES-CBC', importAes, generateAes);
register('AES-GCM', importAes, generateAes);
register('AES-KW', importAes, generateAes);
register('HMAC', importHmac, generateHmac);
register('PBKDF2', importKdf, null);
register('HKDF', importKdf, null);
register('RSASSA-PKCS1-v1_5', importRsa, generateRsa);
register('RSA-PSS', importRsa, generateRsa);
register('RSA-OAEP', importRsa, generateRsa);
register('ECDSA', importEc, generateEc);
register('ECDH', importEc, generateEc);
register('NODE-ED25519', importOkp, generateOkp);
register('Ed25519', importOkp, generateOkp);
register('X25519', importOkp, generateOkp);

function lookupAlgorithm(name) {
  return algorithms[toUpperCase(name)];
}

function isAes(name) {
  return name === 'AES-GCM' || name === 'AES-CBC' || name === 'AES-CTR' || name === 'AES-KW';
}

function isAsymmetric(slots) {
  return slots.type !== 'secret';
}

function notImplemented(operation, slots) {
  return domError('NotSupportedError',
    `The ${operation} operation is not implemented for "${slots.algorithm.name}".`);
}

function encryptWith(slots, algorithm, data) {
  const { name } = slots.algorithm;
  if (isAes(name) && name !== 'AES-KW') return encryptAes(slots, algorithm, data);
  if (name === 'RSA-OAEP') return encryptOaep(slots, algorithm, data, true);
  throw notImplemented('encrypt', slots);
}

function decryptWith(slots, algorithm, data) {
  const { name } = slots.algorithm;
  if (isAes(name) && name !== 'AES-KW') return decryptAes(slots, algorithm, data);
  if (name === 'RSA-OAEP') return encryptOaep(slots, algorithm, data, false);
  throw notImplemented('decrypt', slots);
}

function signWith(slots, algorithm, data) {
  if (slots.algorithm.name === 'HMAC') return signHmac(slots, data);
  if (isAsymmetric(slots)) return signAsymmetric(slots, algorithm, data);
  throw notImplemented('sign', slots);
}

function verifyWith(slots, algorithm, signature, data) {
  if (slots.algorithm.name === 'HMAC') return verifyHmac(slots, signature, data);
  if (isAsymmetric(slots)) return verifyAsymmetric(slots, algorithm, signature, data);
  throw notImplemented('verify', slots);
}

function deriveBitsWith(slots, algorithm, length) {
  const { name } = slots.algorithm;
  if (name === 'PBKDF2' || name === 'HKDF') return deriveBitsKdf(slots, algorithm, length);
  if (name === 'ECDH' || name === 'X25519') return deriveBitsAgreement(slots, algorithm, length);
  throw domError('NotSupportedError',
    `The deriveKey and deriveBits operations are not implemented for "${name}".`);
}

function exportWith(slots, format) {
  const { name } = slots.algorithm;
  if (name === 'HMAC') return exportHmac(slots, format);
  if (isAes(name)) return exportAes(slots, format);
  if (isAsymmetric(slots)) return exportAsymmetric(slots, format);
  throw domError('NotSupportedError', `Unrecognized or unsupported export of "${name}" requested.`);
}

function requireExtractable(slots) {
  if (!slots.extractable) {
    throw domError('InvalidAccessError', `Attempt to export non-extractable ${slots.algorithm.name} key.`);
  }
}

function requireSomeUsage(key) {
  const { type, usages } = keySlots(key);
  if (usages === 0 && (type === 'secret' || type === 'private')) {
    throw domError('SyntaxError', 'Secret/private CryptoKeys must have at least one usage.');
  }
}

// importKey's steps once the key data is converted: a Uint8Array for "raw", "pkcs8" and "spki", a
// JsonWebKey record for "jwk".
function importConverted(format, data, algorithm, extractable, usages) {
  const entry = lookupAlgorithm(algorithm.name);
  if (entry === undefined || entry.importKey === null) {
    throw domError('NotSupportedError', `Unrecognized key import algorithm "${algorithm.name}" requested.`);
  }
  const key = entry.importKey(entry.name, format, data, algorithm, extractable, usages);
  requireSomeUsage(key);
  return key;
}

// importKey's checks of the key data against the format. `data` is a Uint8Array (a BufferSource,
// copied) or a JsonWebKey record.
// The formats of the Modern Algorithms in WebCrypto draft, which workerd keeps behind a
// compatibility flag that Dorm does not offer.
function refuseModernFormat(format) {
  if (format === 'raw-secret' || format === 'raw-public' || format === 'raw-private') {
    throw domError('NotSupportedError',
      `Key format "${format}" requires the webcrypto_modern_algorithms flag.`);
  }
}

function importKeyData(format, data, algorithm, extractable, usages) {
  refuseModernFormat(format);
  const isBytes = getPrototypeOf(data) !== null;  // JsonWebKey records have no prototype
  if (format === 'raw' || format === 'pkcs8' || format === 'spki') {
    if (!isBytes) {
      throw typeError('Import data provided for buffer-based import formats must be a buffer source.');
    }
  } else if (format === 'jwk') {
    if (isBytes) throw typeError('Import data provided for "jwk" import format must be a JsonWebKey.');
    if (data.ext === false && extractable) {
      throw domError('DataError',
        `JWK ext field for "${algorithm.name}" is set to false but extractable is true`);
    }
  } else {
    throw domError('NotSupportedError', `Unrecognized key import format "${format}".`);
  }
  return importConverted(format, data, algorithm, extractable, usages);
}

// deriveKey's "get key length": the bits to derive for a key of `derived`'s algorithm, null when
// the derivation decides.
function derivedKeyLength(derived) {
  const name = toUpperCase(derived.name);
  if (name === 'AES-CTR' || name === 'AES-CBC' || name === 'AES-GCM' || name === 'AES-KW') {
    const { length } = derived;
    if (length === undefined) throw typeError('Missing field "length" in "derivedKeyParams".');
    if (length !== 128 && length !== 192 && length !== 256) {
      throw domError('OperationError',
        `Derived AES key must be 128, 192, or 256 bits in length but provided ${length}.`);
    }
    return length;
  }
  if (name === 'HMAC') {
    if (derived.length !== undefined) {
      if (derived.length > 0) return derived.length;
      throw typeError('HMAC key length must be a non-zero unsigned long integer.');
    }
    if (derived.hash === undefined) throw typeError('Missing field "hash" in "derivedKeyParams".');
    return digestBlockSize[lookupDigest(derived.hash)] * 8;
  }
  if (name === 'HKDF' || name === 'PBKDF2') return null;
  throw domError('NotSupportedError', `Unrecognized derived key type "${derived.name}" requested.`);
}

const textOf = (bytes) => native.utf8Decode(bytes, false);

export class SubtleCrypto extends Uncloneable {
  constructor(token = undefined) {
    super();
    if (token !== internalToken) throw illegalConstructor();
  }

  // The data of encrypt, decrypt, sign and verify is used where it is, like digest's: from here
  // to the native that reads it no user code runs (the algorithm's members were all read and
  // copied above, and nothing after reads user objects), so a copy could not differ from it. A
  // copy would cost an ArrayBuffer per call (a backing store outside V8's heap past 64 bytes).
  async encrypt(algorithm, key, data) {
    const params = readAlgorithm(algorithm, 'EncryptAlgorithm', 'encrypt', 1);
    const slots = requireKey(key, 'encrypt', 2);
    const bytes = requireBytes(data, 'encrypt', 3, { copy: false });
    validateOperation(slots, params.name, Usage.encrypt);
    return encryptWith(slots, params, bytes);
  }

  async decrypt(algorithm, key, data) {
    const params = readAlgorithm(algorithm, 'EncryptAlgorithm', 'decrypt', 1);
    const slots = requireKey(key, 'decrypt', 2);
    const bytes = requireBytes(data, 'decrypt', 3, { copy: false });
    validateOperation(slots, params.name, Usage.decrypt);
    return decryptWith(slots, params, bytes);
  }

  async sign(algorithm, key, data) {
    const params = readAlgorithm(algorithm, 'SignAlgorithm', 'sign', 1);
    const slots = requireKey(key, 'sign', 2);
    const bytes = requireBytes(data, 'sign', 3, { copy: false });
    validateOperation(slots, params.name, Usage.sign);
    return signWith(slots, params, bytes);
  }

  async verify(algorithm, key, signature, data) {
    const params = readAlgorithm(algorithm, 'SignAlgorithm', 'verify', 1);
    const slots = requireKey(key, 'verify', 2);
    const signatureBytes = requireBytes(signature, 'verify', 3);
    const bytes = requireBytes(data, 'verify', 4, { copy: false });
    validateOperation(slots, params.name, Usage.verify);
    return verifyWith(slots, params, signatureBytes, bytes);
  }

  async digest(algorithm, data) {
    const params = readAlgorithm(algorithm, 'HashAlgorithm', 'digest', 1);
    // Hashed before this returns, with no user code in between: no copy of a large input.
    const bytes = requireBytes(data, 'digest', 2, { copy: false });
    return native.digest(lookupDigest(params.name), bytes);
  }

  async generateKey(algorithm, extractable, keyUsages) {
    const params = readAlgorithm(algorithm, 'GenerateKeyAlgorithm', 'generateKey', 1);
    const usages = readUsages(keyUsages, 'generateKey', 3);
    const entry = lookupAlgorithm(params.name);
    if (entry === undefined || entry.generateKey === null) {
      throw domError('NotSupportedError',
        `Unrecognized key generation algorithm "${params.name}" requested.`);
    }
    const result = entry.generateKey(entry.name, params, !!extractable, usages);
    if (keySlots(result) === null) {
      // A CryptoKeyPair, made by the generate step itself.
      if (keySlots(result.privateKey).usages === 0) {
        throw domError('SyntaxError', 'Attempt to generate asymmetric keys with no valid private key usages.');
      }
    } else {
      requireSomeUsage(result);
    }
    return result;
  }

  async deriveKey(algorithm, baseKey, derivedKeyAlgorithm, extractable, keyUsages) {
    const params = readAlgorithm(algorithm, 'DeriveKeyAlgorithm', 'deriveKey', 1);
    const slots = requireKey(baseKey, 'deriveKey', 2);
    const derived = readAlgorithm(derivedKeyAlgorithm, 'ImportKeyAlgorithm', 'deriveKey', 3);
    const usages = readUsages(keyUsages, 'deriveKey', 5);
    validateOperation(slots, params.name, Usage.deriveKey);
    const length = derivedKeyLength(derived);
    const secret = new Uint8ArrayCtor(deriveBitsWith(slots, params, length));
    return importConverted('raw', secret, derived, !!extractable, usages);
  }

  async deriveBits(algorithm, baseKey, length = undefined) {
    const params = readAlgorithm(algorithm, 'DeriveKeyAlgorithm', 'deriveBits', 1);
    const slots = requireKey(baseKey, 'deriveBits', 2);
    let bits = null;
    if (length !== undefined && length !== null) {
      bits = toLong(length);
      if (bits < 0) throw typeError('deriveBits length must be an unsigned long integer.');
    }
    validateOperation(slots, params.name, Usage.deriveBits);
    return deriveBitsWith(slots, params, bits);
  }

  async importKey(format, keyData, algorithm, extractable, keyUsages) {
    const formatName = toDOMString(format);
    // BufferSource or JsonWebKey, told apart when the arguments are read.
    let data = bufferSourceBytes(keyData);
    if (data === null) {
      data = readJsonWebKey(keyData);
      if (data === null) {
        throw typeError("Failed to execute 'importKey' on 'SubtleCrypto': parameter 2 is not of type "
          + "'BufferSource or JsonWebKey'.");
      }
    }
    const params = readAlgorithm(algorithm, 'ImportKeyAlgorithm', 'importKey', 3);
    const usages = readUsages(keyUsages, 'importKey', 5);
    return importKeyData(formatName, data, params, !!extractable, usages);
  }

  async exportKey(format, key) {
    const formatName = toDOMString(format);
    const slots = requireKey(key, 'exportKey', 2);
    refuseModernFormat(formatName);
    requireExtractable(slots);
    return exportWith(slots, formatName);
  }

  async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
    const formatName = toDOMString(format);
    const slots = requireKey(key, 'wrapKey', 2);
    const wrapping = requireKey(wrappingKey, 'wrapKey', 3);
    const params = readAlgorithm(wrapAlgorithm, 'EncryptAlgorithm', 'wrapKey', 4);
    validateOperation(wrapping, params.name, Usage.wrapKey);
    requireExtractable(slots);
    const exported = exportWith(slots, formatName);
    const bytes = formatName === 'jwk'
      ? native.utf8Encode(jsonStringify(exported)) : new Uint8ArrayCtor(exported);
    if (wrapping.algorithm.name === 'AES-KW') return wrapAesKw(wrapping, bytes);
    return encryptWith(wrapping, params, bytes);
  }

  async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm,
    extractable, keyUsages) {
    const formatName = toDOMString(format);
    const wrapped = requireBytes(wrappedKey, 'unwrapKey', 2);
    const unwrapping = requireKey(unwrappingKey, 'unwrapKey', 3);
    const params = readAlgorithm(unwrapAlgorithm, 'EncryptAlgorithm', 'unwrapKey', 4);
    const unwrappedParams = readAlgorithm(unwrappedKeyAlgorithm, 'ImportKeyAlgorithm', 'unwrapKey', 5);
    const usages = readUsages(keyUsages, 'unwrapKey', 7);
    validateOperation(unwrapping, params.name, Usage.unwrapKey);
    const bytes = new Uint8ArrayCtor(unwrapping.algorithm.name === 'AES-KW'
      ? unwrapAesKw(unwrapping, wrapped) : decryptWith(unwrapping, params, wrapped));
    let data;
    if (formatName === 'jwk') {
      const parsed = jsonParse(textOf(bytes));
      data = isObject(parsed) ? readJsonWebKey(parsed) : null;
      if (data === null) throw domError('DataError', 'Missing "kty" field or corrupt JSON unwrapping key?');
      return importConverted(formatName, data, unwrappedParams, !!extractable, usages);
    }
    return importKeyData(formatName, bytes, unwrappedParams, !!extractable, usages);
  }

  // A Workers extension for comparing secrets without leaking where they differ.
  timingSafeEqual(a, b) {
    const context = "Failed to execute 'timingSafeEqual' on 'SubtleCrypto'";
    requireArgs(arguments.length, 2, context);
    const x = bufferSourceBytes(a);
    const y = bufferSourceBytes(b);
    if (x === null || y === null) {
      throw typeError(`${context}: the value is not an ArrayBuffer or ArrayBufferView.`);
    }
    if (byteLength(x) !== byteLength(y)) {
      throw typeError(`${context}: Input buffers must have the same byte length.`);
    }
    let difference = 0;
    for (let i = 0; i < byteLength(x); i++) difference |= x[i] ^ y[i];
    return difference === 0;
  }
}

defineInterface(SubtleCrypto, 'SubtleCrypto');
hideBase(SubtleCrypto);
refuseClone(SubtleCrypto, 'SubtleCrypto');
// As workerd's: methods declare no parameters, and `constructor` comes last.
for (const name of Object.getOwnPropertyNames(SubtleCrypto.prototype)) {
  if (name !== 'constructor') Object.defineProperty(SubtleCrypto.prototype[name], 'length', { value: 0 });
}
delete SubtleCrypto.prototype.constructor;
Object.defineProperty(SubtleCrypto.prototype, 'constructor', {
  value: SubtleCrypto, writable: true, enumerable: false, configurable: true,
});

export const subtle = new SubtleCrypto(internalToken);
export { DOMException };
