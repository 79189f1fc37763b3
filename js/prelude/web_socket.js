// Cloudflare's WebSocket API on the server side: WebSocketPair, the WebSocket ends with accept(),
// send() and close(), their events, attachments, and WebSocketRequestResponsePair.
//
// An end is in one of three situations:
// - local: both ends of a pair live here; messages go from one end's send() to the other's
//   listeners (after the receiving end called accept()).
// - network: the server end of a pair whose client end was returned in a 101 response, or a
//   socket restored after hibernation. It has a native id; sends and closes go to the host, which
//   passes them through the output gate to the connection.
// - used in a Response: the client end once returned; it cannot be used any more.
// - outbound: a socket this object opened with `new WebSocket(url)` (or fetch() with `Upgrade:
//   websocket`): CONNECTING until the host's handshake settles, then a network end (accepted at
//   once for `new WebSocket`, by accept() for fetch()'s response.webSocket).
// The runtime (js/runtime/web_sockets.js) binds network ends and delivers their events through
// the hooks exported at the bottom.
import native from './native.js';
import { Blob } from './blob.js';
import { makeDOMException } from './dom_exception.js';
import { Event, EventTarget, requireEventType } from './event_target.js';
import { createFetchedResponse } from './response.js';
import { URL } from './url.js';
import {
  bufferSourceView, defineInterface, isObject, requireArgs, toDictionary, toDOMString, toUSVString,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';
import {
  TypedArrayBuffer, TypedArrayLength, TypedArrayPrototypeSet, Uint8ArrayCtor,
} from './primordials.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
// Defined once, by the host (src/runtime/web_socket_limits.h); read on first use, so that the
// bundle loads before any native is called.
let maxAttachmentBytes = 0;
function attachmentLimit() {
  if (maxAttachmentBytes === 0) maxAttachmentBytes = native.wsLimits().maxAttachmentBytes;
  return maxAttachmentBytes;
}

// A binary message's bytes, copied into an ArrayBuffer of its own (the sender may change or
// transfer its buffer afterwards) with the built-ins captured at load, or null when `message` is
// no BufferSource. As workerd: a view over a SharedArrayBuffer is sent, and a detached buffer (or
// a view over one) sends an empty message (bufferSourceView reads it as no bytes).
function messageBytes(message) {
  const view = bufferSourceView(message, true);
  if (view === null) return null;
  const copy = new Uint8ArrayCtor(TypedArrayLength(view));
  TypedArrayPrototypeSet(copy, view);
  return TypedArrayBuffer(copy);
}

const NOT_ACCEPTED_MESSAGE =
  'You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.';

const internalToken = Symbol('WebSocket');

// For MessagePort: a 'message' event carrying exactly `data` (undefined included) from `source`.
export let createPortMessageEvent;
const portMessageToken = Symbol('MessageEvent');

// An EventSource's message event: its own type, the event's id and the stream's origin.
export let createEventSourceMessageEvent;
const eventSourceMessageToken = Symbol('EventSource MessageEvent');

// workerd gives a MessageEvent's and a CloseEvent's attributes to each instance as own enumerable,
// read-only, configurable data properties (listed by Object.keys() and JSON.stringify()), in the
// order below; their prototypes have only the constructor.
const ObjectDefineProperties = Object.defineProperties;

function ownAttribute(value) {
  // No prototype: user code may have put `get`, `set` or `value` on Object.prototype.
  return { __proto__: null, value, enumerable: true, writable: false, configurable: true };
}

export class MessageEvent extends Event {
  constructor(type = undefined, init = undefined) {
    let data;
    let source = null;
    let lastEventId = '';
    // Only an EventSource's events have an origin and an event id; Workers have no transferred
    // ports.
    let origin = null;
    if (type === portMessageToken) {
      super('message');
      data = init.data;
      source = init.source;
    } else if (type === eventSourceMessageToken) {
      super(init.type);
      data = init.data;
      lastEventId = init.lastEventId;
      origin = init.origin;
    } else {
      requireEventType(type, 'MessageEvent');
      const dict = toDictionary(init, "Failed to construct 'MessageEvent'");
      super(type, dict);
      data = dict.data === undefined ? null : dict.data;
      origin = '';
    }
    ObjectDefineProperties(this, {
      ports: ownAttribute([]),
      source: ownAttribute(source),
      lastEventId: ownAttribute(lastEventId),
      origin: ownAttribute(origin),
      data: ownAttribute(data),
    });
  }

  static {
    createPortMessageEvent = (data, source) => new MessageEvent(portMessageToken, { data, source });
    createEventSourceMessageEvent = (type, data, lastEventId, origin) =>
      new MessageEvent(eventSourceMessageToken, { type, data, lastEventId, origin });
  }
}
defineInterface(MessageEvent, 'MessageEvent');
refuseClone(MessageEvent, 'MessageEvent');

export class CloseEvent extends Event {
  constructor(type = undefined, init = undefined) {
    requireEventType(type, 'CloseEvent');
    const dict = toDictionary(init, "Failed to construct 'CloseEvent'");
    super(type, dict);
    const code = dict.code === undefined ? 0 : Number(dict.code) & 0xffff;
    const reason = dict.reason === undefined ? '' : toUSVString(dict.reason);
    const wasClean = Boolean(dict.wasClean);
    ObjectDefineProperties(this, {
      wasClean: ownAttribute(wasClean),
      reason: ownAttribute(reason),
      code: ownAttribute(code),
    });
  }
}
defineInterface(CloseEvent, 'CloseEvent');
refuseClone(CloseEvent, 'CloseEvent');

export class ErrorEvent extends Event {
  #message;
  #error;
  constructor(type = undefined, init = undefined) {
    requireEventType(type, 'ErrorEvent');
    const dict = toDictionary(init, "Failed to construct 'ErrorEvent'");
    super(type, dict);
    this.#message = dict.message === undefined ? '' : toDOMString(dict.message);
    this.#error = dict.error;
  }

  get filename() {
    return '';
  }

  get message() {
    return this.#message;
  }

  get lineno() {
    return 0;
  }

  get colno() {
    return 0;
  }

  get error() {
    return this.#error;
  }
}
defineInterface(ErrorEvent, 'ErrorEvent');
refuseClone(ErrorEvent, 'ErrorEvent');

function newState(peer) {
  return {
    peer,
    id: 0,
    accepted: false,
    hibernatable: false,
    usedInResponse: false,
    // The client end of a socket another object returned through a stub's fetch(): it can only be
    // returned in a Response (which connects the client to that object's socket).
    forwarded: false,
    closedOutgoing: false,
    closedIncoming: false,
    inbox: [], // events that arrived before accept()
    outbox: [], // sends and a close made before the peer (local or network) could take them
    attachment: null, // serialized, while the end has no native id
    closedProtocol: null, // protocol and tags of a closed network end (see markClosed)
    closedTags: null,
    // {id, code, reason} while the connection waits for this end's answer to the peer's Close
    // (a hibernatable socket in webSocketClose): close() sends its own, or answerClose echoes.
    closeAnswer: null,
    binaryType: 'arraybuffer',
    url: null,
    // Outbound sockets (see the top of this file).
    outbound: false,
    connecting: false, // the handshake has not settled
    cancelled: false, // close() was called while connecting
    outboundProtocol: null, // the server's Sec-WebSocket-Protocol, null for none
    outboundExtensions: null,
  };
}

let stateOf;

export class WebSocket extends EventTarget {
  #s;

  constructor(url, protocols = undefined) {
    if (url === internalToken) {
      super();
      this.#s = protocols;
      return;
    }
    if (arguments.length < 1) {
      throw new TypeError("Failed to construct 'WebSocket': constructor parameter 1 is not of type 'string'.");
    }
    const urlText = toDOMString(url);
    const target = socketTarget(urlText);
    const protocolHeader = protocols === undefined ? null : protocolsHeader(protocols);
    super();
    const s = newState(null);
    s.outbound = true;
    s.connecting = true;
    s.url = urlText;
    this.#s = s;
    connect(this, s, target, protocolHeader === null ? [] : ['Sec-WebSocket-Protocol', protocolHeader]);
  }

  static {
    stateOf = (ws) => (isObject(ws) && #s in ws ? ws.#s : undefined);
  }

  get readyState() {
    const s = this.#s;
    if (s.connecting) return CONNECTING;
    if (s.id !== 0 && !s.closedIncoming) {
      // The host knows when a network socket went away while the object slept.
      const info = native.wsInfo(s.id);
      if (info === null || info[0] === CLOSED) return s.closedOutgoing ? CLOSED : CLOSING;
    }
    if (s.closedIncoming && s.closedOutgoing) return CLOSED;
    if (s.closedIncoming || s.closedOutgoing) return CLOSING;
    return OPEN;
  }

  get url() {
    return this.#s.url;
  }

  // As on workerd, '' when none was chosen (and always for extensions: none are negotiated).
  get protocol() {
    const s = this.#s;
    if (s.outbound) return s.connecting ? '' : s.outboundProtocol;
    if (s.id === 0) return s.closedProtocol ?? '';
    const info = native.wsInfo(s.id);
    return info === null ? '' : info[1];
  }

  get extensions() {
    const s = this.#s;
    return s.outbound && !s.connecting ? s.outboundExtensions : '';
  }

  // As workerd: 'arraybuffer' by default; binary messages arrive as Blobs once set to 'blob'.
  // Other values are ignored.
  get binaryType() {
    return this.#s.binaryType;
  }

  set binaryType(value) {
    const text = toDOMString(value);
    if (text === 'blob' || text === 'arraybuffer') this.#s.binaryType = text;
  }

  accept() {
    const s = this.#s;
    if (s.forwarded) {
      throw new TypeError(
        "Can't accept() a WebSocket that came through a Durable Object stub's fetch(): return it in a Response instead.");
    }
    if (s.usedInResponse) {
      throw new TypeError("Can't accept() WebSocket that was already used in a response.");
    }
    if (s.hibernatable) {
      throw new TypeError("Can't call accept() on a WebSocket that was accepted with state.acceptWebSocket().");
    }
    if (s.accepted) return;
    s.accepted = true;
    if (s.id !== 0) {
      native.wsAccept(s.id, false, []);
      if (s.outbound) native.wsRead(s.id);
    }
    const peer = s.peer === null ? undefined : stateOf(s.peer);
    if (peer !== undefined && peer.id === 0) {
      // A local pair: what the other end sent so far arrives now.
      const outbox = peer.outbox;
      peer.outbox = [];
      for (const item of outbox) deliverLocally(this, item);
    }
    flushInbox(this, s);
  }

  send(message) {
    // As workerd: undefined (or nothing) is none of the types send() takes; null is the string.
    if (message === undefined) {
      throw new TypeError(
        "Failed to execute 'send' on 'WebSocket': parameter 1 is not of type 'ArrayBuffer or ArrayBufferView or string'.");
    }
    const s = this.#s;
    if (s.closedOutgoing) throw new TypeError("Can't call WebSocket send() after close().");
    // As workerd, a send after close() gave up the connection is ignored.
    if (s.cancelled) return;
    if (!s.accepted) throw new TypeError(NOT_ACCEPTED_MESSAGE);
    let data;
    if (typeof message === 'string') {
      data = message;
    } else {
      data = messageBytes(message);
      if (data === null) data = toUSVString(message);
    }
    if (s.id !== 0) {
      native.wsSend(s.id, data);
      return;
    }
    sendToPeer(s, { type: 'message', data });
  }

  close(code = undefined, reason = undefined) {
    const s = this.#s;
    if (s.connecting) {
      cancelConnecting(this, s);
      return;
    }
    if (s.cancelled) return;
    if (s.closedOutgoing) return;
    if (!s.accepted) throw new TypeError(NOT_ACCEPTED_MESSAGE);
    let closeCode = 1005;
    if (code !== undefined) {
      closeCode = Number(code);
      if (!Number.isInteger(closeCode) || closeCode < 1000 || closeCode >= 5000 || closeCode === 1004 ||
          closeCode === 1005 || closeCode === 1006 || closeCode === 1015) {
        throw new TypeError(`Invalid WebSocket close code: ${code}.`);
      }
    }
    let closeReason = '';
    if (reason !== undefined) {
      if (code === undefined) {
        throw new TypeError('If you specify a WebSocket close reason, you must also specify a code.');
      }
      closeReason = toUSVString(reason);
      if (native.utf8Encode(closeReason).byteLength > 123) {
        throw new TypeError('The WebSocket close reason must be at most 123 bytes of UTF-8.');
      }
    }
    s.closedOutgoing = true;
    if (s.id !== 0) {
      native.wsClose(s.id, closeCode, closeReason);
      return;
    }
    if (s.closeAnswer !== null) {
      // The answer to the peer's Close: this code and reason are what the peer receives.
      const id = s.closeAnswer.id;
      s.closeAnswer = null;
      native.wsClose(id, closeCode, closeReason);
      return;
    }
    sendToPeer(s, { type: 'close', code: closeCode === 1005 ? 1005 : closeCode, reason: closeReason });
  }

  serializeAttachment(value) {
    requireArgs(arguments.length, 1, "Failed to execute 'serializeAttachment' on 'WebSocket'");
    const bytes = native.serialize(value);
    if (bytes.byteLength > attachmentLimit()) {
      throw new Error(`A WebSocket 'attachment' cannot be larger than ${attachmentLimit()} bytes.` +
        `'attachment' was ${bytes.byteLength} bytes.`);
    }
    const s = this.#s;
    if (s.id !== 0) native.wsSetAttachment(s.id, bytes);
    else s.attachment = bytes;
  }

  deserializeAttachment() {
    const s = this.#s;
    const bytes = s.id !== 0 ? native.wsGetAttachment(s.id) : s.attachment;
    return bytes === null ? null : native.deserialize(bytes);
  }
}

// As workerd's, a WebSocket has no on<type> handler attributes: listeners are added with
// addEventListener().
// workerd also has the constants under READY_STATE_* names.
defineInterface(WebSocket, 'WebSocket', {
  CONNECTING, OPEN, CLOSING, CLOSED, READY_STATE_CONNECTING: CONNECTING, READY_STATE_OPEN: OPEN,
  READY_STATE_CLOSING: CLOSING, READY_STATE_CLOSED: CLOSED,
});
refuseClone(WebSocket, 'WebSocket');

// Sends `item` ({type: 'message', data} or {type: 'close', code, reason}) from the end with
// state `s` to its local peer: at once if the peer accepted, otherwise when it does.
function sendToPeer(s, item) {
  const peer = s.peer;
  const peerState = peer === null ? undefined : stateOf(peer);
  if (peerState !== undefined && peerState.accepted && !peerState.usedInResponse) {
    deliverLocally(peer, item);
  } else {
    s.outbox.push(item);
  }
}

function deliverLocally(target, item) {
  // As across a network, the receiver hears of it in a later task.
  Promise.resolve().then(() => receive(target, item));
}

function flushInbox(ws, s) {
  if (s.inbox.length === 0) return;
  const inbox = s.inbox;
  s.inbox = [];
  Promise.resolve().then(() => {
    for (const item of inbox) dispatch(ws, item);
  });
}

function receive(ws, item) {
  const s = stateOf(ws);
  if (!s.accepted) {
    s.inbox.push(item);
    return;
  }
  dispatch(ws, item);
}

function dispatch(ws, item) {
  const s = stateOf(ws);
  if (item.type === 'message') {
    const data = s.binaryType === 'blob' && typeof item.data !== 'string' ? new Blob([item.data]) : item.data;
    ws.dispatchEvent(new MessageEvent('message', { data }));
  } else if (item.type === 'close') {
    s.closedIncoming = true;
    ws.dispatchEvent(new CloseEvent('close', { code: item.code, reason: item.reason, wasClean: item.wasClean ?? true }));
  } else if (item.type === 'error') {
    ws.dispatchEvent(new ErrorEvent('error', { message: item.error.message, error: item.error }));
  }
}

// As on workerd: the two ends are own read-only properties 0 and 1, and the pair is iterable
// (`const [client, server] = new WebSocketPair()`), giving the ends it was made with.
export class WebSocketPair extends Uncloneable {
  #first;
  #second;
  constructor() {
    super();
    const first = new WebSocket(internalToken, newState(null));
    const second = new WebSocket(internalToken, newState(first));
    stateOf(first).peer = second;
    this.#first = first;
    this.#second = second;
    ObjectDefineProperties(this, { 0: ownAttribute(first), 1: ownAttribute(second) });
  }

  [Symbol.iterator]() {
    return [this.#first, this.#second][Symbol.iterator]();
  }
}
defineInterface(WebSocketPair, 'WebSocketPair');
hideBase(WebSocketPair);
refuseClone(WebSocketPair, 'WebSocketPair');

export class WebSocketRequestResponsePair {
  #request;
  #response;
  constructor(request, response) {
    requireArgs(arguments.length, 2, "Failed to construct 'WebSocketRequestResponsePair'");
    this.#request = toUSVString(request);
    this.#response = toUSVString(response);
  }

  get request() {
    return this.#request;
  }

  get response() {
    return this.#response;
  }
}
defineInterface(WebSocketRequestResponsePair, 'WebSocketRequestResponsePair');

// For the runtime (js/runtime/web_sockets.js), which knows the object a socket belongs to.
export const webSocketHooks = {
  stateOf,
  isWebSocket: (value) => stateOf(value) !== undefined,
  // A server end for a socket the host keeps (after hibernation): accepted for hibernation.
  restore(id, readyState) {
    const s = newState(null);
    s.id = id;
    s.accepted = true;
    s.hibernatable = true;
    s.closedOutgoing = readyState >= CLOSING;
    return new WebSocket(internalToken, s);
  },
  // The end `ws` takes the native id `id`: what it buffered for its peer goes to the host.
  attach(ws, id) {
    const s = stateOf(ws);
    s.id = id;
    if (s.attachment !== null) {
      native.wsSetAttachment(id, s.attachment);
      s.attachment = null;
    }
    if (s.accepted && !s.hibernatable) native.wsAccept(id, false, []);
    const outbox = s.outbox;
    s.outbox = [];
    for (const item of outbox) {
      if (item.type === 'message') native.wsSend(id, item.data);
      else native.wsClose(id, item.code, item.reason);
    }
  },
  // An event from the network for a standard (accept()ed or not yet accepted) socket.
  receive(ws, item) {
    if (item.type === 'close') {
      // The server answered the peer's Close already: the socket is closed both ways.
      stateOf(ws).closedOutgoing = true;
    }
    receive(ws, item);
  },
  // The connection ended, or (`answer` not null: {id, code, reason}) the peer's Close waits for
  // this end's answer. The host forgets the socket once its close event has run, but the close
  // handler (and code after its awaits) may still read the attachment, tags and protocol: they
  // are copied here, and the end is detached from the native id.
  markClosed(ws, answer = null) {
    const s = stateOf(ws);
    if (s.id !== 0) outboundById.delete(s.id);
    s.closedIncoming = true;
    s.closedOutgoing = s.closedOutgoing || answer === null;
    s.closeAnswer = s.closedOutgoing ? null : answer;
    if (s.id !== 0) {
      s.attachment = native.wsGetAttachment(s.id);
      const info = native.wsInfo(s.id);
      s.closedProtocol = info === null ? '' : info[1];
      s.closedTags = s.hibernatable ? native.wsTags(s.id) : [];
      s.id = 0;
    }
  },
  // The close handler settled: if it did not answer the peer's Close, the peer's code and reason
  // are echoed.
  answerClose(ws) {
    const s = stateOf(ws);
    const answer = s.closeAnswer;
    if (answer === null) return;
    s.closeAnswer = null;
    s.closedOutgoing = true;
    native.wsClose(answer.id, answer.code, answer.reason);
  },
  NOT_ACCEPTED_MESSAGE,
  // The outbound socket with native id `id` while its events may arrive, or undefined.
  outboundSocket: (id) => outboundById.get(id),
};

// --- Outbound sockets ---

const WS_ERROR = 'WebSocket Constructor: ';
// Outbound sockets by native id, from wsConnect until their close event (the runtime finds the
// object a socket event is for through it).
const outboundById = new Map();

// Where `url` connects: {host, port, path, tls}; workerd's SyntaxErrors otherwise.
function socketTarget(urlText) {
  let parsed;
  try {
    parsed = new URL(urlText);
  } catch {
    throw makeDOMException(`${WS_ERROR}The url is invalid.`, 'SyntaxError');
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw makeDOMException(`${WS_ERROR}The url scheme must be ws or wss.`, 'SyntaxError');
  }
  if (urlText.includes('#')) {
    throw makeDOMException(`${WS_ERROR}The url fragment must be empty.`, 'SyntaxError');
  }
  return targetOf(parsed, parsed.protocol === 'wss:');
}

function targetOf(parsed, tls) {
  const port = parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port);
  return { host: parsed.hostname, port, path: (parsed.pathname || '/') + parsed.search, tls };
}

// RFC 6455 4.1 item 10: a token of visible ASCII without separators.
function validProtocolToken(protocol) {
  if (protocol.length === 0) return false;
  for (let i = 0; i < protocol.length; i++) {
    const c = protocol.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || '()<>@,;:\\/[]?={}'.includes(protocol[i])) return false;
  }
  return true;
}

// The Sec-WebSocket-Protocol header for `protocols` (a string or a sequence), null for none.
function protocolsHeader(protocols) {
  if (isObject(protocols) && typeof protocols[Symbol.iterator] === 'function') {
    const list = [];
    for (const item of protocols) {
      const proto = toDOMString(item);
      if (!validProtocolToken(proto)) {
        throw makeDOMException(`${WS_ERROR}One of the protocol header tokens is invalid.`, 'SyntaxError');
      }
      if (list.includes(proto)) {
        throw makeDOMException(`${WS_ERROR}The protocols header cannot have repeating values.`, 'SyntaxError');
      }
      list.push(proto);
    }
    return list.length === 0 ? null : list.join(', ');
  }
  const proto = toDOMString(protocols);
  if (!validProtocolToken(proto)) {
    throw makeDOMException(`${WS_ERROR}The protocol header token is invalid.`, 'SyntaxError');
  }
  return proto;
}

// The error a failed connection reports: a TypeError for a refused address, as fetch().
function connectError([kind, message]) {
  return kind === 0 ? new TypeError(message) : new Error(message);
}

function failConnecting(ws, s, error) {
  s.connecting = false;
  s.closedIncoming = true;
  s.closedOutgoing = true;
  ws.dispatchEvent(new ErrorEvent('error', { message: `Uncaught ${error}`, error }));
  ws.dispatchEvent(new CloseEvent('close', { code: 1006, reason: 'Failed to establish websocket connection', wasClean: false }));
}

function connect(ws, s, target, headers) {
  const [id, promise] = native.wsConnect(target.host, target.port, target.path, target.tls, headers);
  outboundById.set(id, ws);
  promise.then(
    (answer) => {
      if (s.cancelled) {
        outboundById.delete(id);
        return;
      }
      const status = answer[0];
      if (status !== 101) {
        outboundById.delete(id);
        failConnecting(ws, s, new TypeError('Failed to establish the WebSocket connection: expected server to reply with HTTP ' +
          `status code 101 (switching protocols), but received ${status} instead.`));
        return;
      }
      s.connecting = false;
      s.id = id;
      s.accepted = true;
      s.outboundProtocol = answer[4] === '' ? null : answer[4];
      s.outboundExtensions = answer[5] === '' ? null : answer[5];
      native.wsAccept(id, false, []);
      ws.dispatchEvent(new Event('open'));
      native.wsRead(id);
    },
    (failure) => {
      outboundById.delete(id);
      if (!s.cancelled) failConnecting(ws, s, connectError(failure));
    },
  );
  s.pendingId = id;
}

// close() before the handshake settled: the connection is given up (closed as soon as it opens,
// if it does), and the object hears of it as of a lost connection, as on workerd (where the
// socket reads as OPEN until then).
function cancelConnecting(ws, s) {
  s.cancelled = true;
  s.connecting = false;
  native.wsClose(s.pendingId, 1000, '');
  Promise.resolve().then(() => failConnecting(ws, s, new Error('Network connection lost.')));
}

// fetch() with `Upgrade: websocket` (js/prelude/fetch.js): a 101 Response whose webSocket must be
// accept()ed, or the server's other answer as a normal Response.
export async function fetchWebSocket(url, headerList) {
  const parsed = new URL(url);
  const target = targetOf(parsed, parsed.protocol === 'https:');
  const [id, promise] = native.wsConnect(target.host, target.port, target.path, target.tls, headerList);
  const s = newState(null);
  s.outbound = true;
  const ws = new WebSocket(internalToken, s);
  outboundById.set(id, ws);
  let answer;
  try {
    answer = await promise;
  } catch (failure) {
    outboundById.delete(id);
    throw connectError(failure);
  }
  const [status, statusText, headers, body] = answer;
  if (status !== 101) {
    outboundById.delete(id);
    return createFetchedResponse(status, statusText, headers, new Uint8Array(body), url, false);
  }
  s.id = id;
  // As workerd: '' rather than null when the server chose none (unlike `new WebSocket`).
  s.outboundProtocol = answer[4];
  s.outboundExtensions = answer[5];
  return createFetchedResponse(101, statusText, headers, null, url, false, ws);
}
