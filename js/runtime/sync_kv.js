// ctx.storage.kv: the synchronous key-value API, on the same _cf_KV table and values (structured
// clone) as the asynchronous one.
import { native } from './native.js';
import { listArgs } from './storage.js';
import { ErrorCtor, StringCtor, checkToken } from './primordials.js';

const INVALIDATED =
  'kv.list() iterator was invalidated because a new call to kv.list() was started. ' +
  'Only one kv.list() iterator can exist at a time.';

export class SyncKvStorage {
  #slot;
  #listGeneration = 0;
  constructor(token, slot) {
    checkToken(token);
    this.#slot = slot;
  }

  get(key) {
    return native.kvGet(this.#slot, StringCtor(key));
  }

  put(key, value) {
    native.kvPut(this.#slot, StringCtor(key), value);
  }

  delete(key) {
    return native.kvDelete(this.#slot, StringCtor(key));
  }

  // An iterator of [key, value] pairs, with the async list()'s options. Only the iterator of the
  // latest call may be used: starting another invalidates it, as on Cloudflare.
  list(options) {
    const entries = native.kvList(this.#slot, ...listArgs(options)).entries();
    const generation = ++this.#listGeneration;
    const isCurrent = () => generation === this.#listGeneration;
    return {
      next() {
        if (!isCurrent()) throw new ErrorCtor(INVALIDATED);
        const step = entries.next();
        return step.done ? { done: true } : { done: false, value: step.value };
      },
      [Symbol.iterator]() {
        return this;
      },
    };
  }
}
