// The body of a stub's fetch() answer that the callee still produces (its Response body is a
// stream), or of a client's request still arriving (net/http_server.cc streams uploads the same
// way): a byte ReadableStream that takes from the host what the callee has sent so far each
// time it is read (stubBodyTake), and waits for the host's stubBodySignal(id) when nothing has
// come yet. Reading only on demand is the backpressure: the callee stops producing while the
// caller does not read. Cancelling it cancels the callee's stream; the callee's error (or reset)
// errors it with an error of the same class and message, marked `remote`, as workerd's.
//
// The other way, a request body the caller sends through a stub's fetch() as its stream yields it
// (sendRequestBody): the callee reads it as a stub body of its own.
import { native } from './native.js';
import {
  ArrayBufferCtor, ErrorCtor, ObjectDefineProperty, PromiseCtor, PromisePrototypeThen,
  ReflectApply, TypeErrorCtor, Uint8ArrayCtor, WeakSetCtor, WeakSetPrototypeAdd, WeakSetPrototypeHas,
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
const getReader = ReadableStreamCtor.prototype.getReader;
const readerPrototype = Object.getPrototypeOf(
  ReflectApply(getReader, new ReadableStreamCtor(), []));
const readerRead = readerPrototype.read;
const readerCancel = readerPrototype.cancel;

// The error classes a thrown error keeps across stub.fetch() (by its name); others become Error.
export const ERROR_CLASSES = {
  __proto__: null,
  Error: ErrorCtor,
  TypeError: TypeErrorCtor,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// The errors of client uploads whose connection broke (see bodyError).
const connectionLost = new WeakSetCtor();

// The resolve functions of the reads waiting for the host, by body id.
const waiting = { __proto__: null };

function setFlag(error, name) {
  ObjectDefineProperty(error, name, { value: true, writable: true, enumerable: true, configurable: true });
}

// The error the caller's stream gets from [_, _, name, message, reset, client, retryable] (see
// stubBodyTake). A client's upload that broke is not a remote object's failure: no `remote`.
function bodyError(taken) {
  const Ctor = ERROR_CLASSES[taken[2]] ?? ErrorCtor;
  const error = new Ctor(taken[3]);
  if (taken[5] !== true) setFlag(error, 'remote');
  if (taken[4] === true) setFlag(error, 'durableObjectReset');
  if (taken[6] === true) {
    setFlag(error, 'retryable');
    // A client's upload whose connection broke: passed on, the body fails the same way.
    if (taken[5] === true) WeakSetPrototypeAdd(connectionLost, error);
  }
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

// --- Request bodies sent through a stub's fetch().

// The bodies being sent, by the host's id: { reader, waiting, done }.
const sending = { __proto__: null };

// Reads `stream` into request body `id` (native.openRequestBody, already given to the call).
export function sendRequestBody(id, stream) {
  let reader;
  try {
    reader = ReflectApply(getReader, stream, []);
  } catch {
    native.requestBodyEnd(id, false);
    return;
  }
  const pump = { __proto__: null, reader, waiting: false, done: false };
  sending[id] = pump;
  sendNext(id, pump);
}

function endRequestBody(id, pump, ok) {
  pump.done = true;
  delete sending[id];
  // As workerd's, the callee's body ends there even when the caller's stream failed.
  native.requestBodyEnd(id, ok);
}

function cancelRequestReader(pump, reason) {
  try {
    PromisePrototypeThen(ReflectApply(readerCancel, pump.reader, [reason]), undefined, () => {});
  } catch {
    // A stream that cannot be cancelled has nothing more to give.
  }
}

function sendNext(id, pump) {
  let read;
  try {
    read = ReflectApply(readerRead, pump.reader, []);
  } catch {
    endRequestBody(id, pump, true);
    return;
  }
  PromisePrototypeThen(read, (result) => {
    if (pump.done) return;
    if (result.done) {
      endRequestBody(id, pump, true);
      return;
    }
    let verdict;
    try {
      let chunk = result.value;
      if (chunk instanceof ArrayBufferCtor) chunk = new Uint8ArrayCtor(chunk);
      verdict = native.requestBodyChunk(id, chunk);
    } catch (error) {
      endRequestBody(id, pump, true);
      cancelRequestReader(pump, error);
      return;
    }
    if (verdict === 1) {
      sendNext(id, pump);
    } else if (verdict === 2) {
      pump.waiting = true;
    } else {
      pump.done = true;
      delete sending[id];
      cancelRequestReader(pump, undefined);
    }
  }, (error) => {
    if (pump.done) return;
    if (WeakSetPrototypeHas(connectionLost, error)) {
      // As workerd's: a client's upload passed on fails the callee's body as it failed here.
      pump.done = true;
      delete sending[id];
      native.requestBodyEnd(id, false, true);
      return;
    }
    endRequestBody(id, pump, true);
  });
}

// Called by the host: the callee drained what was sent (send on), or cancelled the body.
export function requestBodySignal(id, cancelled) {
  const pump = sending[id];
  if (pump === undefined) return;
  if (cancelled) {
    pump.done = true;
    delete sending[id];
    cancelRequestReader(pump, undefined);
    return;
  }
  if (pump.waiting) {
    pump.waiting = false;
    sendNext(id, pump);
  }
}
