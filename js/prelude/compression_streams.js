// CompressionStream and DecompressionStream, as workerd has them: TransformStreams whose ends are
// a byte pipe through a zlib stream (compression_natives.cc), for the formats "gzip", "deflate"
// and "deflate-raw". Decompression is strict, as under workerd's strict_compression_checks
// (on since 2023-08-01): trailing bytes after the end of the data, and closing before it, are
// TypeErrors.
//
// The output comes in pieces of at most 64 KiB. Unlike workerd, which compresses each write at
// once into an unbounded buffer, a write settles once its output is queued for the reader and at
// most QUEUE_LIMIT bytes of it wait unread: a decompression bomb is expanded only at the reader's
// pace.
import native from './native.js';
import { ReadableStream, TransformStream, WritableStream, setTransformEnds } from './streams.js';
import { chunkView } from './webidl.js';
import { utf8Encode } from './encoding.js';

const { zlibCreate, zlibPush, zlibPump, zlibRelease } = native;

const QUEUE_LIMIT = 16 << 20;
const INPUT_PIECE = 1 << 20;
const FORMAT_ERROR = "The compression format must be either 'deflate', 'deflate-raw' or 'gzip'.";

// The two ends of one zlib stream (`compress`: deflate, else inflate), or with format "br" of a
// Brotli stream (the runtime's own bodies: response.js, encoded_body.js).
export function zlibPipe(compress, format) {
  const handle = zlibCreate(compress, format);
  let readController;
  let writeController;
  // Resolves the producer waiting for the reader to take queued output.
  let resume = null;
  // The error that ended the pipe, once one has.
  let failure = null;
  let done = false;

  const wakeProducer = () => {
    if (resume !== null) {
      const wake = resume;
      resume = null;
      wake();
    }
  };
  const end = () => {
    done = true;
    zlibRelease(handle);
  };
  const fail = (error) => {
    if (failure === null) failure = error;
    try {
      readController.error(error);
    } catch {
      // Already closed or errored.
    }
    end();
    wakeProducer();
    return error;
  };

  // Queues the output of the input pushed so far (and of the end, with `finish`), waiting while
  // QUEUE_LIMIT bytes wait unread.
  const produce = async (finish) => {
    for (;;) {
      if (failure !== null) throw failure;
      let piece;
      try {
        piece = zlibPump(handle, finish);
      } catch (error) {
        throw fail(error);
      }
      if (piece === null) return;
      readController.enqueue(piece);
      while (failure === null && -readController.desiredSize >= QUEUE_LIMIT) {
        await new Promise((resolve) => { resume = resolve; });
      }
    }
  };

  const readable = new ReadableStream({
    type: 'bytes',
    start(controller) {
      readController = controller;
    },
    pull() {
      wakeProducer();
    },
    cancel(reason) {
      if (failure === null) failure = reason;
      try {
        writeController.error(reason);
      } catch {
        // The writable has already ended.
      }
      end();
      wakeProducer();
    },
  }, { highWaterMark: 0 });

  const writable = new WritableStream({
    start(controller) {
      writeController = controller;
    },
    async write(chunk) {
      // Whatever throws here ends the pipe, reader included: a chunk whose buffer was detached
      // after the write call (here, or between two pieces of a large one) failed only the
      // writer, and left the reader waiting forever.
      try {
        // Strings pass as UTF-8, as in workerd.
        const view = typeof chunk === 'string' ? utf8Encode(chunk) : chunkView(chunk, true);
        if (view === null) {
          // workerd rejects only this write and goes on; here the pipe ends with the error.
          throw new TypeError('This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.');
        }
        if (failure !== null) throw failure;
        // The native takes (and copies) at most INPUT_PIECE bytes at once.
        for (let at = 0; at < view.byteLength; at += INPUT_PIECE) {
          zlibPush(handle, view.subarray(at, Math.min(at + INPUT_PIECE, view.byteLength)));
          await produce(false);
        }
      } catch (error) {
        throw fail(error);
      }
    },
    async close() {
      await produce(true);
      if (done) return;
      end();
      readController.close();
      // A BYOB read waiting for bytes ends (done) only once its request is answered with none.
      const request = readController.byobRequest;
      if (request !== null) request.respond(0);
    },
    abort(reason) {
      fail(reason);
    },
  });
  return { readable, writable };
}

// The format argument as workerd's constructors convert it (a string, which must be one of the
// three formats).
function formatOf(args, className) {
  if (args.length === 0) {
    throw new TypeError(`Failed to construct '${className}': constructor parameter 1 is not of type 'string'.`);
  }
  const format = `${args[0]}`;
  if (format !== 'gzip' && format !== 'deflate' && format !== 'deflate-raw') {
    throw new TypeError(FORMAT_ERROR);
  }
  return format;
}

// The constructors read `arguments`, so that their length is 0 as in workerd.
export class CompressionStream extends TransformStream {
  constructor() {
    const name = formatOf(arguments, 'CompressionStream');
    super();
    const { readable, writable } = zlibPipe(true, name);
    setTransformEnds(this, readable, writable);
  }
}

export class DecompressionStream extends TransformStream {
  constructor() {
    const name = formatOf(arguments, 'DecompressionStream');
    super();
    const { readable, writable } = zlibPipe(false, name);
    setTransformEnds(this, readable, writable);
  }
}

for (const cls of [CompressionStream, DecompressionStream]) {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, {
    value: cls.name, writable: true, configurable: true,
  });
}
