// The WebSocket half of DurableObjectState: accepting sockets for hibernation, finding them again
// after the object slept, auto-responses, and delivering socket events to the object. The host
// keeps every socket's lasting state (tags, attachment, auto-response time) under a native id;
// this side keeps one WebSocket object per id for the life of the instance.
import { native } from './native.js';
import { webSocketHooks as hooks } from './prelude_hooks.js';
import {
  ArrayPrototypeIncludes, DateCtor, ErrorCtor, MapCtor, MapPrototypeDelete, MapPrototypeGet,
  MapPrototypeSet, MathFloor, NumberCtor, ObjectSetPrototypeOf, PromisePrototypeThen,
  PromiseResolve, RangeErrorCtor,
  ReflectApply, StringCtor, SymbolIterator, TypeErrorCtor, WeakMapCtor, WeakMapPrototypeGet,
  WeakMapPrototypeSet, newList,
} from './primordials.js';

// Everything this file calls while user code runs or after it ran (events, the state's methods)
// is captured here and in primordials.js: user code may replace any global or prototype method.
const WebSocketPairCtor = globalThis.WebSocketPair;
const WebSocketRequestResponsePairCtor = globalThis.WebSocketRequestResponsePair;
const ArrayPrototype = Array.prototype;

// `list` (a newList() the runtime filled) made an ordinary Array to hand to user code: filled
// before it has a prototype, so that no setter user code put on Array.prototype ran.
function userArray(list) {
  ObjectSetPrototypeOf(list, ArrayPrototype);
  return list;
}

// Defined once, by the host (src/runtime/web_socket_limits.h).
const {
  maxTags: MAX_TAGS,
  maxTagLength: MAX_TAG_LENGTH,
  maxAutoResponseBytes: MAX_AUTO_RESPONSE_BYTES,
  maxEventTimeoutMs: MAX_EVENT_TIMEOUT_MS,
  maxHibernatableSockets: MAX_HIBERNATABLE_SOCKETS,
} = native.wsLimits();

function byteLength(text) {
  return native.utf8Encode(text).byteLength;
}

// DurableObjectState → its ObjectWebSockets (kept off the state object, where user code would
// see it).
export const socketsOfState = new WeakMapCtor();

// Per-instance socket bookkeeping; `slot` names the object to the host.
export class ObjectWebSockets {
  #slot;
  #byId = new MapCtor();

  constructor(slot) {
    this.#slot = slot;
  }

