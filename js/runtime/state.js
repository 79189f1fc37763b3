// DurableObjectState: the `ctx` (or `state`) an object's constructor receives.
import { native } from './native.js';
import { DurableObjectId } from './object_id.js';
import { DurableObjectStorage } from './storage.js';

const BCW_TIMEOUT_MS = 30000;
const BCW_TIMEOUT_MESSAGE =
  'A call to blockConcurrencyWhile() in a Durable Object waited for too long. ' +
  'The call was canceled and the Durable Object was reset.';

export class DurableObjectState {
  #slot;
  constructor(slot, id, storage) {
    this.#slot = slot;
    this.id = id;
    this.storage = storage;
  }

  // Holds the input gate until `callback` settles: no other event reaches the object meanwhile.
  // A callback that throws (or runs past 30 s) resets the object, as on Cloudflare.
  async blockConcurrencyWhile(callback) {
    const slot = this.#slot;
    native.gateLock(slot);
    let timedOut = false;
    const timer = native.setTimer(() => {
      timedOut = true;
      native.gateBreak(slot, new Error(BCW_TIMEOUT_MESSAGE));
    }, BCW_TIMEOUT_MS, false);
    try {
      const result = await callback();
      native.clearTimer(timer);
      if (!timedOut) native.gateUnlock(slot);
      return result;
    } catch (error) {
      native.clearTimer(timer);
      if (!timedOut) native.gateBreak(slot, error);
      throw error;
    }
  }

  // Resets the object at once: writes not yet committed are discarded, requests in flight fail
  // with `reason`, and the next event gets a fresh instance. Throws the reason, since nothing the
  // caller does afterwards can take effect.
  abort(reason) {
    const message = reason === undefined ? 'Application called abort() to reset Durable Object.' : String(reason);
    native.abort(this.#slot, message);
    throw new Error(message);
  }

  waitUntil(promise) {
    Promise.resolve(promise).catch((error) => native.reportError(error));
  }

  // Hibernatable WebSockets arrive with their own issue; until then an object has none.
  getWebSockets(tag) {
    return [];
  }
}

export function createState(slot, idHex, name) {
  const id = new DurableObjectId(idHex, name);
  return new DurableObjectState(slot, id, new DurableObjectStorage(slot));
}
