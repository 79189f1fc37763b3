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

const { AbortError } = errors;
const { WritableStream } = globalThis;

// Runs a Writable's or Duplex's callback out of a promise reaction; what it throws destroys
// `stream` (a reaction has no caller to throw to).
function runStreamCallback(stream, callback, error) {
  try {
    callback(error);
  } catch (thrown) {
    Stream.destroy(stream, thrown);
  }
}

// A WritableStream whose writes go to the Writable: a write waits for 'drain' when the Writable
// asks for it, close() ends the Writable and settles when it has finished, abort() destroys it.
export function writableToWeb(streamWritable) {
  if (!streamWritable || typeof streamWritable.write !== 'function' ||
      typeof streamWritable.on !== 'function') {
    throw new ERR_INVALID_ARG_TYPE('streamWritable', 'stream.Writable', streamWritable);
  }
  if (Stream.isDestroyed(streamWritable) || !Stream.isWritable(streamWritable)) {
    const closed = new WritableStream();
    closed.close();
    return closed;
  }
  const highWaterMark = streamWritable.writableHighWaterMark;
  const strategy = streamWritable.writableObjectMode ? new CountQueuingStrategy({ highWaterMark }) : { highWaterMark };
  let controller;
  let drained = null; // {resolve, reject} while a write waits for 'drain'
  let closing = null; // {resolve, reject} while close() waits for the end
  const stopWatching = Stream.finished(streamWritable, (error) => {
    stopWatching();
    streamWritable.on('error', () => {});
    if (error !== null && error !== undefined) {
      drained?.reject(error);
      closing?.reject(error);
      closing = null;
      controller.error(error);
    } else if (closing !== null) {
      closing.resolve();
      closing = null;
    } else {
      controller.error(new AbortError());
    }
  });
  streamWritable.on('drain', () => drained?.resolve());
  return new WritableStream({
    start(c) { controller = c; },
    write(chunk) {
      if (streamWritable.writableNeedDrain || !streamWritable.write(chunk)) {
        return new Promise((resolve, reject) => { drained = { resolve, reject }; })
          .finally(() => { drained = null; });
      }
      return undefined;
    },
    abort(reason) { Stream.destroy(streamWritable, reason); },
    close() {
      if (closing === null && !streamWritable.writableEnded) {
        const done = new Promise((resolve, reject) => { closing = { resolve, reject }; });
        streamWritable.end();
        return done;
      }
      return undefined;
    },
  }, strategy);
}

// A Writable whose writes go to the WritableStream (each waiting for its writer to be ready);
// end() closes the stream, destroy() aborts it (or closes it, without an error).
export function writableFromWeb(writableStream, options = {}) {
  if (!(writableStream instanceof WritableStream)) {
    throw new ERR_INVALID_ARG_TYPE('writableStream', 'WritableStream', writableStream);
  }
  validateObject(options, 'options');
  const { highWaterMark, decodeStrings = true, objectMode = false, signal } = options;
  validateBoolean(objectMode, 'options.objectMode');
  validateBoolean(decodeStrings, 'options.decodeStrings');
  const writer = writableStream.getWriter();
  let closed = false;
  const settle = (callback, error) => runStreamCallback(writable, callback, error);
  const writable = new Stream.Writable({
    highWaterMark,
    objectMode,
    decodeStrings,
    signal,
    write(chunk, encoding, callback) {
      const bytes = typeof chunk === 'string' && decodeStrings && !objectMode
        ? new Uint8Array(Buffer.from(chunk, encoding)) : chunk;
      const done = (error) => settle(callback, error);
      writer.ready.then(() => writer.write(bytes).then(() => done(), done), done);
    },
    destroy(error, callback) {
      const done = () => {
        try {
          callback(error);
        } catch (thrown) {
          queueMicrotask(() => { throw thrown; });
        }
      };
      if (closed) done();
      else if (error !== null && error !== undefined) writer.abort(error).then(done, done);
      else writer.close().then(done, done);
    },
    final(callback) {
      if (!closed) writer.close().then(() => settle(callback), (error) => settle(callback, error));
    },
  });
  writer.closed.then(() => { closed = true; }, (error) => {
    closed = true;
    Stream.destroy(writable, error);
  });
  return writable;
}

