// The body of a stub's fetch() answer that the callee still produces (its Response body is a
// stream): a byte ReadableStream that takes from the host what the callee has sent so far each
// time it is read (stubBodyTake), and waits for the host's stubBodySignal(id) when nothing has
// come yet. Reading only on demand is the backpressure: the callee stops producing while the
// caller does not read. Cancelling it cancels the callee's stream; the callee's error (or reset)
// errors it with an error of the same class and message, marked `remote`, as workerd's.
import { native } from './native.js';
import {
  ErrorCtor, ObjectDefineProperty, PromiseCtor, PromisePrototypeThen, ReflectApply, TypeErrorCtor,
  Uint8ArrayCtor,
} from './primordials.js';

// Captured before user code runs: a tenant may replace the streams' methods.
const ReadableStreamCtor = globalThis.ReadableStream;
let controllerPrototype = null;
new ReadableStreamCtor({
  type: 'bytes',
  start(controller) { controllerPrototype = Object.getPrototypeOf(controller); },
});
const controllerEnqueue = controllerPrototype.enqueue;
const controllerClose = controllerPrototype.close;
const controllerError = controllerPrototype.error;

const ERROR_CLASSES = {
  __proto__: null,
  Error: ErrorCtor,
  TypeError: TypeErrorCtor,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// The resolve functions of the reads waiting for the host, by body id.
const waiting = { __proto__: null };

function setFlag(error, name) {
  ObjectDefineProperty(error, name, { value: true, writable: true, enumerable: true, configurable: true });
}

// The error the caller's stream gets from [_, _, name, message, reset] (see stubBodyTake).
function bodyError(taken) {
  const Ctor = ERROR_CLASSES[taken[2]] ?? ErrorCtor;
  const error = new Ctor(taken[3]);
  setFlag(error, 'remote');
  if (taken[4] === true) setFlag(error, 'durableObjectReset');
  return error;
}

function pull(id, controller) {
  const taken = native.stubBodyTake(id);
  const bytes = taken[0];
  const state = taken[1];
  if (bytes !== null) ReflectApply(controllerEnqueue, controller, [new Uint8ArrayCtor(bytes)]);
  if (state === 1) {
    ReflectApply(controllerClose, controller, []);
    return undefined;
  }
  if (state === 2) {
    ReflectApply(controllerError, controller, [bodyError(taken)]);
    return undefined;
  }
  if (state === 3) {
    // The host forgot the body: the caller's object was reset while it was read.
    ReflectApply(controllerError, controller, [new ErrorCtor('The response body was cancelled.')]);
    return undefined;
  }
  if (bytes !== null) return undefined;
  return PromisePrototypeThen(new PromiseCtor((resolve) => { waiting[id] = resolve; }),
    () => pull(id, controller));
}

export function stubBodyStream(id) {
  return new ReadableStreamCtor({
    type: 'bytes',
    pull(controller) { return pull(id, controller); },
    cancel() {
      delete waiting[id];
      native.stubBodyCancel(id);
    },
  });
}

// Called by the host: body `id` has something to take.
export function stubBodySignal(id) {
  const resolve = waiting[id];
  if (resolve === undefined) return;
  delete waiting[id];
  resolve();
}
