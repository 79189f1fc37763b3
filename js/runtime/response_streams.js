// Streamed response bodies: a fetch() handler answering the network front with a Response whose
// body is a stream settles its event at once (the client gets the status and headers), then this
// module reads the stream and hands each chunk to the host (natives in
// src/runtime/response_stream_natives.cc), which sends it through the object's output gate.
// Backpressure: the host says when to stop reading (responseChunk → 2) and when to go on
// (responseStreamSignal(id, false)); a client that goes away cancels the stream
// (responseStreamSignal(id, true)).
import { native } from './native.js';
import {
  ArrayBufferCtor, ObjectGetPrototypeOf, PromisePrototypeThen, ReflectApply, Uint8ArrayCtor,
} from './primordials.js';
import { detachResponseStream } from './prelude_hooks.js';

// Captured before user code runs: a tenant may replace the streams' methods.
const ReadableStreamCtor = globalThis.ReadableStream;
const getReader = ReadableStreamCtor.prototype.getReader;
const readerPrototype = ObjectGetPrototypeOf(ReflectApply(getReader, new ReadableStreamCtor(), []));
const readerRead = readerPrototype.read;
const readerCancel = readerPrototype.cancel;

// The streams being read, by the host's id: { reader, waiting, done }.
const pumps = { __proto__: null };

// When `value` is a Response whose body is a stream: settles the event with it, starts writing
// its body, and returns true. Else returns false and the caller settles as usual. Throws (before
// settling) for a body already used or locked.
export function streamResponse(value, slot, eventId) {
  const detached = detachResponseStream(value);
  if (detached === null) return false;
  const reader = ReflectApply(getReader, detached[0], []);
  const id = native.openResponseStream(slot, eventId, detached[1]);
  native.eventSettled(slot, eventId, true, value);
  const pump = { __proto__: null, reader, waiting: false, done: false };
  if (id === 0) {
    // The event is gone (its object reset): nobody reads the body.
    cancelReader(pump, undefined);
    return true;
  }
  pumps[id] = pump;
  readNext(id, pump);
  return true;
}

function readNext(id, pump) {
  let read;
  try {
    read = ReflectApply(readerRead, pump.reader, []);
  } catch (error) {
    finish(id, pump, false, error);
    return;
  }
  PromisePrototypeThen(read, (result) => {
    if (pump.done) return;
    if (result.done) {
      finish(id, pump, true);
      return;
    }
    let verdict;
    try {
      let chunk = result.value;
      if (chunk instanceof ArrayBufferCtor) chunk = new Uint8ArrayCtor(chunk);
      verdict = native.responseChunk(id, chunk);
    } catch (error) {
      // Not bytes: the body fails, as workerd's does.
      finish(id, pump, false, error);
      cancelReader(pump, error);
      return;
    }
    if (verdict === 1) {
      readNext(id, pump);
    } else if (verdict === 2) {
      pump.waiting = true;
    } else {
      // Nobody reads the body any more (the client left, or the object was reset).
      pump.done = true;
      delete pumps[id];
      cancelReader(pump, undefined);
    }
  }, (error) => {
    if (!pump.done) finish(id, pump, false, error);
  });
}

function finish(id, pump, ok, error) {
  pump.done = true;
  delete pumps[id];
  native.responseEnd(id, ok, error);
}

function cancelReader(pump, reason) {
  try {
    PromisePrototypeThen(ReflectApply(readerCancel, pump.reader, [reason]), undefined, () => {});
  } catch {
    // A stream that cannot be cancelled has nothing more to give.
  }
}

// Called by the host: the client drained what it was sent (read on), or is gone (`cancelled`:
// the stream is cancelled, so that its producer stops).
export function responseStreamSignal(id, cancelled) {
  const pump = pumps[id];
  if (pump === undefined) return;
  if (cancelled) {
    pump.done = true;
    delete pumps[id];
    cancelReader(pump, undefined);
    return;
  }
  if (pump.waiting) {
    pump.waiting = false;
    readNext(id, pump);
  }
}
