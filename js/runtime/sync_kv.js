// ctx.storage.kv: the synchronous key-value API, on the same _cf_KV table and values (structured
// clone) as the asynchronous one.
import { native } from './native.js';
import { listArgs } from './storage.js';
import {
  ErrorCtor, MapIteratorPrototypeNext, MapPrototypeEntries, SymbolIterator, checkToken, keyString,
} from './primordials.js';

const INVALIDATED =
  'kv.list() iterator was invalidated because a new call to kv.list() was started. ' +
  'Only one kv.list() iterator can exist at a time.';

export class SyncKvStorage {
  #slot;
  #listGeneration = 0;
  #refusal;
  // `refusal`: the message every use fails with (an object without SQLite storage), or undefined.
  constructor(token, slot, refusal = undefined) {
    checkToken(token);
    this.#slot = slot;
    this.#refusal = refusal;
  }

  #check() {
    if (this.#refusal !== undefined) throw new ErrorCtor(this.#refusal);
  }

  get(key) {
    this.#check();
    return native.kvGet(this.#slot, keyString(key));
  }

  put(key, value) {
    this.#check();
    native.kvPut(this.#slot, keyString(key), value);
  }

  delete(key) {
    this.#check();
    return native.kvDelete(this.#slot, keyString(key));
  }

  // An iterator of [key, value] pairs, with the async list()'s options. Only the iterator of the
  // latest call may be used: starting another invalidates it, as on Cloudflare.
  list(options) {
    this.#check();
    // The Map's entries through the iterator methods captured at load (user code may replace
    // Map.prototype.entries or the iterators' next()).
    const entries = MapPrototypeEntries(native.kvList(this.#slot, ...listArgs(options)));
    const generation = ++this.#listGeneration;
    const isCurrent = () => generation === this.#listGeneration;
    return {
      next() {
        if (!isCurrent()) throw new ErrorCtor(INVALIDATED);
        const step = MapIteratorPrototypeNext(entries);
        return step.done ? { done: true } : { done: false, value: step.value };
      },
      [SymbolIterator]() {
        return this;
      },
    };
  }
}
