// The built-ins npm whatwg-url, tr46, webidl-conversions and punycode call, captured when the
// prelude loads. The prelude bundles those libraries rewritten (js/build/url_library.mjs): each
// call of a built-in method they make (`x.push(y)`, `s.charCodeAt(i)`, `re.test(s)`,
// `Object.defineProperty(...)`), each `for...of`, each array destructuring and spread becomes a
// call of a function below, so that a URL or URLSearchParams gives the same answers whatever user
// code did to Array.prototype, String.prototype, RegExp.prototype, Map, Set, iterators or
// Function.prototype (workerd's are native).
//
// Contract: `methods[name](receiver, ...args)` behaves as `receiver[name](...args)` did in a clean
// isolate when the receiver is a string, number, array, typed array, RegExp, Map or Set; on any
// other receiver (the libraries' own objects and modules) it looks the method up and calls it as
// the original code did. `staticOf('Array', 'from')` etc. are the functions as they were at load.
// `iterate(value)` is what `for...of` iterates; none of these throw other than as the built-in
// they stand for would.
import {
  ArrayIsArray, MapIteratorPrototypeNext, MapPrototypeEntries, MathTrunc, ObjectDefineProperty,
  ObjectGetPrototypeOf, ObjectKeys, ReflectApply, ReflectGet, ReflectHas,
  StringPrototypeIndexOf, StringPrototypeSlice,
  RegExpPrototypeExec, TypedArrayByteLength, TypedArrayLength, Uint8ArrayCtor, uncurryThis,
} from './primordials.js';

const ObjectCtor = Object;
const ArrayPrototype = Array.prototype;
const StringPrototype = String.prototype;
const RegExpPrototype = RegExp.prototype;
const MapPrototype = Map.prototype;
const SetPrototype = Set.prototype;
const NumberPrototype = Number.prototype;
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const stringCodePointAt = uncurryThis(StringPrototype.codePointAt);
const setValues = uncurryThis(SetPrototype.values);
const setIteratorNext = uncurryThis(ObjectGetPrototypeOf(new Set().values()).next);
const fromCodePoint = String.fromCodePoint;
const { max: MathMax, min: MathMin } = Math;

function isTypedArray(value) {
  return value !== null && typeof value === 'object'
    && ObjectGetPrototypeOf(ObjectGetPrototypeOf(value)) === TypedArrayPrototype;
}

// Appends without [[Set]]: a setter user code put on Array.prototype's (or Object.prototype's)
// index would run for an index the array does not have yet.
function append(list, value) {
  const index = list.length;
  if (ReflectHas(ArrayPrototype, index)) {
    ObjectDefineProperty(list, index, {
      __proto__: null, value, writable: true, enumerable: true, configurable: true,
    });
  } else {
    list[index] = value;
  }
}

// The kinds of receiver whose built-in methods are captured, by index (kindOf's answer).
const STRING = 0;
const ARRAY = 1;
const TYPED = 2;
const REGEXP = 3;
const MAP = 4;
const SET = 5;
const NUMBER = 6;
const OTHER = -1;
const kindNames = ['string', 'array', 'typed', 'regexp', 'map', 'set', 'number'];
const kindPrototypes = [
  StringPrototype, ArrayPrototype, TypedArrayPrototype, RegExpPrototype, MapPrototype, SetPrototype, NumberPrototype,
];

function kindOf(value) {
  switch (typeof value) {
    case 'string': return STRING;
    case 'number': return NUMBER;
    case 'object': {
      if (value === null) return OTHER;
      if (ArrayIsArray(value)) return ARRAY;
      const proto = ObjectGetPrototypeOf(value);
      if (proto === RegExpPrototype) return REGEXP;
      if (proto === MapPrototype) return MAP;
      if (proto === SetPrototype) return SET;
      if (proto !== null && ObjectGetPrototypeOf(proto) === TypedArrayPrototype) return TYPED;
      return OTHER;
    }
    default: return OTHER;
  }
}

// RegExp methods that would look `exec` up on the regular expression, done with the captured exec.
function regexpTest(re, string) {
  return RegExpPrototypeExec(re, `${string}`) !== null;
}

function stringSearch(string, pattern) {
  if (kindOf(pattern) !== REGEXP) return ReflectApply(StringPrototype.search, string, [pattern]);
  const previous = pattern.lastIndex;
  pattern.lastIndex = 0;
  const match = RegExpPrototypeExec(pattern, string);
  pattern.lastIndex = previous;
  return match === null ? -1 : match.index;
}

const stringReplace = uncurryThis(StringPrototype.replace);
const stringIndexOf = uncurryThis(StringPrototype.indexOf);
const stringSlice = uncurryThis(StringPrototype.slice);

