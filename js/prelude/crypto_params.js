// Reading the arguments of crypto.subtle's methods as workerd does: algorithm identifiers (a
// string, or a dictionary whose members are all read and type-checked when the method is called),
// CryptoKeys, BufferSources, usage lists, digest and usage names. Every error is workerd's (class
// and message).
import { DOMException } from './dom_exception.js';
import {
  TypeErrorCtor, append, bufferSourceBytes, bufferSourceView, isArray, toUpperCase,
} from './crypto_intrinsics.js';
import { keySlots, usageNames } from './crypto_key.js';
import { isObject, toDOMString, toLong } from './webidl.js';

export function domError(name, message) {
  return new DOMException(message, name);
}

export function typeError(message) {
  return new TypeErrorCtor(message);
}

// The members of each dictionary type, in the order workerd reads them, with their types.
const dictionaries = {
  __proto__: null,
  EncryptAlgorithm: [['iv', 'buffer'], ['additionalData', 'buffer'], ['tagLength', 'int'],
    ['counter', 'buffer'], ['length', 'int'], ['label', 'buffer']],
  SignAlgorithm: [['hash', 'hash'], ['dataLength', 'int'], ['saltLength', 'int']],
  GenerateKeyAlgorithm: [['hash', 'hash'], ['modulusLength', 'int'], ['publicExponent', 'buffer'],
    ['length', 'int'], ['namedCurve', 'string']],
  ImportKeyAlgorithm: [['hash', 'hash'], ['length', 'int'], ['namedCurve', 'string'],
    ['compressed', 'boolean']],
  DeriveKeyAlgorithm: [['salt', 'buffer'], ['iterations', 'int'], ['hash', 'hash'],
    ['public', 'key'], ['info', 'buffer']],
  HashAlgorithm: [],
};

const typeNames = { __proto__: null, buffer: 'BufferSource', key: 'CryptoKey' };

// A constructor of records for one dictionary: `name`, then its members, all undefined. V8 keeps
// an object made as a `{ __proto__: null }` literal as a hash table ("dictionary mode"), and
// filling one member by member showed in profiles of short operations (an AES-GCM encryption of
// 1 KiB); a constructor's objects share one fast shape. Their prototype is empty and has a null
// prototype, so an absent member reads as undefined whatever user code does to Object.prototype.
function recordConstructor(members) {
  function AlgorithmRecord() {
    this.name = undefined;
    for (let i = 0; i < members.length; i++) this[members[i][0]] = undefined;
  }
  AlgorithmRecord.prototype = { __proto__: null };
  return AlgorithmRecord;
}
const recordConstructors = { __proto__: null };
for (const dictionary in dictionaries) recordConstructors[dictionary] = recordConstructor(dictionaries[dictionary]);

// An algorithm identifier as a record (see recordConstructor): `name` (as given) and every member of
// `dictionary` (undefined when absent). Buffers are copied now; `public` is the key's slots;
// `hash` the digest name as given.
// `value` undefined is a TypeError naming parameter `position` of `method`.
export function readAlgorithm(value, dictionary, method, position) {
  if (value === undefined) {
    throw typeError(`Failed to execute '${method}' on 'SubtleCrypto': parameter ${position} is not of `
      + `type 'string or ${dictionary}'.`);
  }
  const members = dictionaries[dictionary];
  const record = new recordConstructors[dictionary]();
  if (!isObject(value)) {
    record.name = toDOMString(value);
    return record;
  }
  record.name = toDOMString(value.name);
  for (let i = 0; i < members.length; i++) {
    const member = members[i][0];
    const type = members[i][1];
    const raw = value[member];
    if (raw === undefined) continue;
    let converted;
    if (type === 'buffer') {
      converted = bufferSourceBytes(raw);
    } else if (type === 'key') {
      converted = keySlots(raw);
    } else if (type === 'hash') {
      converted = isObject(raw) ? toDOMString(raw.name) : toDOMString(raw);
    } else if (type === 'int') {
      converted = toLong(raw);
    } else if (type === 'boolean') {
      converted = !!raw;
    } else {
      converted = toDOMString(raw);
    }
    if (converted === null) {
      throw typeError(`Incorrect type for the '${member}' field on '${dictionary}': the provided `
        + `value is not of type '${typeNames[type]}'.`);
    }
    record[member] = converted;
  }
  return record;
}

