// The built-ins the runtime relies on, captured when the runtime bundle loads, before any user
// code runs. User code may replace any global or prototype method (Array.prototype.map,
// Promise.prototype.then, String...); the runtime's own paths call these copies instead, so a
// replaced built-in changes nothing but the user's own code.
const { apply, bind, call } = Function.prototype;
const uncurryThis = bind.bind(call);

export const ReflectApply = Reflect.apply;
export const ArrayIsArray = Array.isArray;
export const ArrayPrototypePush = uncurryThis(Array.prototype.push);
export const ObjectEntries = Object.entries;
export const ObjectFreeze = Object.freeze;
export const ObjectDefineProperty = Object.defineProperty;
export const StringCtor = String;
export const NumberCtor = Number;
export const NumberIsFinite = Number.isFinite;
export const MathTrunc = Math.trunc;
export const MathFloor = Math.floor;
export const DateCtor = Date;
export const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
export const PromiseCtor = Promise;
export const PromiseResolve = Promise.resolve.bind(Promise);
export const PromiseReject = Promise.reject.bind(Promise);
export const PromisePrototypeThen = uncurryThis(Promise.prototype.then);
export const SymbolCtor = Symbol;
export const TypeErrorCtor = TypeError;
export const ErrorCtor = Error;
export const WeakSetCtor = WeakSet;
export const WeakSetPrototypeAdd = uncurryThis(WeakSet.prototype.add);
export const WeakSetPrototypeHas = uncurryThis(WeakSet.prototype.has);
export const MapPrototypeEntries = uncurryThis(Map.prototype.entries);
export const MapCtor = Map;
export const MapPrototypeGet = uncurryThis(Map.prototype.get);
export const MapPrototypeSet = uncurryThis(Map.prototype.set);
export const MapPrototypeClear = uncurryThis(Map.prototype.clear);
export const MapPrototypeGetSize = uncurryThis(Object.getOwnPropertyDescriptor(Map.prototype, 'size').get);
export const JSONStringify = JSON.stringify;
export const MapIteratorPrototypeNext = uncurryThis(Object.getPrototypeOf(new Map().entries()).next);
export const ArrayBufferCtor = ArrayBuffer;
export const ArrayBufferIsView = ArrayBuffer.isView;
export const Uint8ArrayCtor = Uint8Array;
export const TypedArrayPrototypeGetBuffer = uncurryThis(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer').get);
export const TypedArrayPrototypeGetByteOffset = uncurryThis(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteOffset').get);
export const TypedArrayPrototypeGetByteLength = uncurryThis(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteLength').get);
export const DataViewPrototypeGetBuffer = uncurryThis(
  Object.getOwnPropertyDescriptor(DataView.prototype, 'buffer').get);
export const DataViewPrototypeGetByteOffset = uncurryThis(
  Object.getOwnPropertyDescriptor(DataView.prototype, 'byteOffset').get);
export const DataViewPrototypeGetByteLength = uncurryThis(
  Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get);

// `value` converted to a string the way String(value) does, without going through the global
// `String`, which user code may have replaced.
export function toStringValue(value) {
  return StringCtor(value);
}

// Calls `then` on a promise with the original Promise.prototype.then.
export function thenOriginal(promise, onFulfilled, onRejected) {
  return PromisePrototypeThen(promise, onFulfilled, onRejected);
}

// A new array holding String(x) of each element of `list` (an array), read by index so that a
// replaced Array.prototype.map or iterator changes nothing.
// A storage key or SQL text as workerd's conversion to a string makes it: `String()` would turn a
// Symbol into "Symbol(x)", a key nobody wrote; V8's ToString (and workerd) refuse it.
export function keyString(value) {
  if (typeof value === 'symbol') throw new TypeErrorCtor('Cannot convert a Symbol value to a string');
  return StringCtor(value);
}

export function stringsOf(list) {
  const out = [];
  const length = list.length;
  for (let i = 0; i < length; i++) out[i] = keyString(list[i]);
  return out;
}

// Whether `proto` is on `value`'s prototype chain (what `instanceof` asks, without a user-defined
// Symbol.hasInstance or a replaced `prototype` taking part).
const ObjectGetPrototypeOfOriginal = Object.getPrototypeOf;
export function inheritsFrom(value, proto) {
  for (let p = ObjectGetPrototypeOfOriginal(value); p !== null; p = ObjectGetPrototypeOfOriginal(p)) {
    if (p === proto) return true;
  }
  return false;
}

// An unforgeable token that lets the runtime construct its own classes: their constructors,
// reachable from user code through `.constructor`, refuse every other caller with workerd's
// "Illegal constructor".
export const kRuntimeToken = SymbolCtor('dorm.runtime');
export function checkToken(token) {
  if (token !== kRuntimeToken) throw new TypeErrorCtor('Illegal constructor');
}

export { apply as FunctionPrototypeApply };
