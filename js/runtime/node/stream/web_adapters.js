// Readable.toWeb() and Readable.fromWeb(): a Node.js Readable read through a ReadableStream and
// the other way round, with the errors and the flow control workerd's node:stream has.
import { Buffer } from 'buffer';
import Stream from 'readable-stream/lib/stream.js';
import errors from 'readable-stream/lib/ours/errors.js';
import validators from 'readable-stream/lib/internal/validators.js';

const { ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE } = errors.codes;
const { validateObject, validateBoolean } = validators;
// The Web streams as the runtime found them when this bundle was built.
const { ReadableStream, CountQueuingStrategy, ByteLengthQueuingStrategy } = globalThis;

// A ReadableStream of the Readable's chunks (bytes as Uint8Array copies, unless in object mode).
// The Readable is paused whenever the stream's queue is full, and destroyed if it is cancelled.
export function readableToWeb(streamReadable, options = {}) {
  if (streamReadable === null || streamReadable === undefined ||
      typeof streamReadable._readableState !== 'object') {
    throw new ERR_INVALID_ARG_TYPE('streamReadable', 'stream.Readable', streamReadable);
  }
  if (Stream.isDestroyed(streamReadable) || !Stream.isReadable(streamReadable)) {
    const closed = new ReadableStream();
    closed.cancel();
    return closed;
  }
  const objectMode = streamReadable.readableObjectMode;
  const highWaterMark = streamReadable.readableHighWaterMark;
  const strategy = options?.strategy ||
    (objectMode ? new CountQueuingStrategy({ highWaterMark }) : new ByteLengthQueuingStrategy({ highWaterMark }));
  let controller;
  let cancelled = false;
  streamReadable.pause();
  const stopWatching = Stream.finished(streamReadable, (error) => {
    stopWatching();
    // A late 'error' from a stream that already ended must not go uncaught.
    streamReadable.on('error', () => {});
    if (error && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      controller.error(error);
    } else if (!cancelled) {
      controller.close();
    }
  });
  streamReadable.on('data', (chunk) => {
    controller.enqueue(!objectMode && Buffer.isBuffer(chunk) ? new Uint8Array(chunk) : chunk);
    if (controller.desiredSize <= 0) streamReadable.pause();
  });
  return new ReadableStream({
    start(c) { controller = c; },
    pull() { streamReadable.resume(); },
    cancel(reason) {
      cancelled = true;
      Stream.destroy(streamReadable, reason);
    },
  }, strategy);
}

// A Readable that reads the ReadableStream as it is read, and cancels it when destroyed.
export function readableFromWeb(readableStream, options = {}) {
  if (!(readableStream instanceof ReadableStream)) {
    throw new ERR_INVALID_ARG_TYPE('readableStream', 'ReadableStream', readableStream);
  }
  validateObject(options, 'options');
  const { highWaterMark, encoding, objectMode = false, signal } = options;
  if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
    throw new ERR_INVALID_ARG_VALUE('options.encoding', encoding);
  }
  validateBoolean(objectMode, 'options.objectMode');
  const reader = readableStream.getReader();
  let closed = false;
  const readable = new Stream.Readable({
    objectMode,
    highWaterMark,
    encoding,
    signal,
    read() {
      reader.read().then(
        ({ done, value }) => readable.push(done ? null : value),
        (error) => Stream.destroy(readable, error));
    },
    destroy(error, callback) {
      const finish = () => {
        try {
          callback(error);
        } catch (thrown) {
          // Out of the promise reaction, as an uncaught error rather than a rejection.
          queueMicrotask(() => { throw thrown; });
        }
      };
      if (closed) finish();
      else reader.cancel(error).then(finish, finish);
    },
  });
  reader.closed.then(() => { closed = true; }, (error) => {
    closed = true;
    Stream.destroy(readable, error);
  });
  return readable;
}
