import { DOMException } from './dom_exception.js';
import { reportException } from './report_error.js';
import { defineInterface, illegalInvocation, isObject, toDictionary, toDOMString } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

// Accessors for the private state of Event, for the dispatch algorithm in EventTarget.
let eventState;
let isEvent;

// workerd's event constructors take the type as a required string: a missing (or undefined) type
// is refused in these words, and the constructors' `length` is 0.
export function requireEventType(type, interfaceName) {
  if (type === undefined) {
    throw new TypeError(`Failed to construct '${interfaceName}': constructor parameter 1 is not of type 'string'.`);
  }
}

export class Event extends Uncloneable {
  #state;

  constructor(type = undefined, eventInitDict = undefined) {
    super();
    requireEventType(type, 'Event');
    const typeString = toDOMString(type);
    const init = toDictionary(eventInitDict, "Failed to construct 'Event'");
    this.#state = {
      type: typeString,
      bubbles: Boolean(init.bubbles),
      cancelable: Boolean(init.cancelable),
      composed: Boolean(init.composed),
      target: null,
      currentTarget: null,
      phase: NONE,
      canceled: false,
      stopPropagation: false,
      stopImmediatePropagation: false,
      dispatching: false,
      inPassiveListener: false,
      isTrusted: false,
      timeStamp: Date.now(),
    };
  }

  static {
    eventState = (event) => event.#state;
    isEvent = (value) => isObject(value) && #state in value;
  }

  // Members in workerd's order, which for-in over an event shows.
  get type() {
    return this.#state.type;
  }

  get eventPhase() {
    return this.#state.phase;
  }

  get composed() {
    return this.#state.composed;
  }

  get bubbles() {
    return this.#state.bubbles;
  }

  get cancelable() {
    return this.#state.cancelable;
  }

  get defaultPrevented() {
    return this.#state.canceled;
  }

  get returnValue() {
    return !this.#state.canceled;
  }

  get currentTarget() {
    return this.#state.currentTarget;
  }

  get target() {
    return this.#state.target;
  }

  get srcElement() {
    return this.#state.target;
  }

  get timeStamp() {
    return this.#state.timeStamp;
  }

  // An accessor of the prototype, as workerd has it (the specification's [LegacyUnforgeable]
  // own property would show in Object.keys(), which workerd's events do not).
  get isTrusted() {
    return this.#state.isTrusted;
  }

  get cancelBubble() {
    return this.#state.stopPropagation;
  }

  set cancelBubble(value) {
    if (value) this.#state.stopPropagation = true;
  }

  stopImmediatePropagation() {
    this.#state.stopPropagation = true;
    this.#state.stopImmediatePropagation = true;
  }

  preventDefault() {
    this.#cancel();
  }

  #cancel() {
    if (this.#state.cancelable && !this.#state.inPassiveListener) this.#state.canceled = true;
  }

  stopPropagation() {
    this.#state.stopPropagation = true;
  }

  composedPath() {
    const { currentTarget, dispatching } = this.#state;
    return dispatching && currentTarget !== null ? [currentTarget] : [];
  }
}

defineInterface(Event, 'Event', { NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE });
hideBase(Event);
refuseClone(Event, 'Event');

export class CustomEvent extends Event {
  #detail;

  constructor(type = undefined, eventInitDict = undefined) {
    requireEventType(type, 'CustomEvent');
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, "Failed to construct 'CustomEvent'");
    this.#detail = init.detail === undefined ? null : init.detail;
  }

  get detail() {
    return this.#detail;
  }
}

defineInterface(CustomEvent, 'CustomEvent');
refuseClone(CustomEvent, 'CustomEvent');

// AbortSignal is defined on top of EventTarget, so it registers how to recognise a signal and how
// to run code when one aborts, for the `signal` option of addEventListener.
let signalHooks = null;

export function setSignalHooks(hooks) {
  signalHooks = hooks;
}

