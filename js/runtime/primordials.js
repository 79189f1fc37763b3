// The runtime's own paths call the built-ins captured in ../shared/primordials.js, re-exported
// here with the runtime's helpers below: user code may replace any global or prototype method
// (Array.prototype.map, Promise.prototype.then, String...), which then changes nothing but the
// user's own code.
import {
  ObjectSetPrototypeOf, PromisePrototypeThen, StringCtor, SymbolCtor, TypeErrorCtor,
} from '../shared/primordials.js';

export * from '../shared/primordials.js';

// `value` converted to a string the way String(value) does, without going through the global
// `String`, which user code may have replaced.
export function toStringValue(value) {
  return StringCtor(value);
}

// Calls `then` on a promise with the original Promise.prototype.then.
export function thenOriginal(promise, onFulfilled, onRejected) {
  return PromisePrototypeThen(promise, onFulfilled, onRejected);
}

// A storage key or SQL text as workerd's conversion to a string makes it: `String()` would turn a
// Symbol into "Symbol(x)", a key nobody wrote; V8's ToString (and workerd) refuse it.
export function keyString(value) {
  if (typeof value === 'symbol') throw new TypeErrorCtor('Cannot convert a Symbol value to a string');
  return StringCtor(value);
}

// A new array holding keyString(x) of each element of `list` (an array), read by index so that a
// replaced Array.prototype.map or iterator changes nothing.
export function stringsOf(list) {
  const out = newList();
  const length = list.length;
  for (let i = 0; i < length; i++) out[i] = keyString(list[i]);
  return out;
}

// A new empty Array without a prototype, for a list the runtime fills by index and hands only to
// natives (or to V8's serializer, whose copy has the receiver's Array.prototype):
// `list[list.length] = x` reaches no setter user code put on Array.prototype's indices. It is read
// by index; it has no methods and is not iterable.
export function newList() {
  const list = [];
  ObjectSetPrototypeOf(list, null);
  return list;
}

// An unforgeable token that lets the runtime construct its own classes: their constructors,
// reachable from user code through `.constructor`, refuse every other caller with workerd's
// "Illegal constructor".
export const kRuntimeToken = SymbolCtor('dorm.runtime');
export function checkToken(token) {
  if (token !== kRuntimeToken) throw new TypeErrorCtor('Illegal constructor');
}