// Only what the libraries do: a replacement string without `$` patterns.
function replaceWithRegExp(string, pattern, replacement) {
  if (kindOf(pattern) !== REGEXP || typeof replacement !== 'string' || stringIndexOf(replacement, '$') !== -1) {
    return stringReplace(string, pattern, replacement);
  }
  const global = pattern.global;
  let out = '';
  let from = 0;
  pattern.lastIndex = 0;
  for (;;) {
    const match = RegExpPrototypeExec(pattern, string);
    if (match === null) break;
    const matched = match[0];
    out += stringSlice(string, from, match.index) + replacement;
    from = match.index + matched.length;
    if (!global) break;
    if (matched === '') pattern.lastIndex = from + 1;
  }
  if (global) pattern.lastIndex = 0;
  return out + stringSlice(string, from);
}

const special = {
  __proto__: null,
  'array push'(list, ...items) {
    for (let i = 0; i < items.length; i++) append(list, items[i]);
    return list.length;
  },
  // Array.prototype.splice would [[Set]] the indices it moves items to (punycode inserts decoded
  // code points with it): the list rebuilt here by appending.
  'array splice'(list, start, deleteCount, ...items) {
    const length = list.length;
    const n = MathTrunc(+start) || 0;
    const from = n < 0 ? MathMax(length + n, 0) : MathMin(n, length);
    let count = 0;
    if (arguments.length === 2) count = length - from;
    else if (arguments.length > 2) count = MathMin(MathMax(MathTrunc(+deleteCount) || 0, 0), length - from);
    const removed = [];
    for (let i = 0; i < count; i++) append(removed, list[from + i]);
    const tail = [];
    for (let i = from + count; i < length; i++) append(tail, list[i]);
    list.length = from;
    for (let i = 0; i < items.length; i++) append(list, items[i]);
    for (let i = 0; i < tail.length; i++) append(list, tail[i]);
    return removed;
  },
  'regexp test': regexpTest,
  // %TypedArray%.prototype.slice would look `constructor` up for its species: the libraries slice
  // only Uint8Arrays, copied here by index.
  'typed slice'(bytes, start, end) {
    const length = TypedArrayLength(bytes);
    const relative = (value, fallback) => {
      if (value === undefined) return fallback;
      const n = MathTrunc(+value) || 0;
      return n < 0 ? MathMax(length + n, 0) : MathMin(n, length);
    };
    const from = relative(start, 0);
    const count = MathMax(relative(end, length) - from, 0);
    const out = new Uint8ArrayCtor(count);
    for (let i = 0; i < count; i++) out[i] = bytes[from + i];
    return out;
  },
  'string search': stringSearch,
  'string replace': replaceWithRegExp,
};

// special's functions by kind index, then name.
const specialByKind = [];
for (let k = 0; k < kindNames.length; k++) specialByKind[k] = { __proto__: null };
for (const key of ObjectKeys(special)) {
  const space = StringPrototypeIndexOf(key, ' ');
  const kindName = StringPrototypeSlice(key, 0, space);
  let kind = 0;
  while (kindNames[kind] !== kindName) kind++;
  specialByKind[kind][StringPrototypeSlice(key, space + 1)] = special[key];
}

// Called once per method name the rewrite found, while the prelude loads: for each kind of
// receiver, the replacement above (which takes the receiver first) or the built-in method as it is
// now (applied to the receiver). Arrays indexed by kind, made before user code runs and read only
// at indices they have.
function makeMethod(name) {
  const byKind = [null, null, null, null, null, null, null];
  const first = [false, false, false, false, false, false, false];
  for (let k = 0; k < kindNames.length; k++) {
    const replacement = specialByKind[k][name];
    if (replacement !== undefined) {
      byKind[k] = replacement;
      first[k] = true;
    } else {
      const original = kindPrototypes[k][name];
      if (typeof original === 'function') byKind[k] = original;
    }
  }
  return function method(receiver, ...args) {
    const kind = kindOf(receiver);
    const fn = kind === OTHER ? null : byKind[kind];
    if (fn === null) return ReflectApply(ReflectGet(ObjectCtor(receiver), name), receiver, args);
    if (first[kind]) return ReflectApply(fn, undefined, prepend(receiver, args));
    return ReflectApply(fn, receiver, args);
  };
}

// [head, ...list] without an iterator or [[Set]] on a new index.
function prepend(head, list) {
  const out = [head];
  for (let i = 0; i < list.length; i++) append(out, list[i]);
  return out;
}

export const methods = { __proto__: null };

export function defineMethods(names) {
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!(name in methods)) methods[name] = makeMethod(name);
  }
}

// Functions called through the libraries' Function objects: `f.call(t, ...a)`, `f.apply(t, a)`,
// `f.bind(t)`. Function.prototype's members may be replaced.
const functionBind = Function.prototype.bind;
methods.call = (fn, self, ...args) => (typeof fn === 'function' ? ReflectApply(fn, self, args)
  : ReflectApply(ReflectGet(ObjectCtor(fn), 'call'), fn, prepend(self, args)));
methods.apply = (fn, self, args) => (typeof fn === 'function' ? ReflectApply(fn, self, args ?? [])
  : ReflectApply(ReflectGet(ObjectCtor(fn), 'apply'), fn, [self, args]));
