// DurableObjectId: `ctx.id` inside an object, and what a namespace's idFromName(), idFromString()
// and newUniqueId() return. As in workerd it has no toJSON(), and its `jurisdiction` and `name` are
// own read-only enumerable properties, so JSON.stringify(ctx.id) gives {"name":"<instance name>"}
// (jurisdiction is undefined); toString() gives the 64 lowercase hex digits.
//
// Only the runtime makes ids (the constructor demands its token): an id names a database, so
// user code gets ids from a namespace, which checks them.
import { ObjectDefineProperty, checkToken, kRuntimeToken } from './primordials.js';

// Read an id's private field without putting anything on the class that user code can reach.
let hexOf;
let isId;

export class DurableObjectId {
  #hex;
  constructor(token, hex, name, jurisdiction) {
    checkToken(token);
    this.#hex = hex;
    ObjectDefineProperty(this, 'jurisdiction', {
      value: jurisdiction,
      writable: false,
      enumerable: true,
      configurable: true,
    });
    ObjectDefineProperty(this, 'name', { value: name, writable: false, enumerable: true, configurable: true });
  }
  toString() {
    return this.#hex;
  }
  equals(other) {
    return other instanceof DurableObjectId && other.#hex === this.#hex;
  }
  static {
    hexOf = (id) => id.#hex;
    isId = (value) => value !== null && typeof value === 'object' && #hex in value;
  }
}

export function makeObjectId(hex, name = undefined, jurisdiction = undefined) {
  return new DurableObjectId(kRuntimeToken, hex, name, jurisdiction);
}

// The id's hex digits, read from its private field (a replaced toString() changes nothing).
export function objectIdHex(id) {
  return hexOf(id);
}

export function isObjectId(value) {
  return isId(value);
}
