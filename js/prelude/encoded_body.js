// A fetched body kept as workerd keeps one: the bytes as they came, under a Content-Encoding of
// exactly "gzip" or "br", decoded only when the body is read. Until a read starts, a Response
// sent with that same Content-Encoding sends the received bytes as they are, under the length
// they came with (response.js), instead of decoding them and compressing them again: workerd's
// system streams do the same (an encoded stream pumped to an output of its own encoding).
// clone() and the body's tee() keep that for both branches (teeEncoded); a stream piped from the
// body (pipeThrough()) is decoded.
import { zlibPipe } from './compression_streams.js';
import { ReadableStream, isDisturbed, setCustomTee } from './streams.js';

// Captured before user code runs: a tenant may replace the streams' methods.
const ReflectApply = Reflect.apply;
const getReader = ReadableStream.prototype.getReader;
const pipeThrough = ReadableStream.prototype.pipeThrough;
const tee = ReadableStream.prototype.tee;
const cancelStream = ReadableStream.prototype.cancel;
const lockedGetter = Object.getOwnPropertyDescriptor(ReadableStream.prototype, 'locked').get;
const readerPrototype = Object.getPrototypeOf(ReflectApply(getReader, new ReadableStream(), []));
const readerRead = readerPrototype.read;
const readerCancel = readerPrototype.cancel;
const PromisePrototypeThen = Function.prototype.call.bind(Promise.prototype.then);
const WeakMapGet = Function.prototype.call.bind(WeakMap.prototype.get);
const WeakMapSet = Function.prototype.call.bind(WeakMap.prototype.set);

// A decoded stream made here → { raw, encoding, started }: `raw` the stream of received bytes,
// `started` once the decoding began or the stream was cancelled or handed over.
const sources = new WeakMap();

// The decoder's own failures, as workerd reports them for a fetched body.
const INCOMPLETE = 'Called close() on a decompression stream with incomplete data';
const DECODE_FAILURES = new Set([
  'Decompression failed.', 'Trailing bytes after end of compressed data', INCOMPLETE,
]);

// Whether a Content-Encoding value names an encoding kept encoded here (workerd's: exactly these).
export function isKeptEncoding(value) {
  return value === 'gzip' || value === 'br';
}

// A byte stream of `raw` (a ReadableStream of bytes encoded as `encoding`, "gzip" or "br")
// decoded, read from `raw` only when its own reader asks.
export function decodedBody(raw, encoding) {
  const entry = { raw, encoding, started: false };
  let reader = null;
  const failure = (error) => {
    if (error instanceof TypeError && DECODE_FAILURES.has(error.message)) {
      const name = encoding === 'gzip' ? 'Gzip' : 'Brotli';
      return new TypeError(error.message === INCOMPLETE
        ? `${name} compressed stream ended prematurely.` : `${name} decompression failed.`);
    }
    return error;
  };
  const stream = new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (reader === null) {
        entry.started = true;
        const decoded = ReflectApply(pipeThrough, entry.raw, [zlibPipe(false, encoding)]);
        reader = ReflectApply(getReader, decoded, []);
      }
      return PromisePrototypeThen(ReflectApply(readerRead, reader, []), (result) => {
        if (!result.done) {
          controller.enqueue(result.value);
          return;
        }
        controller.close();
        // A BYOB read waiting for bytes ends (done) only once its request is answered with none.
        const request = controller.byobRequest;
        if (request !== null) request.respond(0);
      }, (error) => {
        controller.error(failure(error));
      });
    },
    cancel(reason) {
      entry.started = true;
      if (reader !== null) return ReflectApply(readerCancel, reader, [reason]);
      return ReflectApply(cancelStream, entry.raw, [reason]);
    },
  }, { highWaterMark: 0 });
  WeakMapSet(sources, stream, entry);
  // Its tee() keeps the received bytes in both branches, and locks it, as any tee() does.
  setCustomTee(stream, () => {
    const second = teeEncoded(stream);
    if (second === null) return null;
    const first = decodedBody(entry.raw, encoding);
    entry.started = true;
    ReflectApply(getReader, stream, []);
    return [first, second];
  });
  return stream;
}

// The entry of `stream` when it is a decoded body nobody has read, locked or cancelled yet; else
// null.
function untouched(stream) {
  if (stream === null) return null;
  const entry = WeakMapGet(sources, stream);
  if (entry === undefined || entry.started) return null;
  if (ReflectApply(lockedGetter, stream, []) || isDisturbed(stream)) return null;
  return entry;
}

// When `stream` is an untouched decoded body encoded as `encoding`: its received bytes, which the
// caller takes over (the decoded stream is of no further use); else null.
export function takeEncoded(stream, encoding) {
  const entry = untouched(stream);
  if (entry === null || entry.encoding !== encoding) return null;
  entry.started = true;
  return entry.raw;
}

// When `stream` is an untouched decoded body: another one of the same received bytes (the two
// share them through a tee of the received stream, so that either may still be sent as it came);
// else null.
export function teeEncoded(stream) {
  const entry = untouched(stream);
  if (entry === null) return null;
  const [mine, theirs] = ReflectApply(tee, entry.raw, []);
  entry.raw = mine;
  return decodedBody(theirs, entry.encoding);
}