methods.bind = (fn, self, ...args) => ReflectApply(functionBind, fn, prepend(self, args));

// `Array.from`, `Object.defineProperty`, `Reflect.ownKeys`, `String.fromCodePoint`... as they are
// when a rewritten module loads (with the prelude, before user code); only those the rewrite
// found are read.
const namespaces = {
  __proto__: null, Array, Object, String, Reflect, Number, Math, JSON, Symbol,
};
// Array.from calls its items' iterator: a list of an array's, string's or typed array's items
// gathered by index instead.
function arrayFrom(items, mapFn) {
  const out = [];
  let i = 0;
  for (const item of iterate(items)) {
    append(out, mapFn === undefined ? item : mapFn(item, i));
    i++;
  }
  return out;
}

export function staticOf(namespace, name) {
  if (namespace === 'Array' && name === 'from') return arrayFrom;
  return namespaces[namespace][name];
}

// A typed array's length and byteLength (the libraries read them as properties).
export function lengthOf(value) {
  return isTypedArray(value) ? TypedArrayLength(value) : value.length;
}
export function byteLengthOf(value) {
  return isTypedArray(value) ? TypedArrayByteLength(value) : value.byteLength;
}

// An iterator over a list's first `length` items by index; its methods are the prelude's own.
class ListIterator {
  constructor(list, length) {
    this.list = list;
    this.length = length;
    this.index = 0;
  }

  [Symbol.iterator]() {
    return this;
  }

  next() {
    const index = this.index;
    if (index < this.length) {
      this.index = index + 1;
      return { value: this.list[index], done: false };
    }
    return { value: undefined, done: true };
  }
}

function* codePoints(string) {
  for (let i = 0; i < string.length; i++) {
    const c = stringCodePointAt(string, i);
    if (c > 0xffff) {
      yield fromCodePoint(c);
      i++;
    } else {
      yield string[i];
    }
  }
}

function* entriesOf(iterator, next) {
  for (;;) {
    const result = next(iterator);
    if (result.done) return;
    yield result.value;
  }
}

// What `for (x of value)` iterates, `[...value]` spreads and `Array.from(value)` gathers.
export function iterate(value) {
  switch (kindOf(value)) {
    case ARRAY: return new ListIterator(value, value.length);
    case TYPED: return new ListIterator(value, TypedArrayLength(value));
    case STRING: return codePoints(value);
    case MAP: return entriesOf(MapPrototypeEntries(value), MapIteratorPrototypeNext);
    case SET: return entriesOf(setValues(value), setIteratorNext);
    default: return value;
  }
}

// A list's (or string's) own indices on an object without a prototype, for array destructuring.
export function indices(value) {
  return { __proto__: null, ...value };
}

// A string's code points, by index, on an object without a prototype: the URL parser reads its
// input one past the end, which must give undefined.
export function codePointList(string) {
  const out = { __proto__: null, length: 0 };
  for (let i = 0; i < string.length; i++) {
    const c = stringCodePointAt(string, i);
    out[out.length++] = c;
    if (c > 0xffff) i++;
  }
  return out;
}

// `String.fromCodePoint(...list)`.
export function fromCodePoints(list) {
  return ReflectApply(fromCodePoint, undefined, list);
}

// `[...value]` as a new array.
export function spread(value) {
  const out = [];
  for (const item of iterate(value)) append(out, item);
  return out;
}

// push() on the libraries' arrays (a constructor's argument list on every `new URL()`): one item
// appended without a rest array.
const pushAny = makeMethod('push');
methods.push = function push(list, item) {
  if (arguments.length !== 2 || !ArrayIsArray(list)) return ReflectApply(pushAny, undefined, arguments);
  append(list, item);
  return list.length;
};

// An array's entries() for `for (const [i, x] of list.entries())`.
methods.entries = (receiver, ...args) => {
  if (ArrayIsArray(receiver)) {
    return (function* arrayEntries() {
      for (let i = 0; i < receiver.length; i++) yield [i, receiver[i]];
    }());
  }
  if (kindOf(receiver) === MAP) return entriesOf(MapPrototypeEntries(receiver), MapIteratorPrototypeNext);
  return ReflectApply(ReflectGet(ObjectCtor(receiver), 'entries'), receiver, args);
};

// A global the rewritten modules name (`String`, `parseInt`, `Set`, `TypeError`, `TextEncoder`...),
// read once by each as it loads: with the prelude, before user code, after url_prerequisites.js
// installed the encoder and decoder.
export function globalOf(name) {
  return globalThis[name];
}

// What the rewritten modules require: one object, so that the bundler's CommonJS view of this
// module (made again for each of them) copies one property.
export const urlBuiltins = {
  methods, defineMethods, staticOf, globalOf, uncurryThis, lengthOf, byteLengthOf, iterate, indices, codePointList,
  fromCodePoints, spread,
};
