import native from './native.js';
import { DOMException } from './dom_exception.js';
import { Event, EventTarget, defineEventHandler, setSignalHooks } from './event_target.js';
import { reportException } from './report_error.js';
import { defineInterface, illegalConstructor, isObject } from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

// Lets the prelude create signals while `new AbortSignal()` stays an illegal constructor.
const internalToken = Symbol('AbortSignal');

let signalState;
let isSignal;

export class AbortSignal extends EventTarget {
  #state = { aborted: false, reason: undefined, algorithms: new Set() };

  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
    super();
  }

  static {
    signalState = (signal) => signal.#state;
    isSignal = (value) => isObject(value) && #state in value;
  }

  static abort(reason = undefined) {
    const signal = createAbortSignal();
    signalAbort(signal, reason);
    return signal;
  }

  static timeout(milliseconds) {
    // As workerd: any number; a negative or NaN delay is no delay.
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': parameter 1 is not of type 'number'.");
    }
    const delay = +milliseconds;
    const ms = delay > 0 ? delay : 0;
    const signal = createAbortSignal();
    native.setTimer(() => {
      signalAbort(signal, retryableError('The operation was aborted due to timeout', 'TimeoutError'));
    }, ms, false);
    return signal;
  }

  static any(signals) {
    // As workerd: an Array of AbortSignals (other iterables are refused).
    if (!Array.isArray(signals)) {
      throw new TypeError("Failed to execute 'any' on 'AbortSignal': parameter 1 is not of type 'Array'.");
    }
    const sources = [];
    const count = signals.length;
    for (let i = 0; i < count; i++) {
      const source = signals[i];
      if (!isSignal(source)) {
        throw new TypeError(`Incorrect type for array element ${i}: the provided value is not of type 'AbortSignal'.`);
      }
      sources.push(source);
    }
    const result = createAbortSignal();
    for (const source of sources) {
      if (signalState(source).aborted) {
        signalAbort(result, signalState(source).reason);
        return result;
      }
    }
    for (const source of sources) followSignal(result, source);
    return result;
  }

  get aborted() {
    return this.#state.aborted;
  }

  get reason() {
    return this.#state.reason;
  }

  throwIfAborted() {
    if (this.#state.aborted) throw this.#state.reason;
  }
}

defineEventHandler(AbortSignal.prototype, 'abort');
defineInterface(AbortSignal, 'AbortSignal');
refuseClone(AbortSignal, 'AbortSignal', 'AbortSignal serialization is not enabled.');

export function createAbortSignal() {
  return new AbortSignal(internalToken);
}

// The reasons the platform gives an abort: workerd makes them from a "disconnected" failure, which
// marks them `retryable` (an own property, after `stack`).
function retryableError(message, name) {
  const error = new DOMException(message, name);
  error.retryable = true;
  return error;
}

function signalAbort(signal, reason) {
  const state = signalState(signal);
  if (state.aborted) return;
  state.aborted = true;
  state.reason = reason !== undefined
    ? reason
    : retryableError('The operation was aborted', 'AbortError');
  const algorithms = [...state.algorithms];
  state.algorithms.clear();
  for (const algorithm of algorithms) {
    try {
      algorithm();
    } catch (error) {
      reportException(error);
    }
  }
  signal.dispatchEvent(new Event('abort'));
}

function addAbortAlgorithm(signal, algorithm) {
  signalState(signal).algorithms.add(algorithm);
}

// Makes `follower` abort, with the same reason, when `parent` does.
export function followSignal(follower, parent) {
  const parentState = signalState(parent);
  if (parentState.aborted) {
    signalAbort(follower, parentState.reason);
  } else {
    addAbortAlgorithm(parent, () => signalAbort(follower, parentState.reason));
  }
}

export { isSignal as isAbortSignal };

// Runs `algorithm` when `signal` aborts (not if it already has); returns what stops that.
export function whenAborted(signal, algorithm) {
  const algorithms = signalState(signal).algorithms;
  algorithms.add(algorithm);
  return () => algorithms.delete(algorithm);
}

export function abortState(signal) {
  const state = signalState(signal);
  return { aborted: state.aborted, reason: state.reason };
}

setSignalHooks({
  isSignal,
  isAborted: (signal) => signalState(signal).aborted,
  onAbort: addAbortAlgorithm,
});

// Made as an object literal's member, so that V8 names the class's function AbortController in its
// own messages ("Cannot assign to read only property 'x' of object '#<AbortController>'"): the
// bundler renames a class declaration whose name another module uses as a global.
export const AbortController = { AbortController: class extends Uncloneable {
  #signal = createAbortSignal();

  constructor() {
    super();
  }

  get signal() {
    return this.#signal;
  }

  abort(reason = undefined) {
    signalAbort(this.#signal, reason);
  }
} }.AbortController;

defineInterface(AbortController, 'AbortController');
hideBase(AbortController);
refuseClone(AbortController, 'AbortController');
