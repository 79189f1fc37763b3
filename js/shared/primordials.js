// The built-ins Dorm's JavaScript calls on its own paths, captured when a bundle loads, before
// any user code runs. Both bundles import this module (each evaluates its own copy at its own
// load: the prelude's, then the runtime's, both before the app's modules). User code may then
// replace globals and prototype methods, or put setters on Array.prototype and Object.prototype
// indices; workerd's classes are native and unaffected, so Dorm's must be too.
//
// Contract: a method is called through its captured function (`uncurryThis`), never looked up on
// the value it is called on; a typed array's length, offset and buffer are read with the getters
// below, not through the value's prototype. Nothing here throws when the module loads.

const { apply } = Reflect;
const { bind, call } = Function.prototype;

// uncurryThis(f)(self, ...args) is Reflect.apply(f, self, args), without looking anything up.
export const uncurryThis = apply(bind, bind, [call]);

export const ReflectApply = apply;
export const ReflectConstruct = Reflect.construct;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ReflectGet = Reflect.get;
export const ReflectHas = Reflect.has;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectSetPrototypeOf = Object.setPrototypeOf;
export const ObjectEntries = Object.entries;
export const ObjectFreeze = Object.freeze;
export const ObjectKeys = Object.keys;
export const ObjectHasOwn = Object.hasOwn;
export const JSONParse = JSON.parse;
export const JSONStringify = JSON.stringify;
export const PromiseCtor = Promise;
export const PromiseResolve = apply(bind, Promise.resolve, [Promise]);
export const PromiseReject = apply(bind, Promise.reject, [Promise]);
export const PromisePrototypeThen = uncurryThis(Promise.prototype.then);
export const ErrorCtor = Error;
export const TypeErrorCtor = TypeError;
export const RangeErrorCtor = RangeError;
export const SyntaxErrorCtor = SyntaxError;
export const ReferenceErrorCtor = ReferenceError;
export const EvalErrorCtor = EvalError;
export const URIErrorCtor = URIError;
export const SymbolCtor = Symbol;
export const SymbolIterator = Symbol.iterator;
export const SymbolAsyncIterator = Symbol.asyncIterator;
export const StringCtor = String;
export const NumberCtor = Number;
export const NumberIsFinite = Number.isFinite;
export const NumberIsNaN = Number.isNaN;
export const NumberIsSafeInteger = Number.isSafeInteger;
export const MathTrunc = Math.trunc;
export const MathFloor = Math.floor;
export const MathCeil = Math.ceil;
export const MathMin = Math.min;
export const MathMax = Math.max;
export const MathRandom = Math.random;
export const DateCtor = Date;
export const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
export const ArrayIsArray = Array.isArray;
export const ArrayPrototypeIncludes = uncurryThis(Array.prototype.includes);
export const FunctionPrototypeBind = uncurryThis(Function.prototype.bind);
export const ArrayBufferCtor = ArrayBuffer;
export const ArrayBufferIsView = ArrayBuffer.isView;
export const ArrayBufferPrototypeSlice = uncurryThis(ArrayBuffer.prototype.slice);
export const Uint8ArrayCtor = Uint8Array;
export const Uint16ArrayCtor = Uint16Array;
export const DataViewCtor = DataView;

const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const typedArrayAccessor = (name) => uncurryThis(Reflect.getOwnPropertyDescriptor(TypedArrayPrototype, name).get);
// A typed array's length, byteLength, byteOffset and buffer, read by the getters of
// %TypedArray%.prototype (which user code may replace on the prototypes).
export const TypedArrayLength = typedArrayAccessor('length');
export const TypedArrayByteLength = typedArrayAccessor('byteLength');
export const TypedArrayByteOffset = typedArrayAccessor('byteOffset');
export const TypedArrayBuffer = typedArrayAccessor('buffer');
export const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
export const TypedArrayPrototypeSlice = uncurryThis(TypedArrayPrototype.slice);
const dataViewAccessor = (name) => uncurryThis(Reflect.getOwnPropertyDescriptor(DataView.prototype, name).get);
export const DataViewBuffer = dataViewAccessor('buffer');
export const DataViewByteLength = dataViewAccessor('byteLength');
export const DataViewByteOffset = dataViewAccessor('byteOffset');

export const MapCtor = Map;
export const MapPrototypeGet = uncurryThis(Map.prototype.get);
export const MapPrototypeSet = uncurryThis(Map.prototype.set);
export const MapPrototypeHas = uncurryThis(Map.prototype.has);
export const MapPrototypeClear = uncurryThis(Map.prototype.clear);
export const MapPrototypeDelete = uncurryThis(Map.prototype.delete);
export const MapPrototypeForEach = uncurryThis(Map.prototype.forEach);
export const MapPrototypeKeys = uncurryThis(Map.prototype.keys);
export const MapPrototypeGetSize = uncurryThis(Reflect.getOwnPropertyDescriptor(Map.prototype, 'size').get);
export const MapPrototypeEntries = uncurryThis(Map.prototype.entries);
export const MapIteratorPrototypeNext = uncurryThis(Object.getPrototypeOf(new Map().entries()).next);
export const WeakMapCtor = WeakMap;
export const WeakMapPrototypeGet = uncurryThis(WeakMap.prototype.get);
export const WeakMapPrototypeSet = uncurryThis(WeakMap.prototype.set);
export const WeakMapPrototypeHas = uncurryThis(WeakMap.prototype.has);
export const SetCtor = Set;
export const SetPrototypeHas = uncurryThis(Set.prototype.has);
export const SetPrototypeAdd = uncurryThis(Set.prototype.add);
export const SetPrototypeDelete = uncurryThis(Set.prototype.delete);
export const SetPrototypeForEach = uncurryThis(Set.prototype.forEach);
export const WeakSetCtor = WeakSet;
export const WeakSetPrototypeAdd = uncurryThis(WeakSet.prototype.add);
export const WeakSetPrototypeHas = uncurryThis(WeakSet.prototype.has);

// V8 has FinalizationRegistry unless run with --no-harmony-weak-refs: null then.
export const FinalizationRegistryCtor = typeof FinalizationRegistry === 'function' ? FinalizationRegistry : null;
export const FinalizationRegistryPrototypeRegister = FinalizationRegistryCtor === null ? null
  : uncurryThis(FinalizationRegistryCtor.prototype.register);

export const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
export const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
export const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
export const StringPrototypeSlice = uncurryThis(String.prototype.slice);
export const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
export const StringFromCharCode = String.fromCharCode;
export const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);

// Whether `proto` is on `value`'s prototype chain (what `instanceof` asks, without a user-defined
// Symbol.hasInstance or a replaced `prototype` taking part).
export function inheritsFrom(value, proto) {
  for (let p = ObjectGetPrototypeOf(value); p !== null; p = ObjectGetPrototypeOf(p)) {
    if (p === proto) return true;
  }
  return false;
}