export function requireKey(value, method, position) {
  const slots = keySlots(value);
  if (slots === null) {
    throw typeError(`Failed to execute '${method}' on 'SubtleCrypto': parameter ${position} is not of type 'CryptoKey'.`);
  }
  return slots;
}

export function requireBytes(value, method, position, { copy = true } = {}) {
  const bytes = copy ? bufferSourceBytes(value) : bufferSourceView(value);
  if (bytes === null) {
    throw typeError(`Failed to execute '${method}' on 'SubtleCrypto': parameter ${position} is not of type 'BufferSource'.`);
  }
  return bytes;
}

// A sequence<DOMString> of usage names, as given (validated per algorithm later).
export function readUsages(value, method, position) {
  if (!isArray(value)) {
    throw typeError(`Failed to execute '${method}' on 'SubtleCrypto': parameter ${position} is not of type 'Array'.`);
  }
  const list = [];
  for (let i = 0; i < value.length; i++) append(list, toDOMString(value[i]));
  return list;
}

export const Usage = {
  __proto__: null,
  encrypt: 1, decrypt: 2, sign: 4, verify: 8, deriveKey: 16, deriveBits: 32, wrapKey: 64, unwrapKey: 128,
};
export const publicKeyMask = Usage.encrypt | Usage.verify | Usage.wrapKey;
export const privateKeyMask = Usage.decrypt | Usage.sign | Usage.unwrapKey | Usage.deriveKey | Usage.deriveBits;
export const derivationMask = Usage.deriveKey | Usage.deriveBits;

// The usage set of `usages` (names as given), each of which must be in `allowed`; otherwise a
// SyntaxError naming the operation context ("generate", "import secret", "import public",
// "import private").
export function validateUsages(normalizedName, context, usages, allowed) {
  let set = 0;
  for (let i = 0; i < usages.length; i++) {
    const usage = usages[i];
    let bit = 0;
    for (let j = 0; j < usageNames.length; j++) {
      if (usageNames[j] === usage) bit = 1 << j;
    }
    if (bit === 0 || (bit & allowed) === 0) {
      throw domError('SyntaxError',
        `Attempt to ${context} ${normalizedName} key with invalid usage "${usage}".`);
    }
    set |= bit;
  }
  return set;
}

export function usageName(bit) {
  for (let j = 0; j < usageNames.length; j++) {
    if (bit === 1 << j) return usageNames[j];
  }
  return '';
}

// Checks that `slots` (a key) belongs to the algorithm named `requested` (ASCII case-insensitive)
// and allows `usage`: InvalidAccessError otherwise.
export function validateOperation(slots, requested, usage) {
  const keyName = slots.algorithm.name;
  // Names given as the key's (the usual case) need no case folding.
  if (requested !== keyName && toUpperCase(requested) !== toUpperCase(keyName)) {
    throw domError('InvalidAccessError',
      `Requested algorithm "${requested}" does not match this CryptoKey's algorithm "${keyName}".`);
  }
  if ((slots.usages & usage) === 0) {
    throw domError('InvalidAccessError',
      `Requested key usage "${usageName(usage)}" does not match any usage listed in this CryptoKey.`);
  }
}

const digests = {
  __proto__: null,
  'SHA-1': 'SHA-1', 'SHA-256': 'SHA-256', 'SHA-384': 'SHA-384', 'SHA-512': 'SHA-512', MD5: 'MD5',
};
// Bytes of each digest's output and block.
export const digestSize = { __proto__: null, 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64, MD5: 16 };
export const digestBlockSize = { __proto__: null, 'SHA-1': 64, 'SHA-256': 64, 'SHA-384': 128, 'SHA-512': 128, MD5: 64 };

// The canonical digest name for `name` (ASCII case-insensitive); NotSupportedError otherwise.
export function lookupDigest(name) {
  const canonical = digests[toUpperCase(name)];
  if (canonical === undefined) {
    throw domError('NotSupportedError', 'Unrecognized or unimplemented digest algorithm requested.');
  }
  return canonical;
}

export function requireHash(hash, dictionaryName = 'algorithm') {
  if (hash === undefined) throw typeError(`Missing field "hash" in "${dictionaryName}".`);
  return hash;
}