  // The WebSocket object for native id `id`, made (as a restored hibernatable socket) if this
  // instance has not seen it yet.
  wrapper(id, readyState = 1) {
    let ws = MapPrototypeGet(this.#byId, id) ?? hooks.outboundSocket(id);
    if (ws === undefined) {
      ws = hooks.restore(id, readyState);
      MapPrototypeSet(this.#byId, id, ws);
    }
    return ws;
  }

  forget(id) {
    MapPrototypeDelete(this.#byId, id);
  }

  acceptWebSocket(ws, tags) {
    const s = hooks.stateOf(ws);
    if (s === undefined) {
      throw new TypeErrorCtor("Failed to execute 'acceptWebSocket' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.");
    }
    if (s.accepted && !s.hibernatable) {
      throw new TypeErrorCtor('Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`');
    }
    const peer = s.peer === null ? undefined : hooks.stateOf(s.peer);
    // An outbound socket is never hibernatable; workerd refuses it with this message.
    if (s.hibernatable || s.usedInResponse || s.outbound || (peer !== undefined && peer.accepted)) {
      throw new TypeErrorCtor(
        'Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.');
    }
    const distinct = newList();
    if (tags !== undefined && tags !== null) {
      if (typeof tags[SymbolIterator] !== 'function') {
        throw new TypeErrorCtor("Failed to execute 'acceptWebSocket' on 'DurableObjectState': parameter 2 is not iterable.");
      }
      for (const tag of tags) {
        // As on Cloudflare, the count is checked before each element, duplicates included.
        if (distinct.length >= MAX_TAGS) throw new ErrorCtor(`a Hibernatable WebSocket cannot have more than ${MAX_TAGS} tags`);
        const text = StringCtor(tag);
        if (byteLength(text) > MAX_TAG_LENGTH) {
          throw new ErrorCtor(`"${text}" is longer than the max tag length (${MAX_TAG_LENGTH} characters).`);
        }
        if (!ArrayPrototypeIncludes(distinct, text)) distinct[distinct.length] = text;
      }
    }
    const id = s.id !== 0 ? s.id : native.wsCreate(this.#slot);
    // A record made here for the refusal's sake would stay behind, pinning the object: the
    // native forgets it (`fresh`).
    const refused = native.wsAccept(id, true, distinct, s.id === 0);
    if (refused === 1) {
      throw new ErrorCtor(`A Durable Object cannot accept more than ${MAX_HIBERNATABLE_SOCKETS} hibernatable WebSockets.`);
    }
    if (refused !== 0) {
      // Dorm's own bound (src/runtime/web_socket_limits.h), with the natives' text.
      throw new ErrorCtor("The app's hibernatable WebSockets hold too much memory (their tags and attachments, at most 64 MiB): close some, or keep smaller attachments.");
    }
    s.accepted = true;
    s.hibernatable = true;
    if (s.id === 0) hooks.attach(ws, id);
    MapPrototypeSet(this.#byId, id, ws);
  }

  getWebSockets(tag) {
    const list = native.wsList(this.#slot, tag === undefined ? undefined : StringCtor(tag));
    const result = newList();
    for (let i = 0; i < list.length; i += 3) result[result.length] = this.wrapper(list[i], list[i + 1]);
    return userArray(result);
  }

  getTags(ws) {
    const s = hooks.stateOf(ws);
    if (s === undefined) {
      throw new TypeErrorCtor("Failed to execute 'getTags' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.");
    }
    if (!s.accepted) {
      throw new TypeErrorCtor("you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.");
    }
    if (!s.hibernatable) throw new TypeErrorCtor('only hibernatable websockets can have tags.');
    if (s.id !== 0) return native.wsTags(s.id);
    const closed = s.closedTags ?? [];
    const copy = newList();
    for (let i = 0; i < closed.length; i++) copy[i] = closed[i];
    return userArray(copy);
  }

  setWebSocketAutoResponse(pair) {
    if (pair === undefined || pair === null) {
      native.wsSetAutoResponse(this.#slot, null, '');
      return;
    }
    if (!(pair instanceof WebSocketRequestResponsePairCtor)) {
      throw new TypeErrorCtor("Failed to execute 'setWebSocketAutoResponse' on 'DurableObjectState': parameter 1 is not of type 'WebSocketRequestResponsePair'.");
    }
    const request = pair.request;
    const response = pair.response;
    const requestBytes = byteLength(request);
    if (requestBytes > MAX_AUTO_RESPONSE_BYTES) {
      throw new RangeErrorCtor(`Request cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A request of size ${requestBytes} was provided.`);
    }
    const responseBytes = byteLength(response);
    if (responseBytes > MAX_AUTO_RESPONSE_BYTES) {
      throw new RangeErrorCtor(`Response cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A response of size ${responseBytes} was provided.`);
    }
    native.wsSetAutoResponse(this.#slot, request, response);
  }

  getWebSocketAutoResponse() {
    const pair = native.wsGetAutoResponse(this.#slot);
    return pair === null ? null : new WebSocketRequestResponsePairCtor(pair[0], pair[1]);
  }

  getWebSocketAutoResponseTimestamp(ws) {
    const s = hooks.stateOf(ws);
    if (s === undefined) {
      throw new TypeErrorCtor("Failed to execute 'getWebSocketAutoResponseTimestamp' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.");
    }
    if (s.id === 0) return null;
    const ms = native.wsAutoResponseTime(s.id);
    return ms === null ? null : new DateCtor(ms);
  }

  setHibernatableWebSocketEventTimeout(timeoutMs) {
    let ms = 0;
    if (timeoutMs !== undefined && timeoutMs !== null) {
      ms = NumberCtor(timeoutMs);
      if (!(ms >= 0)) throw new TypeErrorCtor('The event timeout must be a non-negative number of milliseconds.');
      if (ms > MAX_EVENT_TIMEOUT_MS) throw new ErrorCtor(`Event timeout should not exceed ${MAX_EVENT_TIMEOUT_MS} ms.`);
    }
    native.wsSetEventTimeout(this.#slot, MathFloor(ms));
  }

  getHibernatableWebSocketEventTimeout() {
    return native.wsGetEventTimeout(this.#slot);
  }

  // The client end `client` was returned in a 101 response: its server end becomes the network
  // connection's socket. Returns the socket's native id.
  bindResponse(client) {
    const c = hooks.stateOf(client);
    if (c === undefined) throw new TypeErrorCtor("The Response's webSocket is not a WebSocket.");
    if (c.usedInResponse) throw new TypeErrorCtor('This WebSocket was already used in a Response.');
    if (c.forwarded) {
      // Another object's socket, which came through a stub's fetch(): the host attaches the
      // connection to it by its token (runtime/forwarded_sockets.h), given negated.
      c.usedInResponse = true;
      return -WeakMapPrototypeGet(forwardTokens, client);
    }
    if (c.accepted) throw new TypeErrorCtor("Can't return a WebSocket in a Response after calling accept() on it.");
    if (c.peer === null) throw new TypeErrorCtor("Can't return this WebSocket in a Response: it has no peer.");
    c.usedInResponse = true;
    const server = c.peer;
    const s = hooks.stateOf(server);
    if (s.id === 0) {
      const id = native.wsCreate(this.#slot);
      hooks.attach(server, id);
      MapPrototypeSet(this.#byId, id, server);
    }
    return s.id;
  }
}

// Delivers a socket event: to the class's webSocketMessage/Close/Error handler for hibernatable
// sockets, to the socket's listeners otherwise. Reports how it settled, as events do.
//
// A hibernatable socket's close event comes while the connection holds its answer to the peer's
// Close (the host reports the socket CLOSING): webSocketClose may answer with ws.close(code,
// reason); if it has not by the time it settles, the peer's code and reason are echoed.
export function deliverWebSocketEvent(object, state, kind, id, hibernatable, data, code, wasClean, slot, eventId) {
  const sockets = WeakMapPrototypeGet(socketsOfState, state);
  const ws = sockets.wrapper(id);
  let answering = false;
  if (kind === 'close') {
    const info = hibernatable ? native.wsInfo(id) : null;
    answering = info !== null && info[0] === 2;
    hooks.markClosed(ws, answering ? { id, code, reason: data } : null);
    sockets.forget(id);
  }
  if (!hibernatable) {
    const item = kind === 'message' ? { type: 'message', data }
      : kind === 'close' ? { type: 'close', code, reason: data, wasClean }
        : { type: 'error', error: new ErrorCtor(data) };
    try {
      hooks.receive(ws, item);
      native.eventSettled(slot, eventId, true, undefined);
    } catch (error) {
      native.eventSettled(slot, eventId, false, error);
    }
    return;
  }
  const settle = (fulfilled, value) => {
    if (answering) hooks.answerClose(ws);
    native.eventSettled(slot, eventId, fulfilled, value);
  };
  let result;
  try {
    const name = kind === 'message' ? 'webSocketMessage' : kind === 'close' ? 'webSocketClose' : 'webSocketError';
    const handler = object[name];
    if (typeof handler !== 'function') {
      settle(true, undefined);
      return;
    }
    // Called through Reflect.apply as captured: user code may have replaced Function.prototype.call.
    if (kind === 'message') result = ReflectApply(handler, object, [ws, data]);
    else if (kind === 'close') result = ReflectApply(handler, object, [ws, code, data, wasClean]);
    else result = ReflectApply(handler, object, [ws, new ErrorCtor(data)]);
  } catch (error) {
    settle(false, error);
    return;
  }
  PromisePrototypeThen(PromiseResolve(result),
    () => settle(true, undefined),
    (error) => settle(false, error));
}

export function bindResponseWebSocket(client, state) {
  return WeakMapPrototypeGet(socketsOfState, state).bindResponse(client);
}

// The client end of a WebSocket that a callee returned through a stub's fetch(): `token` names
// the callee's socket to the host (runtime/forwarded_sockets.h). Returning it in a Response
// connects the client to the callee's socket; nothing else can be done with it.
const forwardTokens = new WeakMapCtor();
export function forwardedWebSocket(token) {
  const client = new WebSocketPairCtor()[0];
  hooks.stateOf(client).forwarded = true;
  WeakMapPrototypeSet(forwardTokens, client, token);
  return client;
}
