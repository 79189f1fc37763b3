import { CopiedObject, hideBase } from './host_object.js';
import {
  InternalList, MapCtor, MapPrototypeGet, MapPrototypeSet, ObjectDefineProperty, ReflectApply,
  ReflectGetOwnPropertyDescriptor, ReflectOwnKeys, StringPrototypeCharCodeAt, StringPrototypeSlice,
  StringPrototypeToLowerCase, SymbolIterator, TypeErrorCtor, arrayFromList, listAppend, listJoin, listSort, regExpMatches,
} from './primordials.js';
import {
  IteratorPrototype, defineInterface, inspectCustom, isObject, requireArgs, toByteString,
} from './webidl.js';

// The header list and the pairs in it are the prelude's own: every step below uses captured
// built-ins (primordials.js), so a Headers made by the runtime for a request, or by user code with
// a prototype it has poisoned, behaves as workerd's native one.

// workerd takes the empty name (such a header is kept in the list, and left out of what is sent).
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

function isHeaderName(name) {
  return regExpMatches(tokenPattern, name);
}

function isHttpWhitespace(code) {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

// Strips leading and trailing HTTP whitespace (tab, LF, CR, space).
function normalizeHeaderValue(value) {
  let start = 0;
  let end = value.length;
  while (start < end && isHttpWhitespace(StringPrototypeCharCodeAt(value, start))) start++;
  while (end > start && isHttpWhitespace(StringPrototypeCharCodeAt(value, end - 1))) end--;
  return start === 0 && end === value.length ? value : StringPrototypeSlice(value, start, end);
}

const invalidValuePattern = /[\0\n\r]/;

function isHeaderValue(value) {
  return !regExpMatches(invalidValuePattern, value);
}

// Whether the header list `list` (an InternalList of [name, value]) holds `lowerName`.
function listHas(list, lowerName) {
  for (let i = 0; i < list.length; i++) if (list[i][0] === lowerName) return true;
  return false;
}

// Whether the header list holds `lowerName`, without going through the (replaceable) methods.
export function hasHeader(headers, lowerName) {
  return listHas(headersInternals.list(headers), lowerName);
}

// The values of `lowerName` in the list, combined with ", " (or null when there is none).
export function combinedValue(list, lowerName) {
  let combined = null;
  for (let i = 0; i < list.length; i++) {
    if (list[i][0] === lowerName) combined = combined === null ? list[i][1] : `${combined}, ${list[i][1]}`;
  }
  return combined;
}

// The pairs of `list` whose name is not `lowerName`, in a new list.
function listWithout(list, lowerName) {
  const kept = new InternalList();
  for (let i = 0; i < list.length; i++) if (list[i][0] !== lowerName) listAppend(kept, list[i]);
  return kept;
}

function immutable() {
  return new TypeErrorCtor("Can't modify immutable headers.");
}

// Accessors for Headers' private state, for Request, Response and the host interface.
export const headersInternals = {};

const HEADERS_CONSTRUCTOR = "Failed to construct 'Headers'";

export class Headers extends CopiedObject {
  // [lowercase name, value] in insertion order: the header list of Fetch (an InternalList).
  #list = new InternalList();
  // "none", "request", "response" or "immutable". Forbidden header names are not filtered, as in
  // Workers: a server may set any header.
  #guard = 'none';
  // The sorted-and-combined view used for iteration, until the next change.
  #sorted = null;

  constructor(init = undefined) {
    super('Headers');
    if (init !== undefined) this.#fill(init, HEADERS_CONSTRUCTOR);
  }

  static {
    headersInternals.isHeaders = (value) => isObject(value) && #list in value;
    headersInternals.list = (headers) => headers.#list;
    headersInternals.setGuard = (headers, guard) => {
      headers.#guard = guard;
    };
    headersInternals.fill = (headers, init, context) => headers.#fill(init, context);
    // For headers that come from the host or from Fetch itself, which need no validation.
    headersInternals.appendRaw = (headers, name, value) => {
      listAppend(headers.#list, [StringPrototypeToLowerCase(name), value]);
      headers.#sorted = null;
    };
    headersInternals.sorted = (headers) => headers.#sortAndCombine();
    headersInternals.copy = (headers) => {
      const copy = new Headers();
      const list = headers.#list;
      for (let i = 0; i < list.length; i++) listAppend(copy.#list, [list[i][0], list[i][1]]);
      copy.#guard = headers.#guard;
      return copy;
    };
  }

  #fill(init, context) {
    if (!isObject(init)) {
      if (context === HEADERS_CONSTRUCTOR) {
        throw new TypeErrorCtor(`${context}: constructor parameter 1 is not of type 'Headers or Sequence or object'.`);
      }
      throw new TypeErrorCtor(`${context}: The provided value is not of type `
        + "'(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
    }
    if (headersInternals.isHeaders(init)) {
      const list = init.#list;
      for (let i = 0; i < list.length; i++) this.#append(list[i][0], list[i][1], context);
      return;
    }
    const iteratorMethod = init[SymbolIterator];
    if (iteratorMethod !== undefined && iteratorMethod !== null) {
      if (typeof iteratorMethod !== 'function') {
        throw new TypeErrorCtor(`${context}: The object's [Symbol.iterator] is not a function.`);
      }
      // The sequences are user code's, iterated as WebIDL does (their iterators may be its own);
      // what is read from them goes into the prelude's lists.
      const pairs = new InternalList();
      for (const item of init) {
        if (!isObject(item) || typeof item[SymbolIterator] !== 'function') {
          throw new TypeErrorCtor(`${context}: Each header must be a sequence of [name, value].`);
        }
        const pair = new InternalList();
        for (const part of item) listAppend(pair, toByteString(part, context));
        listAppend(pairs, pair);
      }
      for (let i = 0; i < pairs.length; i++) {
        const pair = pairs[i];
        if (pair.length !== 2) {
          throw new TypeErrorCtor('To initialize a Headers object from a sequence, each inner sequence must have exactly two elements.');
        }
        this.#append(pair[0], pair[1], context);
      }
      return;
    }
    const record = new InternalList();
    const keys = ReflectOwnKeys(init);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      // As workerd: a Symbol key is left out (WebIDL's record conversion would throw).
      if (typeof key === 'symbol') continue;
      const desc = ReflectGetOwnPropertyDescriptor(init, key);
      if (desc === undefined || !desc.enumerable) continue;
      listAppend(record, [toByteString(key, context), toByteString(init[key], context)]);
    }
    for (let i = 0; i < record.length; i++) this.#append(record[i][0], record[i][1], context);
  }

  #validate(name, value, context) {
    // workerd's texts, which name neither the header nor the call.
    if (!isHeaderName(name)) throw new TypeErrorCtor('Invalid header name.');
    if (!isHeaderValue(value)) throw new TypeErrorCtor('Invalid header value.');
    if (this.#guard === 'immutable') throw immutable();
  }

  #append(name, value, context) {
    const normalized = normalizeHeaderValue(value);
    this.#validate(name, normalized, context);
    listAppend(this.#list, [StringPrototypeToLowerCase(name), normalized]);
    this.#sorted = null;
  }

  #sortAndCombine() {
    if (this.#sorted !== null) return this.#sorted;
    const list = this.#list;
    const byName = new MapCtor();
    const names = new InternalList();
    for (let i = 0; i < list.length; i++) {
      const name = list[i][0];
      const values = MapPrototypeGet(byName, name);
      if (values === undefined) {
        const first = new InternalList();
        listAppend(first, list[i][1]);
        MapPrototypeSet(byName, name, first);
        listAppend(names, name);
      } else {
        listAppend(values, list[i][1]);
      }
    }
    listSort(names, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const sorted = new InternalList();
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const values = MapPrototypeGet(byName, name);
      if (name === 'set-cookie') {
        for (let j = 0; j < values.length; j++) listAppend(sorted, [name, values[j]]);
      } else {
        listAppend(sorted, [name, listJoin(values, ', ')]);
      }
    }
    this.#sorted = sorted;
    return sorted;
  }

  append(name, value) {
    const context = "Failed to execute 'append' on 'Headers'";
    requireArgs(arguments.length, 2, context);
    this.#append(toByteString(name, context), toByteString(value, context), context);
  }

  delete(name) {
    const context = "Failed to execute 'delete' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    this.#validate(n, '', context);
    const lower = StringPrototypeToLowerCase(n);
    if (listHas(this.#list, lower)) {
      this.#list = listWithout(this.#list, lower);
      this.#sorted = null;
    }
  }

  get(name) {
    const context = "Failed to execute 'get' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isHeaderName(n)) throw new TypeErrorCtor('Invalid header name.');
    return combinedValue(this.#list, StringPrototypeToLowerCase(n));
  }

  getSetCookie() {
    const values = new InternalList();
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === 'set-cookie') listAppend(values, list[i][1]);
    return arrayFromList(values);
  }

  // A Workers extension, kept for code written against it: only Set-Cookie may be asked for,
  // because its values cannot be combined.
  getAll(name) {
    const context = "Failed to execute 'getAll' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (StringPrototypeToLowerCase(n) !== 'set-cookie') {
      throw new TypeErrorCtor('getAll() can only be used with the header name "Set-Cookie".');
    }
    return this.getSetCookie();
  }

  has(name) {
    const context = "Failed to execute 'has' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isHeaderName(n)) throw new TypeErrorCtor('Invalid header name.');
    return listHas(this.#list, StringPrototypeToLowerCase(n));
  }

  set(name, value) {
    const context = "Failed to execute 'set' on 'Headers'";
    requireArgs(arguments.length, 2, context);
    const n = toByteString(name, context);
    const v = normalizeHeaderValue(toByteString(value, context));
    this.#validate(n, v, context);
    const lower = StringPrototypeToLowerCase(n);
    const list = this.#list;
    let index = 0;
    while (index < list.length && list[index][0] !== lower) index++;
    if (index === list.length) {
      listAppend(list, [lower, v]);
    } else {
      // The first pair takes the value (keeping its place); the later ones of the name go.
      const kept = new InternalList();
      for (let i = 0; i < list.length; i++) {
        if (i === index) listAppend(kept, [lower, v]);
        else if (list[i][0] !== lower) listAppend(kept, list[i]);
      }
      this.#list = kept;
    }
    this.#sorted = null;
  }

  forEach(callback, thisArg = undefined) {
    requireArgs(arguments.length, 1, "Failed to execute 'forEach' on 'Headers'");
    if (typeof callback !== 'function') {
      throw new TypeErrorCtor("Failed to execute 'forEach' on 'Headers': The callback provided as parameter 1 is not a function.");
    }
    // The pairs as they are now, as workerd's forEach: a callback's changes are not visited.
    // (A sorted list is never changed: a change makes the next one.)
    const pairs = this.#sortAndCombine();
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i];
      ReflectApply(callback, thisArg, [pair[1], pair[0], this]);
    }
  }

  keys() {
    return createHeadersIterator(this, 'key');
  }

  values() {
    return createHeadersIterator(this, 'value');
  }

  entries() {
    return createHeadersIterator(this, 'key+value');
  }

  [inspectCustom](depth, options, inspect) {
    const fields = {};
    const sorted = this.#sortAndCombine();
    const cookies = new InternalList();
    for (let i = 0; i < sorted.length; i++) {
      const name = sorted[i][0];
      if (name === 'set-cookie') listAppend(cookies, sorted[i][1]);
      fields[name] = name === 'set-cookie' && cookies.length > 1 ? arrayFromList(cookies) : sorted[i][1];
    }
    return `Headers ${inspect(fields, options)}`;
  }
}

defineInterface(Headers, 'Headers');
hideBase(Headers);
Object.defineProperty(Headers.prototype, Symbol.iterator, {
  value: Headers.prototype.entries, writable: true, enumerable: false, configurable: true,
});

// %HeadersIteratorPrototype%: next() reads the pairs as they were when the iterator was made, as
// workerd's iterators do (WebIDL's would see changes made while iterating: a name appended
// before the current one made the current one come again).
class HeadersIterator {
  #pairs;
  #kind;
  #index = 0;

  constructor(pairs, kind) {
    this.#pairs = pairs;
    this.#kind = kind;
  }

  next() {
    const pairs = this.#pairs;
    if (this.#index >= pairs.length) return { value: undefined, done: true };
    const pair = pairs[this.#index++];
    let result;
    if (this.#kind === 'key') result = pair[0];
    else if (this.#kind === 'value') result = pair[1];
    else result = [pair[0], pair[1]];
    return { value: result, done: false };
  }
}

Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
delete HeadersIterator.prototype.constructor;
Object.defineProperty(HeadersIterator.prototype, 'next', { enumerable: true });
Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, {
  value: 'Headers Iterator', configurable: true,
});

function createHeadersIterator(headers, kind) {
  return new HeadersIterator(headersInternals.sorted(headers), kind);
}
