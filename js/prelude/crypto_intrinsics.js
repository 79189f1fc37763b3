// The built-ins the WebCrypto modules use, captured when the prelude loads, before any user code
// runs: user code may later replace globals and prototype methods, and key material must never be
// handed to (or shaped by) a function it supplied. Methods are called through Reflect.apply with
// the captured function, never looked up on the value.

const { apply } = Reflect;
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);

export const Uint8ArrayCtor = Uint8Array;
export const TypeErrorCtor = TypeError;
export const { isArray } = Array;
export const { defineProperty, getPrototypeOf } = Object;
export const { ceil } = Math;
export const jsonStringify = JSON.stringify;
export const jsonParse = JSON.parse;

const typedArraySet = TypedArrayPrototype.set;
const typedArrayLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'length').get;
const typedArrayBuffer = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'buffer').get;
const stringToUpperCase = String.prototype.toUpperCase;
const stringCharCodeAt = String.prototype.charCodeAt;
const stringSlice = String.prototype.slice;
const stringStartsWith = String.prototype.startsWith;

export function byteLength(u8) {
  return apply(typedArrayLength, u8, []);
}

// Copies `source` (a typed array) into `target` at `offset`.
export function setBytes(target, source, offset = 0) {
  apply(typedArraySet, target, [source, offset]);
}

// The bytes of `u8` from `start` to `end`, copied into a new Uint8Array. (Not slice(): it builds
// its result with a constructor user code can choose through `constructor` and Symbol.species.)
export function sliceBytes(u8, start = 0, end = byteLength(u8)) {
  const out = new Uint8ArrayCtor(end - start);
  for (let i = start; i < end; i++) out[i - start] = u8[i];
  return out;
}

// A copy of a Uint8Array, over its own ArrayBuffer.
export function copyBytes(u8) {
  const out = new Uint8ArrayCtor(byteLength(u8));
  setBytes(out, u8);
  return out;
}

// A new ArrayBuffer holding the bytes of a Uint8Array.
export function toArrayBuffer(u8) {
  return apply(typedArrayBuffer, copyBytes(u8), []);
}

export function toUpperCase(s) {
  return apply(stringToUpperCase, s, []);
}

export function charCodeAt(s, i) {
  return apply(stringCharCodeAt, s, [i]);
}

export function stringSliceFrom(s, start, end = undefined) {
  return apply(stringSlice, s, [start, end]);
}

export function startsWith(s, prefix) {
  return apply(stringStartsWith, s, [prefix]);
}

// Appends to an array made by the prelude without running setters user code may have put on
// Array.prototype.
export function append(array, value) {
  defineProperty(array, array.length, {
    __proto__: null, value, writable: true, enumerable: true, configurable: true,
  });
}

const isView = ArrayBuffer.isView;
const typedArrayTag = Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get;
const typedArrayByteOffset = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteOffset').get;
const typedArrayByteLength = Object.getOwnPropertyDescriptor(TypedArrayPrototype, 'byteLength').get;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get;
const dataViewByteOffset = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset').get;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;

function isArrayBuffer(value) {
  try {
    apply(arrayBufferByteLength, value, []);
    return true;
  } catch {
    return false;
  }
}

// A Uint8Array over the bytes a BufferSource (ArrayBuffer or view, not shared) covers right now,
// sharing its memory, or null when `value` is not one. Reads no property user code could
// redefine. For a native that consumes the bytes before returning, with no user code in between.
export function bufferSourceView(value) {
  let buffer;
  let offset;
  let length;
  if (isView(value)) {
    if (apply(typedArrayTag, value, []) !== undefined) {
      buffer = apply(typedArrayBuffer, value, []);
      offset = apply(typedArrayByteOffset, value, []);
      length = apply(typedArrayByteLength, value, []);
    } else {
      buffer = apply(dataViewBuffer, value, []);
      offset = apply(dataViewByteOffset, value, []);
      length = apply(dataViewByteLength, value, []);
    }
    if (!isArrayBuffer(buffer)) return null;
  } else if (isArrayBuffer(value)) {
    buffer = value;
    offset = 0;
    length = apply(arrayBufferByteLength, value, []);
  } else {
    return null;
  }
  // A detached buffer (byte length 0) reads as no bytes, as workerd's (a view over it would throw).
  if (length === 0) return new Uint8ArrayCtor(0);
  return new Uint8ArrayCtor(buffer, offset, length);
}

// A copy (a new Uint8Array) of the bytes a BufferSource covers right now, or null when `value` is
// not one: what an operation keeps, or uses after user code may have run.
export function bufferSourceBytes(value) {
  const view = bufferSourceView(value);
  return view === null ? null : copyBytes(view);
}
