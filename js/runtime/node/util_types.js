// util.types: what a value is, by its internal slots (brand checks that a prototype swap or a
// Symbol.toStringTag cannot fool), as Node's checks are.
const call = (fn, value) => { try { fn.call(value); return true; } catch { return false; } };
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
const tagOf = (value) => (ArrayBuffer.isView(value) ? typedArrayTag.call(value) : undefined);
const byteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const sharedByteLength = typeof SharedArrayBuffer === 'function'
  ? Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, 'byteLength').get : undefined;
const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
const AsyncFunction = (async () => {}).constructor;
const GeneratorFunction = (function* () {}).constructor;
const AsyncGeneratorFunction = (async function* () {}).constructor;
const isObject = (value) => value !== null && (typeof value === 'object' || typeof value === 'function');

function typedArrayChecker(name) {
  return (value) => tagOf(value) === name;
}

const types = {
  isAnyArrayBuffer: (value) => isObject(value) && (call(byteLength, value) || (sharedByteLength !== undefined && call(sharedByteLength, value))),
  isArrayBuffer: (value) => isObject(value) && call(byteLength, value),
  isSharedArrayBuffer: (value) => isObject(value) && sharedByteLength !== undefined && call(sharedByteLength, value),
  isArrayBufferView: (value) => ArrayBuffer.isView(value),
  isTypedArray: (value) => tagOf(value) !== undefined,
  isDataView: (value) => ArrayBuffer.isView(value) && tagOf(value) === undefined,
  isUint8Array: typedArrayChecker('Uint8Array'),
  isUint8ClampedArray: typedArrayChecker('Uint8ClampedArray'),
  isUint16Array: typedArrayChecker('Uint16Array'),
  isUint32Array: typedArrayChecker('Uint32Array'),
  isInt8Array: typedArrayChecker('Int8Array'),
  isInt16Array: typedArrayChecker('Int16Array'),
  isInt32Array: typedArrayChecker('Int32Array'),
  isFloat32Array: typedArrayChecker('Float32Array'),
  isFloat64Array: typedArrayChecker('Float64Array'),
  isBigInt64Array: typedArrayChecker('BigInt64Array'),
  isBigUint64Array: typedArrayChecker('BigUint64Array'),
  isDate: (value) => isObject(value) && call(Date.prototype.getTime, value),
  isRegExp: (value) => isObject(value) && call(Object.getOwnPropertyDescriptor(RegExp.prototype, 'source').get, value) && value !== RegExp.prototype,
  isMap: (value) => isObject(value) && call(mapSize, value),
  isSet: (value) => isObject(value) && call(setSize, value),
  isWeakMap: (value) => isObject(value) && call(WeakMap.prototype.has, value),
  isWeakSet: (value) => isObject(value) && call(WeakSet.prototype.has, value),
  isPromise: (value) => isObject(value) && Object.prototype.toString.call(value) === '[object Promise]' && call(Promise.prototype.then, value),
  isNativeError: (value) => value instanceof Error,
  isAsyncFunction: (value) => typeof value === 'function' && (value instanceof AsyncFunction || value instanceof AsyncGeneratorFunction),
  isGeneratorFunction: (value) => typeof value === 'function' && (value instanceof GeneratorFunction || value instanceof AsyncGeneratorFunction),
  isBoxedPrimitive: (value) => isObject(value) && [Number, String, Boolean, BigInt, Symbol].some((ctor) => call(ctor.prototype.valueOf, value)),
  isNumberObject: (value) => isObject(value) && call(Number.prototype.valueOf, value),
  isStringObject: (value) => isObject(value) && call(String.prototype.valueOf, value),
  isBooleanObject: (value) => isObject(value) && call(Boolean.prototype.valueOf, value),
  isBigIntObject: (value) => isObject(value) && call(BigInt.prototype.valueOf, value),
  isSymbolObject: (value) => isObject(value) && call(Symbol.prototype.valueOf, value),
};

export default types;
