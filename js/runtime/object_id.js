// DurableObjectId as seen inside the object (`ctx.id`). As in workerd it has no toJSON(), and its
// `jurisdiction` and `name` are own read-only enumerable properties, so JSON.stringify(ctx.id)
// gives {"name":"<instance name>"} (jurisdiction is undefined); toString() gives the hex id.
import { ObjectDefineProperty } from './primordials.js';

export class DurableObjectId {
  #hex;
  constructor(hex, name) {
    this.#hex = hex;
    ObjectDefineProperty(this, 'jurisdiction', {
      value: undefined,
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
}