// An options argument as workerd converts it: a boolean (useCapture) or a dictionary (`capture`,
// then for addEventListener `passive`, `once` and `signal`). Capturing and passive listeners are
// refused, as workerd refuses them, once a listener is given (`checked`).
function flattenOptions(options, withListenerOptions, checked, method) {
  const result = { once: false, signal: null };
  if (options === undefined) return result;
  if (!isObject(options)) {
    if (checked && Boolean(options)) throw new TypeError(`${method}(): useCapture must be false.`);
    return result;
  }
  const capture = options.capture;
  if (!withListenerOptions) {
    if (checked && capture !== undefined && Boolean(capture)) {
      throw new TypeError(`${method}(): options.capture must be false.`);
    }
    return result;
  }
  const passive = options.passive;
  const once = options.once;
  const signal = options.signal;
  if (signal !== undefined && (signalHooks === null || !signalHooks.isSignal(signal))) {
    throw new TypeError("Incorrect type for the 'signal' field on 'AddEventListenerOptions': the provided value is not of type 'AbortSignal'.");
  }
  if (!checked) return result;
  if (capture !== undefined && Boolean(capture)) throw new TypeError(`${method}(): options.capture must be false.`);
  if (passive !== undefined && Boolean(passive)) throw new TypeError(`${method}(): options.passive must be false.`);
  result.once = once !== undefined && Boolean(once);
  if (signal !== undefined) result.signal = signal;
  return result;
}

export let dispatchTrustedEvent;

// Targets whose events show another object as their target (and as `this` in listeners): the
// global scope's listeners live on an EventTarget of the prelude's, but see the global object.
const targetAliases = new WeakMap();

export function aliasTarget(target, shown) {
  targetAliases.set(target, shown);
}

// Interfaces that act when listeners of a type come and go (a MessagePort starts delivering once
// it has a 'message' listener): target → callback(type, listenerCount).
const listenerObservers = new WeakMap();

export function observeListeners(target, callback) {
  listenerObservers.set(target, callback);
}

function notifyListenerCount(target, type, list) {
  const observer = listenerObservers.get(target);
  if (observer !== undefined) observer(type, list === undefined ? 0 : list.length);
}

export class EventTarget extends Uncloneable {
  // type → listeners in registration order
  #listeners = new Map();

  constructor() {
    super();
  }

