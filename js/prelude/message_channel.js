// MessageChannel and MessagePort within one isolate, as workerd has them: postMessage() clones
// the message at once (so an uncloneable value throws DataCloneError even when nobody receives
// it) and the peer port dispatches it as a MessageEvent in a later microtask. A port holds
// messages until it is started, by start(), by setting onmessage, or by adding a 'message'
// listener (as Node.js does); it goes back to holding them when its last listener goes. Transfer
// lists are refused, as in workerd.
import native from './native.js';
import { reportException } from './report_error.js';
import {
  Event, EventTarget, defineEventHandler, dispatchTrustedEvent, observeListeners,
} from './event_target.js';
import { createPortMessageEvent } from './web_socket.js';
import {
  defineInterface, illegalConstructor, illegalInvocation, inspectCustom, isObject,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const internalToken = Symbol('MessagePort');

const PENDING = 0;
const STARTED = 1;
const CLOSED = 2;

let portState;

function stateOf(port) {
  const state = portState(port);
  if (state === undefined) throw illegalInvocation();
  return state;
}

// As in workerd: a listener that throws ends the dispatch, and the exception is dispatched as
// the data of a second 'message' event; an exception from that one is reported.
function dispatchMessage(port, data) {
  try {
    dispatchTrustedEvent(port, createPortMessageEvent(data, port), true);
  } catch (error) {
    try {
      dispatchTrustedEvent(port, createPortMessageEvent(error, port), true);
    } catch (again) {
      reportException(again);
    }
  }
}

function startPort(port, state) {
  if (state.phase !== PENDING) return;
  state.phase = STARTED;
  const queued = state.queue;
  state.queue = [];
  if (queued.length === 0) return;
  native.enqueueMicrotask(() => {
    for (const data of queued) dispatchMessage(port, data);
  });
}

function deliver(port, data) {
  const state = portState(port);
  if (state.phase === PENDING) {
    state.queue.push(data);
  } else if (state.phase === STARTED) {
    native.enqueueMicrotask(() => dispatchMessage(port, data));
  }
}

// Whether postMessage's second argument (a transfer list, or options with `transfer`) names
// anything to transfer.
function hasTransfer(options) {
  if (!isObject(options)) return false;
  const list = typeof options[Symbol.iterator] === 'function' ? options : options.transfer;
  if (!isObject(list)) return false;
  for (const item of list) return true; // eslint-disable-line no-unused-vars
  return false;
}

export class MessagePort extends EventTarget {
  #state;

  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
    super();
    this.#state = { phase: PENDING, queue: [], peer: null, onmessage: false };
    const state = this.#state;
    observeListeners(this, (type, count) => {
      if (type !== 'message') return;
      if (state.phase === PENDING && count > 0) startPort(this, state);
      else if (state.phase === STARTED && count === 0) state.phase = PENDING;
    });
  }

  static {
    portState = (value) => (isObject(value) && #state in value ? value.#state : undefined);
  }

  postMessage(data = undefined, options = undefined) {
    const state = stateOf(this);
    if (hasTransfer(options)) throw new Error('Transfer list is not supported');
    const serialized = native.serialize(data);
    const peer = state.peer;
    if (state.phase === CLOSED || peer === null) return;
    deliver(peer, native.deserialize(serialized));
  }

  start() {
    startPort(this, stateOf(this));
  }

  // Closes both ports; each dispatches a 'close' event (the peer first). Messages not yet
  // dispatched are dropped. A close listener's exception is thrown from close(), as in workerd.
  close() {
    const state = stateOf(this);
    if (state.phase === CLOSED) return;
    state.phase = CLOSED;
    state.queue = [];
    const peer = state.peer;
    state.peer = null;
    if (peer !== null) peer.close();
    dispatchTrustedEvent(this, new Event('close'), true);
  }

  [inspectCustom](depth, options, inspect) {
    return `MessagePort ${inspect({ onmessage: this.onmessage }, options)}`;
  }
}

defineEventHandler(MessagePort.prototype, 'message');
defineInterface(MessagePort, 'MessagePort');
refuseClone(MessagePort, 'MessagePort');

export class MessageChannel extends Uncloneable {
  constructor() {
    super();
    const port1 = new MessagePort(internalToken);
    const port2 = new MessagePort(internalToken);
    portState(port1).peer = port2;
    portState(port2).peer = port1;
    // In workerd's order.
    Object.defineProperty(this, 'port2', { value: port2, enumerable: true, configurable: false });
    Object.defineProperty(this, 'port1', { value: port1, enumerable: true, configurable: false });
  }
}

defineInterface(MessageChannel, 'MessageChannel');
hideBase(MessageChannel);
refuseClone(MessageChannel, 'MessageChannel');
