import { CopiedObject, hideBase } from './host_object.js';
import {
  IteratorPrototype, defineInterface, inspectCustom, isObject, requireArgs, toByteString,
} from './webidl.js';

// workerd takes the empty name (such a header is kept in the list, and left out of what is sent).
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*$/;

function isHeaderName(name) {
  return tokenPattern.test(name);
}

// Strips leading and trailing HTTP whitespace (tab, LF, CR, space).
function normalizeHeaderValue(value) {
  return value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}

function isHeaderValue(value) {
  return !/[\0\n\r]/.test(value);
}

// Whether the header list holds `lowerName`, without going through the (replaceable) methods.
export function hasHeader(headers, lowerName) {
  return headersInternals.list(headers).some((pair) => pair[0] === lowerName);
}

function immutable() {
  return new TypeError("Can't modify immutable headers.");
}

// Accessors for Headers' private state, for Request, Response and the host interface.
export const headersInternals = {};

const HEADERS_CONSTRUCTOR = "Failed to construct 'Headers'";

export class Headers extends CopiedObject {
  // [lowercase name, value] in insertion order: the header list of Fetch.
  #list = [];
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
      headers.#list.push([name.toLowerCase(), value]);
      headers.#sorted = null;
    };
    headersInternals.sorted = (headers) => headers.#sortAndCombine();
    headersInternals.copy = (headers) => {
      const copy = new Headers();
      copy.#list = headers.#list.map((pair) => [pair[0], pair[1]]);
      copy.#guard = headers.#guard;
      return copy;
    };
  }

  #fill(init, context) {
    if (!isObject(init)) {
      if (context === HEADERS_CONSTRUCTOR) {
        throw new TypeError(`${context}: constructor parameter 1 is not of type 'Headers or Sequence or object'.`);
      }
      throw new TypeError(`${context}: The provided value is not of type `
        + "'(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.");
    }
    if (headersInternals.isHeaders(init)) {
      for (const [name, value] of init.#list) this.#append(name, value, context);
      return;
    }
    const iteratorMethod = init[Symbol.iterator];
    if (iteratorMethod !== undefined && iteratorMethod !== null) {
      if (typeof iteratorMethod !== 'function') {
        throw new TypeError(`${context}: The object's [Symbol.iterator] is not a function.`);
      }
      const pairs = [];
      for (const item of init) {
        if (!isObject(item) || typeof item[Symbol.iterator] !== 'function') {
          throw new TypeError(`${context}: Each header must be a sequence of [name, value].`);
        }
        pairs.push(Array.from(item, (part) => toByteString(part, context)));
      }
      for (const pair of pairs) {
        if (pair.length !== 2) {
          throw new TypeError('To initialize a Headers object from a sequence, each inner sequence must have exactly two elements.');
        }
        this.#append(pair[0], pair[1], context);
      }
      return;
    }
    const record = [];
    for (const key of Reflect.ownKeys(init)) {
      const desc = Reflect.getOwnPropertyDescriptor(init, key);
      if (desc === undefined || !desc.enumerable) continue;
      record.push([toByteString(key, context), toByteString(init[key], context)]);
    }
    for (const [name, value] of record) this.#append(name, value, context);
  }

  #validate(name, value, context) {
    // workerd's texts, which name neither the header nor the call.
    if (!isHeaderName(name)) throw new TypeError('Invalid header name.');
    if (!isHeaderValue(value)) throw new TypeError('Invalid header value.');
    if (this.#guard === 'immutable') throw immutable();
  }

  #append(name, value, context) {
    const normalized = normalizeHeaderValue(value);
    this.#validate(name, normalized, context);
    this.#list.push([name.toLowerCase(), normalized]);
    this.#sorted = null;
  }

  #sortAndCombine() {
    if (this.#sorted !== null) return this.#sorted;
    const byName = new Map();
    for (const [name, value] of this.#list) {
      const values = byName.get(name);
      if (values === undefined) byName.set(name, [value]);
      else values.push(value);
    }
    const names = [...byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const sorted = [];
    for (const name of names) {
      const values = byName.get(name);
      if (name === 'set-cookie') {
        for (const value of values) sorted.push([name, value]);
      } else {
        sorted.push([name, values.join(', ')]);
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
    const lower = n.toLowerCase();
    const kept = this.#list.filter((pair) => pair[0] !== lower);
    if (kept.length !== this.#list.length) {
      this.#list = kept;
      this.#sorted = null;
    }
  }

  get(name) {
    const context = "Failed to execute 'get' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isHeaderName(n)) throw new TypeError('Invalid header name.');
    const lower = n.toLowerCase();
    const values = [];
    for (const pair of this.#list) if (pair[0] === lower) values.push(pair[1]);
    return values.length === 0 ? null : values.join(', ');
  }

  getSetCookie() {
    const values = [];
    for (const pair of this.#list) if (pair[0] === 'set-cookie') values.push(pair[1]);
    return values;
  }

  // A Workers extension, kept for code written against it: only Set-Cookie may be asked for,
  // because its values cannot be combined.
  getAll(name) {
    const context = "Failed to execute 'getAll' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (n.toLowerCase() !== 'set-cookie') {
      throw new TypeError('getAll() can only be used with the header name "Set-Cookie".');
    }
    return this.getSetCookie();
  }

  has(name) {
    const context = "Failed to execute 'has' on 'Headers'";
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isHeaderName(n)) throw new TypeError('Invalid header name.');
    const lower = n.toLowerCase();
    return this.#list.some((pair) => pair[0] === lower);
  }

  set(name, value) {
    const context = "Failed to execute 'set' on 'Headers'";
    requireArgs(arguments.length, 2, context);
    const n = toByteString(name, context);
    const v = normalizeHeaderValue(toByteString(value, context));
    this.#validate(n, v, context);
    const lower = n.toLowerCase();
    const index = this.#list.findIndex((pair) => pair[0] === lower);
    if (index === -1) {
      this.#list.push([lower, v]);
    } else {
      this.#list[index][1] = v;
      this.#list = this.#list.filter((pair, i) => i <= index || pair[0] !== lower);
    }
    this.#sorted = null;
  }

  forEach(callback, thisArg = undefined) {
    requireArgs(arguments.length, 1, "Failed to execute 'forEach' on 'Headers'");
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'forEach' on 'Headers': The callback provided as parameter 1 is not a function.");
    }
    // The pairs are looked up again at every step, as WebIDL's iterable forEach does.
    for (let i = 0; i < this.#sortAndCombine().length; i++) {
      const [name, value] = this.#sortAndCombine()[i];
      callback.call(thisArg, value, name, this);
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
    for (const [name, value] of this.#sortAndCombine()) {
      if (name === 'set-cookie' && name in fields) {
        fields[name] = [].concat(fields[name], value);
      } else {
        fields[name] = value;
      }
    }
    return `Headers ${inspect(fields, options)}`;
  }
}

defineInterface(Headers, 'Headers');
hideBase(Headers);
Object.defineProperty(Headers.prototype, Symbol.iterator, {
  value: Headers.prototype.entries, writable: true, enumerable: false, configurable: true,
});

// %HeadersIteratorPrototype%: next() reads the pairs afresh, so the iterator sees changes made
// while iterating, as WebIDL's pair iterators do.
class HeadersIterator {
  #target;
  #kind;
  #index = 0;

  constructor(target, kind) {
    this.#target = target;
    this.#kind = kind;
  }

  next() {
    const pairs = headersInternals.sorted(this.#target);
    if (this.#index >= pairs.length) return { value: undefined, done: true };
    const [name, value] = pairs[this.#index++];
    let result;
    if (this.#kind === 'key') result = name;
    else if (this.#kind === 'value') result = value;
    else result = [name, value];
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
  headersInternals.sorted(headers);
  return new HeadersIterator(headers, kind);
}
