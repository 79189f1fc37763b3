// The prelude's own paths (Headers, Request, Response, bodies, FormData, the host's reads of
// them) call the built-ins captured in ../shared/primordials.js, re-exported here, and keep their
// lists with the helpers below.
//
// Contract: an array the prelude keeps to itself is an InternalList (no prototype, so no index
// setter or replaced method is reached when it grows); an array handed to user code or to the
// host is made by `arrayFromList`, which never assigns through Array.prototype.
import {
  MapIteratorPrototypeNext, MapPrototypeEntries, ObjectSetPrototypeOf, ReflectApply,
  RegExpPrototypeExec, StringFromCharCode, TypedArrayBuffer, TypedArrayByteOffset,
  TypedArrayLength, TypedArrayPrototypeSet, Uint8ArrayCtor,
} from '../shared/primordials.js';

export * from '../shared/primordials.js';

// Whether `re` (a regular expression without the g or y flag) matches somewhere in `s`: exec,
// not test(), which looks `exec` up on the expression.
export function regExpMatches(re, s) {
  return RegExpPrototypeExec(re, s) !== null;
}

const ArrayPrototype = Array.prototype;
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
  ReflectApply(ArrayPrototypeSort, list, [compare]);
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
    out += ReflectApply(StringFromCharCode, undefined, args);
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
