// The streams library's reads of a view's or buffer's byteLength, byteOffset and buffer
// (js/build/streams_library.mjs rewrites each `x.byteLength`, `x.byteOffset` and `x.buffer` it
// reads into viewMember(x, name)). On a typed array, a DataView or an ArrayBuffer they go through
// the getters captured when the prelude loaded: a byte stream's chunks are the runtime's own
// bodies (a stub's fetch() answer, a request's), and user code may replace the getters on
// %TypedArray%.prototype (workerd's streams are native and never read them). On anything else
// (the library's own records of pending reads) they are ordinary property reads.
//
// viewConstructor(view) is the class a BYOB read makes its answer with: the typed array's own kind
// (Uint8Array for a subclass of it), or DataView, without reading `constructor`.
//
// Contract: viewMember answers what `value[name]` answered in a clean isolate, and throws only as
// that read would (on null or undefined).
import {
  ArrayBufferIsView, DataViewBuffer, DataViewByteLength, DataViewByteOffset, ObjectGetPrototypeOf,
  TypedArrayBuffer, TypedArrayByteLength, TypedArrayByteOffset, uncurryThis,
} from './primordials.js';

const ObjectPrototype = Object.prototype;
const ArrayBufferPrototype = ArrayBuffer.prototype;
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
// undefined for anything but a typed array (its brand check does not throw).
const typedArrayTag = uncurryThis(Object.getOwnPropertyDescriptor(TypedArrayPrototype, Symbol.toStringTag).get);
const arrayBufferByteLength = uncurryThis(Object.getOwnPropertyDescriptor(ArrayBufferPrototype, 'byteLength').get);

const typedArrayGetters = {
  __proto__: null, byteLength: TypedArrayByteLength, byteOffset: TypedArrayByteOffset, buffer: TypedArrayBuffer,
};
const dataViewGetters = {
  __proto__: null, byteLength: DataViewByteLength, byteOffset: DataViewByteOffset, buffer: DataViewBuffer,
};

function isArrayBuffer(value) {
  try {
    arrayBufferByteLength(value);
    return true;
  } catch {
    return false;
  }
}

export function viewMember(value, name) {
  if (value === null || typeof value !== 'object' || ObjectGetPrototypeOf(value) === ObjectPrototype) {
    return value[name];
  }
  if (ArrayBufferIsView(value)) {
    return typedArrayTag(value) !== undefined ? typedArrayGetters[name](value) : dataViewGetters[name](value);
  }
  if (name === 'byteLength' && isArrayBuffer(value)) return arrayBufferByteLength(value);
  return value[name];
}

const typedArrayClasses = {
  __proto__: null,
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

export function viewConstructor(value) {
  const tag = ArrayBufferIsView(value) ? typedArrayTag(value) : null;
  if (tag === null) return value.constructor;
  return tag === undefined ? DataView : typedArrayClasses[tag];
}
