// node:events: EventEmitter as Node has it, on the `events` package (browserify's), with what
// that package lacks: errorMonitor, captureRejections, and the async iterator of on().
import eventsPackage from 'events';

const Base = eventsPackage.EventEmitter;
const apply = Reflect.apply;

export const errorMonitor = Symbol('events.errorMonitor');
export const captureRejectionSymbol = Symbol.for('nodejs.rejection');
const kCapture = Symbol('kCapture');
let captureRejectionsDefault = false;

// A listener returned a promise that rejected: as Node does with captureRejections, the error goes
// to the emitter's [Symbol.for('nodejs.rejection')] method if it has one, else to 'error'.
function rejected(emitter, error, type, args) {
  if (typeof emitter[captureRejectionSymbol] === 'function') {
    apply(emitter[captureRejectionSymbol], emitter, [error, type, ...args]);
  } else {
    const previous = emitter[kCapture];
    try {
      // The 'error' emitted here must not feed back into this handler.
      emitter[kCapture] = false;
      emitter.emit('error', error);
    } finally {
      emitter[kCapture] = previous;
    }
  }
}

// A function rather than a class: old packages inherit with util.inherits() and call
// EventEmitter.call(this), which a class constructor refuses.
export function EventEmitter(options = undefined) {
  apply(Base, this, []);
  const capture = options?.captureRejections;
  if (capture !== undefined && typeof capture !== 'boolean') {
    throw new TypeError('The "options.captureRejections" property must be of type boolean.');
  }
  this[kCapture] = capture ?? captureRejectionsDefault;
}
Object.setPrototypeOf(EventEmitter, Base);
EventEmitter.prototype = Object.create(Base.prototype, {
  constructor: { value: EventEmitter, writable: true, configurable: true },
});
Object.defineProperty(EventEmitter, 'captureRejections', {
  get() { return captureRejectionsDefault; },
  set(value) {
    if (typeof value !== 'boolean') {
      throw new TypeError('The "EventEmitter.captureRejections" property must be of type boolean.');
    }
    captureRejectionsDefault = value;
  },
  enumerable: true,
  configurable: true,
});

const baseEmit = Base.prototype.emit;
EventEmitter.prototype.emit = function emit(type, ...args) {
  if (type === 'error' && this._events !== undefined && this._events[errorMonitor] !== undefined) {
    apply(baseEmit, this, [errorMonitor, ...args]);
  }
  if (!this[kCapture]) return apply(baseEmit, this, [type, ...args]);
  // Listeners are called one by one here so that their results can be seen.
  const events = this._events;
  const handler = events === undefined ? undefined : events[type];
  if (handler === undefined) return apply(baseEmit, this, [type, ...args]);
  const listeners = typeof handler === 'function' ? [handler] : [...handler];
  for (const listener of listeners) {
    // once() wrappers remove themselves when called, as in the package's own emit().
    const result = apply(listener, this, args);
    if (result !== undefined && result !== null && typeof result.then === 'function') {
      result.then(undefined, (error) => queueMicrotask(() => rejected(this, error, type, args)));
    }
  }
  return true;
};

EventEmitter.EventEmitter = EventEmitter;
EventEmitter.errorMonitor = errorMonitor;
EventEmitter.captureRejectionSymbol = captureRejectionSymbol;
EventEmitter.usingDomains = false;

// once(emitter, name): a promise of the arguments of the next `name` event (rejected by 'error').
export const once = eventsPackage.once;
EventEmitter.once = once;

export function getEventListeners(emitter, name) {
  if (typeof emitter.listeners === 'function') return emitter.listeners(name);
  throw new TypeError('The "emitter" argument must be an instance of EventEmitter.');
}

export function listenerCount(emitter, name) {
  return emitter.listenerCount(name);
}
EventEmitter.listenerCount = listenerCount;

// on(emitter, name): an async iterator of the arguments of each `name` event, until 'error'
// (which makes it throw) or return().
export function on(emitter, name, options = undefined) {
  const signal = options?.signal;
  const queued = [];
  const waiting = [];
  let failure = null;
  let done = false;
  const listener = (...args) => {
    const next = waiting.shift();
    if (next) next.resolve({ value: args, done: false });
    else queued.push(args);
  };
  const errorListener = (error) => {
    const next = waiting.shift();
    if (next) next.reject(error);
    else failure = error;
    finish();
  };
  function finish() {
    done = true;
    emitter.removeListener(name, listener);
    emitter.removeListener('error', errorListener);
    for (const next of waiting.splice(0)) next.resolve({ value: undefined, done: true });
  }
  emitter.on(name, listener);
  if (name !== 'error') emitter.on('error', errorListener);
  signal?.addEventListener('abort', () => errorListener(signal.reason), { once: true });
  return {
    next() {
      if (queued.length > 0) return Promise.resolve({ value: queued.shift(), done: false });
      if (failure !== null) {
        const error = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      errorListener(error);
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() { return this; },
  };
}
EventEmitter.on = on;

// addAbortListener(signal, listener): calls listener once when `signal` aborts (at once if it
// has); returns a Disposable that removes it.
export function addAbortListener(signal, listener) {
  if (signal === undefined || signal === null || typeof signal.addEventListener !== 'function') {
    const error = new TypeError('The "signal" argument must be an instance of AbortSignal.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  if (typeof listener !== 'function') {
    const error = new TypeError('The "listener" argument must be of type function.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  let removed = false;
  const handler = () => {
    if (!removed) listener();
  };
  if (signal.aborted) queueMicrotask(handler);
  else signal.addEventListener('abort', handler, { once: true });
  const dispose = () => {
    removed = true;
    signal.removeEventListener('abort', handler);
  };
  return { [Symbol.dispose ?? Symbol.for('nodejs.dispose')]: dispose };
}

export function getMaxListeners(emitter) {
  return emitter.getMaxListeners();
}

export function setMaxListeners(n = 10, ...emitters) {
  if (emitters.length === 0) EventEmitter.defaultMaxListeners = n;
  for (const emitter of emitters) emitter.setMaxListeners(n);
}

// As in Node, the module itself is EventEmitter (its default export), with the named exports.
export default {
  default: EventEmitter,
  EventEmitter,
  once,
  on,
  errorMonitor,
  captureRejectionSymbol,
  getEventListeners,
  addAbortListener,
  getMaxListeners,
  setMaxListeners,
  listenerCount,
  get defaultMaxListeners() { return EventEmitter.defaultMaxListeners; },
  get captureRejections() { return EventEmitter.captureRejections; },
  usingDomains: false,
};
