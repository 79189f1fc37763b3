// The built-ins that the prelude's own paths (Headers, Request, Response, bodies, the host's
// reads of them) use, captured when the prelude loads, before any user code runs. User code may
// then replace globals and prototype methods, or put setters on Array.prototype and
// Object.prototype indices; workerd's classes are native and unaffected, so Dorm's must be too.
//
// Contract: a method is called here through its captured function (`uncurryThis`), never looked
// up on the value; an array the prelude keeps to itself is an InternalList (no prototype, so no
// index setter or replaced method is reached when it grows); an array handed to user code or to
// the host is made by `arrayFromList`, which never assigns through Array.prototype.

const { apply } = Reflect;
const { bind, call } = Function.prototype;

// uncurryThis(f)(self, ...args) is Reflect.apply(f, self, args), without looking anything up.
export const uncurryThis = apply(bind, bind, [call]);

export const ReflectApply = apply;
export const ReflectConstruct = Reflect.construct;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectSetPrototypeOf = Object.setPrototypeOf;
export const JSONParse = JSON.parse;
export const JSONStringify = JSON.stringify;
export const PromiseCtor = Promise;
export const PromiseResolve = apply(bind, Promise.resolve, [Promise]);
export const PromiseReject = apply(bind, Promise.reject, [Promise]);
export const PromisePrototypeThen = uncurryThis(Promise.prototype.then);
export const TypeErrorCtor = TypeError;
export const RangeErrorCtor = RangeError;
export const SymbolIterator = Symbol.iterator;
export const SymbolAsyncIterator = Symbol.asyncIterator;
export const Uint8ArrayCtor = Uint8Array;
export const Uint16ArrayCtor = Uint16Array;
export const ArrayBufferIsView = ArrayBuffer.isView;
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
const dataViewAccessor = (name) => uncurryThis(Reflect.getOwnPropertyDescriptor(DataView.prototype, name).get);
export const DataViewBuffer = dataViewAccessor('buffer');
export const DataViewByteLength = dataViewAccessor('byteLength');
export const DataViewByteOffset = dataViewAccessor('byteOffset');
export const TypedArrayPrototypeSlice = uncurryThis(TypedArrayPrototype.slice);

export const MapCtor = Map;
export const MapPrototypeGet = uncurryThis(Map.prototype.get);
export const MapPrototypeSet = uncurryThis(Map.prototype.set);
export const MapPrototypeHas = uncurryThis(Map.prototype.has);
export const MapPrototypeClear = uncurryThis(Map.prototype.clear);
export const MapPrototypeGetSize = uncurryThis(Reflect.getOwnPropertyDescriptor(Map.prototype, 'size').get);
export const MapPrototypeEntries = uncurryThis(Map.prototype.entries);
export const MapIteratorPrototypeNext = uncurryThis(Object.getPrototypeOf(new Map().entries()).next);
export const WeakMapPrototypeGet = uncurryThis(WeakMap.prototype.get);
export const WeakMapPrototypeSet = uncurryThis(WeakMap.prototype.set);
export const SetCtor = Set;
export const SetPrototypeHas = uncurryThis(Set.prototype.has);

export const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
export const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
export const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
export const StringPrototypeSlice = uncurryThis(String.prototype.slice);
export const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
export const StringFromCharCode = String.fromCharCode;
export const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);

// Whether `re` (a regular expression without the g or y flag) matches somewhere in `s`: exec,
// not test(), which looks `exec` up on the expression.
export function regExpMatches(re, s) {
  return RegExpPrototypeExec(re, s) !== null;
}

const ArrayPrototype = Array.prototype;
export const ArrayIsArray = Array.isArray;
const ArrayPrototypeSort = Array.prototype.sort;

// An array-like list that only the prelude sees: `list[list.length++] = value` appends without
// reaching a setter (its prototype chain is empty), and it is read by index, never iterated.
export class InternalList {
  constructor() {
    this.length = 0;
  }
}
ObjectSetPrototypeOf(InternalList.prototype, null);

export function listAppend(list, value) {
  list[list.length++] = value;
}

// Sorts an InternalList in place with `compare` (Array.prototype.sort is generic: it reads and
// writes the list's own indices).
export function listSort(list, compare) {
  apply(ArrayPrototypeSort, list, [compare]);
}

// A new Array of the elements of `list` (an InternalList or an array the prelude made), for user
// code or the host, made without assigning through Array.prototype (where user code may have put
// setters or replaced methods). Up to 8 elements it is a literal (as fast as push); a longer one
// is filled while it has no prototype, then given Array.prototype.
export function arrayFromList(list) {
  switch (list.length) {
    case 0: return [];
    case 1: return [list[0]];
    case 2: return [list[0], list[1]];
    case 3: return [list[0], list[1], list[2]];
    case 4: return [list[0], list[1], list[2], list[3]];
    case 5: return [list[0], list[1], list[2], list[3], list[4]];
    case 6: return [list[0], list[1], list[2], list[3], list[4], list[5]];
    case 7: return [list[0], list[1], list[2], list[3], list[4], list[5], list[6]];
    case 8: return [list[0], list[1], list[2], list[3], list[4], list[5], list[6], list[7]];
    default: break;
  }
  const array = [];
  ObjectSetPrototypeOf(array, null);
  for (let i = 0; i < list.length; i++) array[i] = list[i];
  ObjectSetPrototypeOf(array, ArrayPrototype);
  return array;
}

// The elements of `list` joined by `separator`, by concatenation (join() is replaceable).
export function listJoin(list, separator) {
  let out = list.length === 0 ? '' : list[0];
  for (let i = 1; i < list.length; i++) out = `${out}${separator}${list[i]}`;
  return out;
}

// A Uint8Array over bytes [start, end) of `u8` (a Uint8Array), sharing its buffer. (Not
// subarray(): like slice(), it makes its result with a constructor user code chooses.)
export function bytesView(u8, start, end) {
  return new Uint8ArrayCtor(TypedArrayBuffer(u8), TypedArrayByteOffset(u8) + start, end - start);
}

// The string of the UTF-16 code units `units[0..length)` (a typed array or an InternalList of
// numbers). fromCharCode is applied to an InternalList of at most 8192 units at a time: applied to
// a typed array, it would read the array's `length` through the getter user code may replace.
export function codeUnitsToString(units, length) {
  let out = '';
  for (let i = 0; i < length; i += 8192) {
    const end = i + 8192 < length ? i + 8192 : length;
    const args = new InternalList();
    for (let j = i; j < end; j++) args[args.length++] = units[j];
    out += apply(StringFromCharCode, undefined, args);
  }
  return out;
}

// Each Map entry of `map` as fn(key, value), in order, through the iterator methods captured at
// load (a Map's own entries() and its iterator's next() may be replaced).
export function mapForEach(map, fn) {
  const iterator = MapPrototypeEntries(map);
  for (let step = MapIteratorPrototypeNext(iterator); !step.done; step = MapIteratorPrototypeNext(iterator)) {
    fn(step.value[0], step.value[1]);
  }
}

// A copy of the bytes of `u8` (a Uint8Array) over a new ArrayBuffer. (Not slice(): it makes its
// result with the constructor that `constructor` and Symbol.species name, which user code chooses.)
export function copyBytes(u8) {
  const out = new Uint8ArrayCtor(TypedArrayLength(u8));
  TypedArrayPrototypeSet(out, u8);
  return out;
}
