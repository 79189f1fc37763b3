// node:async_hooks: AsyncLocalStorage and AsyncResource, as workerd has them. The current async
// context is a frozen Map from each AsyncLocalStorage to its store, kept in the context's
// continuation-preserved embedder data (js/prelude/async_context.js), which follows awaits,
// promise callbacks, timers and queueMicrotask. Entering a store makes a new Map, so that a
// context captured earlier (a pending callback, another request's chain) never changes.
import { native } from '../native.js';

const getAsyncContext = native.getAsyncContext;
const setAsyncContext = native.setAsyncContext;
const apply = Reflect.apply;
const MapCtor = Map;
const mapGet = Map.prototype.get;
const mapSet = Map.prototype.set;
const mapDelete = Map.prototype.delete;
const mapHas = Map.prototype.has;

// Calls fn(...args) with `context` as the current async context, restoring the previous one after.
function runInContext(context, fn, thisArg, args) {
  const previous = getAsyncContext();
  setAsyncContext(context);
  try {
    return apply(fn, thisArg, args);
  } finally {
    setAsyncContext(previous);
  }
}

function withStore(context, storage, store) {
  const next = new MapCtor(context);
  apply(mapSet, next, [storage, store]);
  return next;
}

function requireFunction(fn, name) {
  if (typeof fn !== 'function') {
    throw new TypeError(`The "${name}" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`);
  }
}

export class AsyncLocalStorage {
  #name;

  constructor(options = undefined) {
    this.#name = options?.name === undefined ? '' : String(options.name);
  }

  get name() { return this.#name; }

  // fn, made to run in the async context current now.
  static bind(fn) {
    requireFunction(fn, 'fn');
    const context = getAsyncContext();
    return function bound(...args) { return runInContext(context, fn, this, args); };
  }

  // A function that runs any function it is given in the async context current now.
  static snapshot() {
    const context = getAsyncContext();
    return (fn, ...args) => runInContext(context, fn, undefined, args);
  }

  run(store, callback, ...args) {
    requireFunction(callback, 'callback');
    return runInContext(withStore(getAsyncContext(), this, store), callback, undefined, args);
  }

  exit(callback, ...args) {
    requireFunction(callback, 'callback');
    const current = getAsyncContext();
    if (current === undefined || !apply(mapHas, current, [this])) {
      return apply(callback, undefined, args);
    }
    const next = new MapCtor(current);
    apply(mapDelete, next, [this]);
    return runInContext(next, callback, undefined, args);
  }

  // Sets the store for the rest of the current synchronous execution and what it schedules.
  enterWith(store) {
    setAsyncContext(withStore(getAsyncContext(), this, store));
  }

  getStore() {
    const current = getAsyncContext();
    return current === undefined ? undefined : apply(mapGet, current, [this]);
  }

  // Leaves the store undefined in the current context (until run() or enterWith()).
  disable() {
    const current = getAsyncContext();
    if (current === undefined || !apply(mapHas, current, [this])) return;
    const next = new MapCtor(current);
    apply(mapDelete, next, [this]);
    setAsyncContext(next);
  }
}

export class AsyncResource {
  #context;
  #type;

  constructor(type, options = undefined) {
    if (typeof type !== 'string') {
      throw new TypeError('The "type" argument must be of type string.');
    }
    this.#type = type;
    this.#context = getAsyncContext();
  }

  static bind(fn, type = undefined, thisArg = undefined) {
    return new AsyncResource(type ?? fn.name ?? 'bound-anonymous-fn').bind(fn, thisArg);
  }

  bind(fn, thisArg = undefined) {
    requireFunction(fn, 'fn');
    const resource = this;
    const bound = function (...args) {
      return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
    };
    Object.defineProperty(bound, 'length', { value: fn.length, configurable: true });
    return bound;
  }

  runInAsyncScope(fn, thisArg, ...args) {
    return runInContext(this.#context, fn, thisArg, args);
  }

  emitDestroy() { return this; }
  asyncId() { return 0; }
  triggerAsyncId() { return 0; }
}

// workerd tracks no async resources: executionAsyncId() and triggerAsyncId() are 0, the current
// resource an empty object, and a hook never fires (its enable() and disable() return it).
export function executionAsyncId() { return 0; }
export function triggerAsyncId() { return 0; }
export function executionAsyncResource() { return {}; }

class AsyncHook {
  enable() { return this; }
  disable() { return this; }
}

export function createHook(callbacks) {
  if (callbacks === null || typeof callbacks !== 'object') {
    const error = new TypeError('The "options" argument must be of type object.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  return new AsyncHook();
}

export default {
  AsyncLocalStorage, AsyncResource, executionAsyncId, triggerAsyncId, executionAsyncResource,
  createHook,
};
