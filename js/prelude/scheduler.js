// workerd's `scheduler` (the Prioritized Task Scheduling API's wait() only). The Scheduler
// interface is not a global in workerd, so only the instance is installed.
import native from './native.js';
import { abortState, isAbortSignal, whenAborted } from './abort.js';
import { DOMException } from './dom_exception.js';
import { defineInterface, illegalConstructor, illegalInvocation, isObject } from './webidl.js';

const internalToken = Symbol('Scheduler');
let isScheduler;

const errorClasses = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
const getPrototypeOf = Object.getPrototypeOf;

// workerd turns the abort reason into a native exception and back, so the promise rejects with a
// new error carrying the reason's class and message, not with the reason itself: a DOMException
// keeps its name, one of the standard errors its class, anything else becomes an Error whose
// message is the reason as a string ("#<Object>" for objects that are not errors).
function rejectionFor(reason) {
  if (reason instanceof DOMException) return new DOMException(reason.message, reason.name);
  if (isObject(reason)) {
    for (let i = errorClasses.length - 1; i >= 0; i--) {
      if (getPrototypeOf(reason) === errorClasses[i].prototype) return new errorClasses[i](reason.message);
    }
    if (reason instanceof Error) return new Error(reason.message);
    const ctor = reason.constructor;
    const name = typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : 'Object';
    return new Error(`#<${name}>`);
  }
  return new Error(typeof reason === 'symbol' ? reason.description ?? '' : `${reason}`);
}

export class Scheduler {
  #brand = true;

  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
  }

  static {
    isScheduler = (value) => isObject(value) && #brand in value;
  }

  // Resolves with undefined after `delay` ms (a timer like setTimeout's); a signal that aborts
  // first clears the timer and rejects.
  wait(delay = undefined, options = undefined) {
    if (!isScheduler(this)) throw illegalInvocation();
    const context = "Failed to execute 'wait' on 'Scheduler'";
    if (delay === undefined) throw new TypeError(`${context}: parameter 1 is not of type 'number'.`);
    const ms = +delay;
    let signal = null;
    if (options !== undefined && options !== null) {
      if (!isObject(options)) throw new TypeError(`${context}: parameter 2 is not of type 'WaitOptions'.`);
      const s = options.signal;
      if (s !== undefined) {
        if (!isAbortSignal(s)) {
          throw new TypeError("Incorrect type for the 'signal' field on 'WaitOptions': the provided value is not of type 'AbortSignal'.");
        }
        signal = s;
      }
    }
    if (signal !== null) {
      const state = abortState(signal);
      if (state.aborted) return Promise.reject(rejectionFor(state.reason));
    }
    return new Promise((resolve, reject) => {
      let stopWatching = null;
      const timer = native.setTimer(() => {
        if (stopWatching !== null) stopWatching();
        resolve(undefined);
      }, ms > 0 ? Math.min(Math.trunc(ms), 2147483647) : 0, false);
      if (signal !== null) {
        stopWatching = whenAborted(signal, () => {
          native.clearTimer(timer);
          reject(rejectionFor(abortState(signal).reason));
        });
      }
    });
  }
}

defineInterface(Scheduler, 'Scheduler');

export const scheduler = new Scheduler(internalToken);
