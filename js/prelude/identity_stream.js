// workerd's own byte pipes: IdentityTransformStream (bytes written come out unchanged, on a byte
// stream that BYOB readers can read) and FixedLengthStream (the same, with the total length fixed
// in advance). Neither buffers: a write settles once a read has taken its bytes, which gives a
// writer the reader's pace (workerd's pipe has no queue either).
import { ReadableStream, TransformStream, WritableStream, setTransformEnds } from './streams.js';
import { chunkView, isObject } from './webidl.js';

const MAX_SAFE_LENGTH = 2 ** 53 - 1;

// The readable end of each FixedLengthStream, with its length: a response body made of one is
// sent under that Content-Length, as workerd does.
const fixedLengths = new WeakMap();

export function fixedLengthOf(stream) {
  return fixedLengths.get(stream);
}

// The two ends of one pipe; `expectedLength` is null for no fixed length.
function bytePipe(expectedLength) {
  let readController;
  let writeController;
  // The chunk written and not yet read: { bytes, resolve, reject }.
  let pending = null;
  // Resolves a pull() waiting for the next write.
  let wake = null;
  let seen = 0;

  // A chunk that cannot pass fails when a read reaches it, as in workerd, where the pipe checks
  // what it carries as it hands it on.
  const deliver = () => {
    const { bytes, error, resolve, reject } = pending;
    if (error !== null) {
      fail(error);
      return;
    }
    pending = null;
    readController.enqueue(bytes);
    resolve();
  };
  const fail = (error) => {
    try {
      readController.error(error);
    } catch {
      // Already closed or errored: the reader has what it gets.
    }
    if (pending !== null) {
      pending.reject(error);
      pending = null;
    }
    return error;
  };

  const readable = new ReadableStream({
    type: 'bytes',
    start(controller) {
      readController = controller;
    },
    pull() {
      if (pending !== null) {
        deliver();
        return undefined;
      }
      return new Promise((resolve) => { wake = resolve; });
    },
    cancel(reason) {
      if (pending !== null) {
        pending.reject(reason);
        pending = null;
      }
      writeController.error(reason);
    },
  }, { highWaterMark: 0 });

  const writable = new WritableStream({
    start(controller) {
      writeController = controller;
    },
    write(chunk) {
      let view = null;
      let error = null;
      try {
        view = chunkView(chunk);
      } catch (detached) {
        // Its buffer was detached after the write call: the pipe ends with the error (when a read
        // reaches it, as for a chunk of the wrong type); a write that threw left the reader
        // waiting forever.
        error = detached;
      }
      if (error === null && view === null) {
        error = new TypeError('This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.');
      } else if (error === null && expectedLength !== null) {
        seen += view.byteLength;
        if (seen > expectedLength) {
          error = new TypeError('Attempt to write too many bytes through a FixedLengthStream.');
        }
      }
      if (error === null && view.byteLength === 0) return undefined;
      // A copy: enqueueing transfers the buffer, which stays the writer's.
      const bytes = error === null ? view.slice() : null;
      return new Promise((resolve, reject) => {
        pending = { bytes, error, resolve, reject };
        if (wake !== null) {
          const resume = wake;
          wake = null;
          deliver();
          resume();
        }
      });
    },
    close() {
      if (expectedLength !== null && seen < expectedLength) {
        throw fail(new TypeError('FixedLengthStream did not see all expected bytes before close().'));
      }
      readController.close();
      // A BYOB read waiting for bytes ends (done) only once its request is answered with none.
      const request = readController.byobRequest;
      if (request !== null) request.respond(0);
      if (wake !== null) {
        const resume = wake;
        wake = null;
        resume();
      }
    },
    abort(reason) {
      fail(reason);
    },
  });
  return { readable, writable };
}

// FixedLengthStream's constructor leaves its length here for IdentityTransformStream's, which
// builds the pipe (null: no fixed length).
let nextLength = null;

export class IdentityTransformStream extends TransformStream {
  // The optional queuing strategy workerd takes changes nothing here: the pipe has no queue.
  constructor(strategy = undefined) {
    const length = nextLength;
    nextLength = null;
    super();
    const { readable, writable } = bytePipe(length);
    if (length !== null) fixedLengths.set(readable, length);
    setTransformEnds(this, readable, writable);
  }
}


export class FixedLengthStream extends IdentityTransformStream {
  constructor(expectedLength = undefined, strategy = undefined) {
    const context = "Failed to construct 'FixedLengthStream'";
    if (arguments.length === 0 || expectedLength === undefined) {
      throw new TypeError(`${context}: constructor parameter 1 is not of type 'bigint'.`);
    }
    const length = typeof expectedLength === 'bigint' ? expectedLength : Number(expectedLength);
    if (length < 0) {
      throw new TypeError('The value cannot be converted because it is negative and this API expects a positive bigint.');
    }
    if (typeof length === 'number' && Number.isNaN(length)) {
      throw new TypeError(`${context}: constructor parameter 1 is not of type 'bigint'.`);
    }
    if (length > MAX_SAFE_LENGTH) {
      throw new TypeError('FixedLengthStream requires an integer expected length less than 2^53.');
    }
    nextLength = Math.trunc(Number(length));
    super(isObject(strategy) ? strategy : undefined);
  }
}

Object.defineProperty(IdentityTransformStream.prototype, Symbol.toStringTag, {
  value: 'IdentityTransformStream', writable: true, configurable: true,
});
Object.defineProperty(FixedLengthStream.prototype, Symbol.toStringTag, {
  value: 'FixedLengthStream', writable: true, configurable: true,
});