  addEventListener(type, callback, options = undefined) {
    // Called on another object (the global scope's own EventTarget prototype has these names).
    if (!isObject(this) || !(#listeners in this)) throw illegalInvocation();
    const context = "Failed to execute 'addEventListener' on 'EventTarget'";
    if (arguments.length < 1) throw new TypeError(`${context}: parameter 1 is not of type 'string'.`);
    const typeString = toDOMString(type);
    if (arguments.length < 2) {
      throw new TypeError(`${context}: parameter 2 is not of type 'function or HandlerObject'.`);
    }
    const given = callback !== null && callback !== undefined;
    if (given && typeof callback !== 'function') {
      if (!isObject(callback)) {
        throw new TypeError(`${context}: parameter 2 is not of type 'function or HandlerObject'.`);
      }
      if (typeof callback.handleEvent !== 'function') {
        throw new TypeError("Incorrect type for the 'handleEvent' field on 'HandlerObject': the provided value is not of type 'function'.");
      }
    }
    const { once, signal } = flattenOptions(options, true, given, 'addEventListener');
    if (!given) return;
    if (signal !== null && signalHooks.isAborted(signal)) return;
    let list = this.#listeners.get(typeString);
    if (list === undefined) {
      list = [];
      this.#listeners.set(typeString, list);
    }
    if (list.some((l) => l.callback === callback)) return;
    const listener = { callback, once, removed: false };
    list.push(listener);
    notifyListenerCount(this, typeString, list);
    if (signal !== null) {
      signalHooks.onAbort(signal, () => this.#remove(typeString, listener));
    }
  }

  removeEventListener(type, callback, options = undefined) {
    if (!isObject(this) || !(#listeners in this)) throw illegalInvocation();
    const context = "Failed to execute 'removeEventListener' on 'EventTarget'";
    if (arguments.length < 1) throw new TypeError(`${context}: parameter 1 is not of type 'string'.`);
    const typeString = toDOMString(type);
    if (arguments.length < 2 || (callback !== null && callback !== undefined && !isObject(callback))) {
      throw new TypeError(`${context}: parameter 2 is not of type 'Object'.`);
    }
    flattenOptions(options, false, true, 'removeEventListener');
    const list = this.#listeners.get(typeString);
    if (list === undefined) return;
    const listener = list.find((l) => l.callback === callback);
    if (listener !== undefined) this.#remove(typeString, listener);
  }

  #remove(type, listener) {
    listener.removed = true;
    const list = this.#listeners.get(type);
    if (list === undefined) return;
    const index = list.indexOf(listener);
    if (index !== -1) {
      list.splice(index, 1);
      notifyListenerCount(this, type, list);
    }
  }

  dispatchEvent(event) {
    if (!isObject(this) || !(#listeners in this)) throw illegalInvocation();
    if (!isEvent(event)) {
      throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
    }
    const state = eventState(event);
    if (state.dispatching) {
      throw new DOMException('The event is already being dispatched.', 'InvalidStateError');
    }
    state.isTrusted = false;
    return this.#dispatch(event, state);
  }

  static {
    // For interfaces that dispatch their own events (a MessagePort's messages): the event is
    // trusted, and with `propagate` the first exception a listener throws ends the dispatch and
    // is thrown to the caller instead of being reported, as workerd's native dispatch does.
    dispatchTrustedEvent = (target, event, propagate) => {
      const state = eventState(event);
      state.isTrusted = true;
      return target.#dispatch(event, state, propagate);
    };
  }

  // There is no tree here, so the path is the target alone, in the AT_TARGET phase (there are
  // no capturing listeners).
  #dispatch(event, state, propagate = false) {
    const shown = targetAliases.get(this) ?? this;
    state.dispatching = true;
    state.target = shown;
    state.currentTarget = shown;
    state.phase = AT_TARGET;
    try {
      const list = this.#listeners.get(state.type);
      if (list !== undefined && list.length > 0) this.#invoke(event, state, list.slice(), propagate, shown);
    } finally {
      state.phase = NONE;
      state.currentTarget = null;
      state.dispatching = false;
      state.stopPropagation = false;
      state.stopImmediatePropagation = false;
      state.inPassiveListener = false;
    }
    return !state.canceled;
  }

  #invoke(event, state, listeners, propagate, shown) {
    for (const listener of listeners) {
      if (listener.removed) continue;
      if (listener.once) this.#remove(state.type, listener);
      try {
        const { callback } = listener;
        if (typeof callback === 'function') {
          callback.call(shown, event);
        } else {
          const handleEvent = callback.handleEvent;
          if (typeof handleEvent !== 'function') {
            throw new TypeError("The listener's handleEvent property is not a function.");
          }
          handleEvent.call(callback, event);
        }
      } catch (error) {
        if (propagate) throw error;
        reportException(error);
      }
      if (state.stopImmediatePropagation) return;
    }
  }
}

defineInterface(EventTarget, 'EventTarget');
hideBase(EventTarget);
refuseClone(EventTarget, 'EventTarget');

// For interfaces with `on<type>` attributes: the handler keeps the position of the listener that
// was registered when a handler was first set, as HTML's event handlers do.
export function defineEventHandler(proto, type) {
  const handlers = new WeakMap();
  Object.defineProperty(proto, `on${type}`, {
    enumerable: true,
    configurable: true,
    get() {
      const entry = handlers.get(this);
      return entry === undefined ? null : entry.handler;
    },
    set(value) {
      const handler = isObject(value) ? value : null;
      let entry = handlers.get(this);
      if (entry === undefined) {
        if (handler === null) return;
        entry = { handler: null, listener: null };
        handlers.set(this, entry);
      }
      entry.handler = handler;
      if (handler === null) {
        if (entry.listener !== null) {
          EventTarget.prototype.removeEventListener.call(this, type, entry.listener);
          entry.listener = null;
        }
        return;
      }
      if (entry.listener === null) {
        const target = this;
        entry.listener = function (event) {
          const current = handlers.get(target).handler;
          if (typeof current !== 'function') return;
          const result = current.call(target, event);
          if (result === false) event.preventDefault();
        };
        EventTarget.prototype.addEventListener.call(this, type, entry.listener);
      }
    },
  });
}
