// DurableObjectState: the `ctx` (or `state`) an object's constructor receives.
import { native } from './native.js';
import { makeObjectId } from './object_id.js';
import { DurableObjectStorage } from './storage.js';
import {
  ErrorCtor, StringCtor, checkToken, kRuntimeToken, PromiseResolve, PromisePrototypeThen,
} from './primordials.js';
import { ObjectWebSockets, socketsOfState } from './web_sockets.js';

const BCW_TIMEOUT_MS = 30000;
const BCW_TIMEOUT_MESSAGE =
  'A call to blockConcurrencyWhile() in a Durable Object waited for too long. ' +
  'The call was canceled and the Durable Object was reset.';

export class DurableObjectState {
  #slot;
  #sockets;
  constructor(token, slot, id, storage, exports) {
    checkToken(token);
    this.#slot = slot;
    this.#sockets = new ObjectWebSockets(slot);
    socketsOfState.set(this, this.#sockets);
    this.id = id;
    this.storage = storage;
    // Loopback bindings to the project module's exports, as on Cloudflare.
    this.exports = exports;
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
    const message = reason === undefined ? 'Application called abort() to reset Durable Object.' : StringCtor(reason);
    native.abort(this.#slot, message);
    throw new ErrorCtor(message);
  }

  waitUntil(promise) {
    PromisePrototypeThen(PromiseResolve(promise), undefined, (error) => native.reportError(error));
  }

  // The WebSocket Hibernation API (js/runtime/web_sockets.js).
  acceptWebSocket(ws, tags = undefined) {
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'acceptWebSocket' on 'DurableObjectState': 1 argument required, but only 0 present.");
    }
    this.#sockets.acceptWebSocket(ws, tags);
  }

  getWebSockets(tag = undefined) {
    return this.#sockets.getWebSockets(tag);
  }

  getTags(ws) {
    return this.#sockets.getTags(ws);
  }

  setWebSocketAutoResponse(pair = undefined) {
    this.#sockets.setWebSocketAutoResponse(pair);
  }

  getWebSocketAutoResponse() {
    return this.#sockets.getWebSocketAutoResponse();
  }

  getWebSocketAutoResponseTimestamp(ws) {
    return this.#sockets.getWebSocketAutoResponseTimestamp(ws);
  }

  setHibernatableWebSocketEventTimeout(timeoutMs = undefined) {
    this.#sockets.setHibernatableWebSocketEventTimeout(timeoutMs);
  }

  getHibernatableWebSocketEventTimeout() {
    return this.#sockets.getHibernatableWebSocketEventTimeout();
  }
}

// `sqlEnabled` is false for a class created by a `new_classes` migration (key-value only).
// `exports` is ctx.exports (runtime/env_object.h).
export function createState(slot, idHex, name, sqlEnabled = true, exports = {}) {
  const id = makeObjectId(idHex, name);
  return new DurableObjectState(kRuntimeToken, slot, id,
    new DurableObjectStorage(kRuntimeToken, slot, sqlEnabled === true), exports);
}
