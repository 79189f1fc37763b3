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
//
// The same channels carry the ReadableStreams passed over RPC (rpc_values.js), as arguments or in
// a result: the sender pumps its stream with sendRpcStream, the receiver reads a stubBodyStream(id,
// true). As on workerd, the receiver's stream then fails with one error whatever went wrong on
// the sender's side ("ReadableStream received over RPC disconnected prematurely."), and the
// sender's stream is cancelled with "Network connection lost." when the receiver cancels.
//
// A stub body that its reader drops unread (garbage) is cancelled when it is collected, so that
// its producer stops and the objects on both ends are not kept for it.
import { native } from './native.js';
import {
  ArrayBufferCtor, ArrayBufferPrototypeSlice, ErrorCtor, EvalErrorCtor, FinalizationRegistryCtor,
  FinalizationRegistryPrototypeRegister, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf,
  PromiseCtor, PromisePrototypeThen, RangeErrorCtor, ReferenceErrorCtor, ReflectApply, SyntaxErrorCtor,
  TypeErrorCtor, URIErrorCtor, Uint8ArrayCtor, WeakSetCtor, WeakSetPrototypeAdd, WeakSetPrototypeHas,
} from './primordials.js';

// Captured before user code runs: a tenant may replace the streams' methods.
const ReadableStreamCtor = globalThis.ReadableStream;
let controllerPrototype = null;
new ReadableStreamCtor({
  type: 'bytes',
  start(controller) { controllerPrototype = ObjectGetPrototypeOf(controller); },
});
const controllerEnqueue = controllerPrototype.enqueue;
const controllerClose = controllerPrototype.close;
const controllerError = controllerPrototype.error;
const getReader = ReadableStreamCtor.prototype.getReader;
const readerPrototype = ObjectGetPrototypeOf(ReflectApply(getReader, new ReadableStreamCtor(), []));
const readerRead = readerPrototype.read;
const readerCancel = readerPrototype.cancel;
const readerReleaseLock = readerPrototype.releaseLock;
const ReadableStreamPrototype = ReadableStreamCtor.prototype;
const lockedGetter = ObjectGetOwnPropertyDescriptor(ReadableStreamPrototype, 'locked').get;

const WritableStreamCtor = globalThis.WritableStream;
const WritableStreamPrototype = WritableStreamCtor.prototype;
const writableLockedGetter = ObjectGetOwnPropertyDescriptor(WritableStreamPrototype, 'locked').get;
const getWriter = WritableStreamPrototype.getWriter;
const writerPrototype = ObjectGetPrototypeOf(ReflectApply(getWriter, new WritableStreamCtor(), []));
const writerWrite = writerPrototype.write;
const writerClose = writerPrototype.close;
const writerAbort = writerPrototype.abort;
const writerReleaseLock = writerPrototype.releaseLock;

const RPC_DISCONNECTED = 'ReadableStream received over RPC disconnected prematurely.';
const RPC_SINK_DISCONNECTED = 'WritableStream received over RPC disconnected prematurely.';
const RPC_CONNECTION_LOST = 'Network connection lost.';

