// CryptoKey: a key of crypto.subtle. Its material lives in a private field that only this module
// reads (through keySlots(), for the SubtleCrypto operations), so user code can neither see nor
// forge it: a CryptoKey exists only if createKey() made it, and `#slots in value` is the brand
// check. The material is the raw secret (symmetric keys) or the DER of the key (PKCS #8 for private
// keys, SPKI for public keys; see src/runtime/crypto_subtle.h).
//
// As in workerd, `type`, `extractable`, `algorithm` and `usages` are own, read-only, enumerable
// properties of each key (in workerd's order) and the prototype has only `constructor`.
import { append, copyBytes, defineProperty } from './crypto_intrinsics.js';
import { FieldsOf, HOST_UNCLONEABLE, newHostObject } from './host_object.js';
import { defineInterface, illegalConstructor } from './webidl.js';

const token = Symbol('CryptoKey');

// The usages, in the order workerd lists them whatever order they were given in.
export const usageNames = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];

let readSlots;

// A key's internal slots, added to the key (a host object, which structured clone refuses as
// workerd does).
class KeySlots extends FieldsOf {
  #slots;

  constructor(target, slots) {
    super(target);
    this.#slots = slots;
  }

  static {
    readSlots = (value) => ((typeof value === 'object' && value !== null && #slots in value) ? value.#slots : null);
  }
}

export class CryptoKey {
  constructor(secret = undefined, slots = undefined) {
    if (secret !== token) throw illegalConstructor();
    const self = newHostObject(CryptoKey.prototype, HOST_UNCLONEABLE, 'CryptoKey');
    new KeySlots(self, slots);
    const readOnly = (name, value) => defineProperty(self, name, {
      __proto__: null, value, writable: false, enumerable: true, configurable: true,
    });
    readOnly('usages', usageList(slots.usages));
    readOnly('algorithm', algorithmDictionary(slots.algorithm));
    readOnly('extractable', slots.extractable);
    readOnly('type', slots.type);
    return self;
  }
}

defineInterface(CryptoKey, 'CryptoKey');

// A new key. `algorithm` is the internal record ({ name, hash?, length?, namedCurve?,
// modulusLength?, publicExponent? }: hash a normalised digest name, publicExponent a Uint8Array
// the key owns); `usages` a bit set over usageNames; `material` a Uint8Array the key owns.
export function createKey(type, extractable, algorithm, usages, material) {
  return new CryptoKey(token, { __proto__: null, type, extractable, algorithm, usages, material });
}

// The internal slots of a CryptoKey ({ type, extractable, algorithm, usages, material }), or null
// for anything else. Callers must not hand `material` or `algorithm` out.
export function keySlots(value) {
  return readSlots(value);
}

export function usageList(bits) {
  const list = [];
  for (let i = 0; i < usageNames.length; i++) {
    if (bits & (1 << i)) append(list, usageNames[i]);
  }
  return list;
}

// The `algorithm` dictionary user code sees: a fresh object, fields in workerd's order.
export function algorithmDictionary(record) {
  const { name } = record;
  if (name === 'HMAC') return { name, hash: { name: record.hash }, length: record.length };
  if (record.modulusLength !== undefined) {
    return {
      name,
      modulusLength: record.modulusLength,
      publicExponent: copyBytes(record.publicExponent),
      hash: { name: record.hash },
    };
  }
  if (record.length !== undefined) return { name, length: record.length };
  if (record.namedCurve !== undefined) return { name, namedCurve: record.namedCurve };
  return { name };
}
