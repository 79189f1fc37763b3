// Conversions and helpers shared by the Web API classes. They follow the WebIDL rules that the
// Web APIs rely on (argument counts, string and number conversions, dictionaries, buffer sources)
// so that every class reports misuse with the same kind of error.

import {
  DataViewBuffer, DataViewByteLength, DataViewByteOffset, MathTrunc, NumberIsFinite, ReflectApply,
  StringPrototypeCharCodeAt, StringPrototypeSlice, TypeErrorCtor, TypedArrayBuffer,
  TypedArrayByteLength, TypedArrayByteOffset, TypedArrayLength, Uint8ArrayCtor, regExpMatches,
} from './primordials.js';

// The key under which an object supplies its own console representation: Node's, which workerd
// shares, so that classes written for either keep working.
export const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

export function isObject(value) {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

export function requireArgs(actual, required, context) {
  if (actual < required) {
    const noun = required === 1 ? 'argument' : 'arguments';
    throw new TypeError(`${context}: ${required} ${noun} required, but only ${actual} present.`);
  }
}

// Template literals throw a TypeError for symbols, as WebIDL's ToString must.
export function toDOMString(value) {
  return `${value}`;
}

// Lone surrogates become U+FFFD (by hand: String.prototype.toWellFormed is newer than the V8
// Dorm runs on, and a regular expression's replace() goes through members user code may replace).
export function toUSVString(value) {
  const s = `${value}`;
  let out = null;
  let copied = 0;
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length) {
      const next = StringPrototypeCharCodeAt(s, i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    out = `${out ?? ''}${StringPrototypeSlice(s, copied, i)}\uFFFD`;
    copied = i + 1;
  }
  return out === null ? s : `${out}${StringPrototypeSlice(s, copied)}`;
}

const nonLatin1 = /[^\x00-\xFF]/;

export function toByteString(value, context) {
  const s = `${value}`;
  if (regExpMatches(nonLatin1, s)) {
    throw new TypeErrorCtor(`${context}: the value "${s}" contains characters outside the range 0-255.`);
  }
  return s;
}

// Unary plus is ToNumber: it throws for symbols and BigInts, as WebIDL requires. (The built-ins
// are the captured ones: user code may replace the global Number or Math.)
function integerPart(value) {
  const n = +value;
  if (!NumberIsFinite(n)) return 0;
  return MathTrunc(n);
}

export function toUnsignedShort(value) {
  const n = integerPart(value) % 65536;
  return n < 0 ? n + 65536 : n + 0;
}

export function toLong(value) {
  let n = integerPart(value) % 4294967296;
  if (n < 0) n += 4294967296;
  return n >= 2147483648 ? n - 4294967296 : n + 0;
}

// A 32-bit int as workerd reads one from JavaScript (jsg's `int`): not a number, or an infinity,
// is 0; a finite value outside [-2^31, 2^31 - 1] is a TypeError, not wrapped as WebIDL's `long`
// would (a key length of 2^32 + 8 bits is refused, not taken as 8).
// Built-ins copied at load: user code may replace the global ones (WebCrypto calls this).
const NumberIsFiniteOriginal = Number.isFinite;
const MathTruncOriginal = Math.trunc;
const TypeErrorOriginal = TypeError;
export function toWorkerdInt(value) {
  const n = +value;
  if (!NumberIsFiniteOriginal(n)) return 0;
  if (n > 2147483647 || n < -2147483648) {
    throw new TypeErrorOriginal('Value out of range. Must be between -2147483648 and 2147483647 (inclusive).');
  }
  return MathTruncOriginal(n) + 0;
}

export function toEnforcedUnsignedLongLong(value, context) {
  const n = +value;
  if (!NumberIsFinite(n)) throw new TypeErrorCtor(`${context}: the value is not a finite number.`);
  const t = MathTrunc(n);
  if (t < 0 || t > 9007199254740991) {
    throw new TypeErrorCtor(`${context}: the value is outside the range of unsigned long long.`);
  }
  return t + 0;
}

// A dictionary argument: undefined and null mean "all members absent".
export function toDictionary(value, context) {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new TypeError(`${context}: the options argument is not an object.`);
  return value;
}

export function toEnum(value, allowed, context) {
  const s = `${value}`;
  if (!allowed.includes(s)) {
    throw new TypeError(`${context}: '${s}' is not a valid value; expected one of ${allowed.join(', ')}.`);
  }
  return s;
}

const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const sharedArrayBufferByteLength = typeof SharedArrayBuffer === 'function'
  ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength').get
  : null;
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;

export function isArrayBuffer(value) {
  try {
    ReflectApply(arrayBufferByteLength, value, []);
    return true;
  } catch {
    return false;
  }
}

function isSharedArrayBuffer(value) {
  if (sharedArrayBufferByteLength === null) return false;
  try {
    ReflectApply(sharedArrayBufferByteLength, value, []);
    return true;
  } catch {
    return false;
  }
}

export const isArrayBufferView = ArrayBuffer.isView;

// The name of a typed array's constructor ("Uint8Array"...), or undefined for anything else.
export function typedArrayName(value) {
  return ReflectApply(typedArrayTag, value, []);
}

// A Uint8Array over the bytes of a BufferSource (no copy), or null when value is not one. A
// detached buffer (or a view over one) has no bytes: an empty Uint8Array of its own, as workerd
// reads it (constructing a view over it would throw).
export function bufferSourceView(value, allowShared = false) {
  if (isArrayBufferView(value)) {
    // Read with the getters of %TypedArray%.prototype or DataView.prototype as they were at load.
    const isTyped = typedArrayName(value) !== undefined;
    const buffer = isTyped ? TypedArrayBuffer(value) : DataViewBuffer(value);
    if (!allowShared && isSharedArrayBuffer(buffer)) return null;
    const length = isTyped ? TypedArrayByteLength(value) : DataViewByteLength(value);
    if (length === 0) return new Uint8ArrayCtor(0);
    return new Uint8ArrayCtor(buffer, isTyped ? TypedArrayByteOffset(value) : DataViewByteOffset(value), length);
  }
  if (isArrayBuffer(value)) {
    return ReflectApply(arrayBufferByteLength, value, []) === 0 ? new Uint8ArrayCtor(0) : new Uint8ArrayCtor(value);
  }
  if (allowShared && isSharedArrayBuffer(value)) return new Uint8ArrayCtor(value);
  return null;
}

// bufferSourceView for a pipe stream's chunk, read when its transform runs, after the write call:
// a buffer detached since then throws V8's TypeError (as constructing a view over it does)
// instead of reading as no bytes. workerd took the bytes at write(); Dorm no longer has them, and
// an empty chunk would drop them silently.
export function chunkView(value, allowShared = false) {
  const view = bufferSourceView(value, allowShared);
  if (view !== null && TypedArrayLength(view) === 0) {
    let buffer = value;
    if (isArrayBufferView(value)) {
      buffer = typedArrayName(value) !== undefined ? TypedArrayBuffer(value) : DataViewBuffer(value);
    }
    // Throws for a detached buffer only.
    new Uint8ArrayCtor(buffer, 0, 0); // eslint-disable-line no-new
  }
  return view;
}

export function requireBufferSource(value, context, allowShared = false) {
  const view = bufferSourceView(value, allowShared);
  if (view === null) {
    throw new TypeError(`${context}: the value is not an ArrayBuffer or ArrayBufferView.`);
  }
  return view;
}

export function illegalConstructor() {
  return new TypeError('Illegal constructor');
}

// Gives a class the shape WebIDL prescribes for an interface: enumerable operations and
// attributes, constants on both the constructor and the prototype, and the class string.
// workerd's interfaces declare no argument counts: the constructor and every method and static
// method have `length` 0.
export function zeroLengths(cls) {
  const zero = (fn) => {
    if (typeof fn === 'function' && fn.length !== 0) Object.defineProperty(fn, 'length', { value: 0 });
  };
  zero(cls);
  for (const target of [cls, cls.prototype]) {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (key === 'constructor' || key === 'prototype') continue;
      const desc = Object.getOwnPropertyDescriptor(target, key);
      zero(desc.value);
    }
  }
}

export function defineInterface(cls, name, constants = null) {
  const makeEnumerable = (target, skip) => {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (skip.includes(key)) continue;
      const desc = Object.getOwnPropertyDescriptor(target, key);
      desc.enumerable = true;
      Object.defineProperty(target, key, desc);
    }
  };
  makeEnumerable(cls.prototype, ['constructor']);
  makeEnumerable(cls, ['length', 'name', 'prototype']);
  zeroLengths(cls);
  if (constants !== null) {
    for (const [key, value] of Object.entries(constants)) {
      const desc = { value, enumerable: true, writable: false, configurable: false };
      Object.defineProperty(cls, key, desc);
      Object.defineProperty(cls.prototype, key, desc);
    }
  }
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  return cls;
}

export const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// What workerd throws when a method or accessor of an interface is called on another object.
export function illegalInvocation() {
  return new TypeError('Illegal invocation: function called with incorrect `this` reference. '
    + 'See https://developers.cloudflare.com/workers/observability/errors/#illegal-invocation-errors for details.');
}