// Duplex.toWeb(): both halves, the writable first, as workerd builds them; a half the Duplex
// does not have (or no longer has) is a closed stream.
export function duplexToWeb(duplex) {
  if (duplex === null || duplex === undefined || typeof duplex._writableState !== 'object' ||
      typeof duplex._readableState !== 'object') {
    throw new ERR_INVALID_ARG_TYPE('duplex', 'stream.Duplex', duplex);
  }
  const writable = writableToWeb(duplex);
  const readable = readableToWeb(duplex);
  return { writable, readable };
}

// Duplex.fromWeb(): a Duplex that reads `pair.readable` as it is read and writes to
// `pair.writable` (each write waiting for its writer to be ready); end() closes the writable
// side, destroy() cancels the readable side and aborts the writable one (or closes it, without an
// error). The options are Readable's and Writable's (encoding, objectMode, decodeStrings,
// highWaterMark, allowHalfOpen, signal), as in Node.js.
export function duplexFromWeb(pair, options = {}) {
  validateObject(pair, 'pair');
  const { readable: readableStream, writable: writableStream } = pair;
  if (!(readableStream instanceof ReadableStream)) {
    throw new ERR_INVALID_ARG_TYPE('pair.readable', 'ReadableStream', readableStream);
  }
  if (!(writableStream instanceof WritableStream)) {
    throw new ERR_INVALID_ARG_TYPE('pair.writable', 'WritableStream', writableStream);
  }
  validateObject(options, 'options');
  const {
    allowHalfOpen = false, decodeStrings = true, encoding, highWaterMark, objectMode = false, signal,
  } = options;
  if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
    throw new ERR_INVALID_ARG_VALUE('options.encoding', encoding);
  }
  validateBoolean(objectMode, 'options.objectMode');
  validateBoolean(decodeStrings, 'options.decodeStrings');
  const reader = readableStream.getReader();
  const writer = writableStream.getWriter();
  let readableClosed = false;
  let writableClosed = false;
  const settle = (callback, error) => runStreamCallback(duplex, callback, error);
  const duplex = new Stream.Duplex({
    allowHalfOpen,
    decodeStrings,
    encoding,
    highWaterMark,
    objectMode,
    signal,
    read() {
      reader.read().then(
        ({ done, value }) => duplex.push(done ? null : value),
        (error) => Stream.destroy(duplex, error));
    },
    write(chunk, chunkEncoding, callback) {
      const bytes = typeof chunk === 'string' && decodeStrings && !objectMode
        ? new Uint8Array(Buffer.from(chunk, chunkEncoding)) : chunk;
      const done = (error) => settle(callback, error);
      writer.ready.then(() => writer.write(bytes).then(() => done(), done), done);
    },
    final(callback) {
      if (!writableClosed) writer.close().then(() => settle(callback), (error) => settle(callback, error));
    },
    destroy(error, callback) {
      const done = () => {
        try {
          callback(error);
        } catch (thrown) {
          queueMicrotask(() => { throw thrown; });
        }
      };
      const endings = [];
      if (!writableClosed) {
        endings.push(error !== null && error !== undefined ? writer.abort(error) : writer.close());
      }
      if (!readableClosed) endings.push(reader.cancel(error));
      Promise.all(endings).then(done, done);
    },
  });
  writer.closed.then(() => { writableClosed = true; }, (error) => {
    writableClosed = true;
    readableClosed = true;
    Stream.destroy(duplex, error);
  });
  reader.closed.then(() => { readableClosed = true; }, (error) => {
    readableClosed = true;
    writableClosed = true;
    Stream.destroy(duplex, error);
  });
  return duplex;
}