// The error classes a thrown error keeps across stub.fetch() (by its name); others become Error.
export const ERROR_CLASSES = {
  __proto__: null,
  Error: ErrorCtor,
  TypeError: TypeErrorCtor,
  RangeError: RangeErrorCtor,
  SyntaxError: SyntaxErrorCtor,
  ReferenceError: ReferenceErrorCtor,
  EvalError: EvalErrorCtor,
  URIError: URIErrorCtor,
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

function pull(id, controller, rpc) {
  const taken = native.stubBodyTake(id);
  const bytes = taken[0];
  const state = taken[1];
  if (bytes !== null) ReflectApply(controllerEnqueue, controller, [new Uint8ArrayCtor(bytes)]);
  if (state === 1) {
    ReflectApply(controllerClose, controller, []);
    return undefined;
  }
  if (state === 2) {
    ReflectApply(controllerError, controller, [rpc ? new ErrorCtor(RPC_DISCONNECTED) : bodyError(taken)]);
    return undefined;
  }
  if (state === 3 && rpc) {
    ReflectApply(controllerError, controller, [new ErrorCtor(RPC_DISCONNECTED)]);
    return undefined;
  }
  if (state === 3) {
    // The host forgot the body: the caller's object was reset while it was read.
    ReflectApply(controllerError, controller, [new ErrorCtor('The response body was cancelled.')]);
    return undefined;
  }
  if (bytes === null) {
    // Nothing came yet: the host's signal pulls again (in a microtask, not inside the host's
    // call), and that pull's enqueue(), close() or error() settles the read waiting. No promise
    // is returned for the stream to wait on: web-streams resolves a promise of its own with what
    // pull() returns, which looks `then` up on it, and a tenant may have replaced
    // Promise.prototype.then. For the same reason the callback returns nothing.
    PromisePrototypeThen(new PromiseCtor((resolve) => { waiting[id] = resolve; }), () => {
      pull(id, controller, rpc);
    });
  }
  return undefined;
}

// Stub bodies nobody reads any more are cancelled when collected (an id already forgotten is
// ignored by the host).
const unreadStubBodies = FinalizationRegistryCtor !== null
  ? new FinalizationRegistryCtor((id) => {
    delete waiting[id];
    native.stubBodyCancel(id);
  })
  : null;

// `rpc`: a ReadableStream received over RPC (see the top of this file).
export function stubBodyStream(id, rpc = false) {
  const stream = new ReadableStreamCtor({
    type: 'bytes',
    pull(controller) { return pull(id, controller, rpc); },
    cancel() {
      delete waiting[id];
      native.stubBodyCancel(id);
    },
  });
  // Registered with the captured register(): an app may replace FinalizationRegistry's members.
  if (unreadStubBodies !== null) FinalizationRegistryPrototypeRegister(unreadStubBodies, stream, id);
  return stream;
}

// Whether `value` is a ReadableStream of the prelude (not a user's look-alike).
export function isReadableStream(value) {
  if (value === null || typeof value !== 'object') return false;
  for (let proto = ObjectGetPrototypeOf(value); proto !== null; proto = ObjectGetPrototypeOf(proto)) {
    if (proto === ReadableStreamPrototype) return true;
  }
  return false;
}

// Locks `stream` for sending over RPC: its reader, or throws workerd's TypeError for a stream
// that is already locked (or that is not a real stream).
export function lockRpcStream(stream) {
  let locked;
  try {
    locked = ReflectApply(lockedGetter, stream, []);
  } catch {
    throw new TypeErrorCtor('Could not serialize object of type "ReadableStream".');
  }
  if (locked) throw new TypeErrorCtor('The ReadableStream has been locked to a reader.');
  return ReflectApply(getReader, stream, []);
}

// Sends what `reader` (lockRpcStream) reads into channel `id` (native.openRequestBody, already
// given to the message that carries it).
export function sendRpcStream(id, reader) {
  const pump = { __proto__: null, reader, waiting: false, done: false, rpc: true };
  sending[id] = pump;
  sendNext(id, pump);
}

// Whether `value` is a WritableStream of the prelude.
export function isWritableStream(value) {
  if (value === null || typeof value !== 'object') return false;
  for (let proto = ObjectGetPrototypeOf(value); proto !== null; proto = ObjectGetPrototypeOf(proto)) {
    if (proto === WritableStreamPrototype) return true;
  }
  return false;
}

// Locks `stream` (a WritableStream) for sending over RPC: its writer.
export function lockRpcSink(stream) {
  let locked;
  try {
    locked = ReflectApply(writableLockedGetter, stream, []);
  } catch {
    throw new TypeErrorCtor('Could not serialize object of type "WritableStream".');
  }
  if (locked) throw new TypeErrorCtor('The WritableStream has been locked to a writer.');
  return ReflectApply(getWriter, stream, []);
}

// The sender's side of a WritableStream sent over RPC: what the receiver writes into channel `id`
// (native.openRpcSink, a stub body of this side) is written to `writer` (as ArrayBuffers, as on
// workerd), a chunk at a time: the next is taken only once the sink took the last, so the
// receiver's writes wait for the sink (backpressure). The receiver's close closes it; its abort,
// or the receiver going away, aborts it; a sink that fails cancels the channel, which fails the
// receiver's writes.
export function drainRpcSink(id, writer) {
  const fail = () => {
    try {
      PromisePrototypeThen(ReflectApply(writerAbort, writer, [new ErrorCtor(RPC_SINK_DISCONNECTED)]),
        undefined, () => {});
    } catch {
      // Already errored.
    }
  };
  const step = () => {
    const taken = native.stubBodyTake(id);
    const bytes = taken[0];
    const state = taken[1];
    const after = () => {
      if (state === 1) {
        PromisePrototypeThen(ReflectApply(writerClose, writer, []), undefined, () => {});
      } else if (state === 2 || state === 3) {
        fail();
      } else if (bytes !== null) {
        step();
      } else {
        waiting[id] = step;
      }
    };
    if (bytes === null) {
      after();
      return;
    }
    let written;
    try {
      written = ReflectApply(writerWrite, writer, [ArrayBufferPrototypeSlice(bytes, 0)]);
    } catch {
      native.stubBodyCancel(id);
      return;
    }
    PromisePrototypeThen(written, after, () => native.stubBodyCancel(id));
  };
  step();
}

// Receivers' WritableStreams nobody holds any more end their channel (failed) when collected.
const unwrittenSinks = FinalizationRegistryCtor !== null
  ? new FinalizationRegistryCtor((id) => native.requestBodyEnd(id, false)) : null;

// The writes waiting for the sender's sink to drain, by channel id: (cancelled) => void.
const sinkWaiting = { __proto__: null };

// The receiver's side of a WritableStream sent over RPC: writes go to channel `id` (a request
// body this side produces), bytes as they are, strings as UTF-8; a write waits while the channel
// is full. A chunk of another kind is refused with the host's TypeError.
export function rpcWritable(id) {
  const writable = new WritableStreamCtor({
    write(chunk) {
      const bytes = chunk instanceof ArrayBufferCtor ? new Uint8ArrayCtor(chunk) : chunk;
      const verdict = native.requestBodyChunk(id, bytes);
      if (verdict === 1) return undefined;
      if (verdict === 0) throw new ErrorCtor(RPC_CONNECTION_LOST);
      return new PromiseCtor((resolve, reject) => {
        sinkWaiting[id] = (cancelled) => {
          if (cancelled) reject(new ErrorCtor(RPC_CONNECTION_LOST));
          else resolve();
        };
      });
    },
    close() {
      native.requestBodyEnd(id, true);
    },
    abort() {
      native.requestBodyEnd(id, false);
    },
  });
  if (unwrittenSinks !== null) FinalizationRegistryPrototypeRegister(unwrittenSinks, writable, id);
  return writable;
}

// Gives up a WritableStream's channel `id` of a message that was not sent; it is unlocked again.
export function abandonRpcSink(id, writer) {
  native.stubBodyCancel(id);
  try {
    ReflectApply(writerReleaseLock, writer, []);
  } catch {
    // Nothing to release.
  }
}

// Gives up channel `id` of a message that was not sent; the stream is unlocked again.
export function abandonRpcStream(id, reader) {
  native.requestBodyEnd(id, false);
  try {
    ReflectApply(readerReleaseLock, reader, []);
  } catch {
    // A reader with a read under way stays locked; the stream is the sender's to cancel.
  }
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
  const pump = { __proto__: null, reader, waiting: false, done: false, rpc: false };
  sending[id] = pump;
  sendNext(id, pump);
}

// `failed`: the sender's stream failed (or gave a chunk that is not bytes).
function endRequestBody(id, pump, failed) {
  pump.done = true;
  delete sending[id];
  // As workerd's, the callee's request body ends there even when the caller's stream failed; a
  // stream sent over RPC fails instead.
  native.requestBodyEnd(id, !(failed && pump.rpc));
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
      endRequestBody(id, pump, false);
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
      cancelRequestReader(pump, cancelReason(pump));
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

// What the sender's stream is cancelled with when the receiver no longer reads: nothing for a
// request body (as workerd), workerd's error for a stream sent over RPC.
function cancelReason(pump) {
  return pump.rpc ? new ErrorCtor(RPC_CONNECTION_LOST) : undefined;
}

// Called by the host: the callee drained what was sent (send on), or cancelled the body.
export function requestBodySignal(id, cancelled) {
  const sink = sinkWaiting[id];
  if (sink !== undefined) {
    delete sinkWaiting[id];
    sink(cancelled);
    return;
  }
  const pump = sending[id];
  if (pump === undefined) return;
  if (cancelled) {
    pump.done = true;
    delete sending[id];
    cancelRequestReader(pump, cancelReason(pump));
    return;
  }
  if (pump.waiting) {
    pump.waiting = false;
    sendNext(id, pump);
  }
}
