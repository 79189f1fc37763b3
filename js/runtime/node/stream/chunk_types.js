// What workerd's streams (Node 22's) do that the package (Node 20's) does not: byte streams take
// any TypedArray or DataView as bytes, and a write() of anything else throws with those types
// named; a premature close is a TypeError.
import { Buffer } from 'buffer';
import Stream from 'readable-stream/lib/stream.js';
import errors from 'readable-stream/lib/ours/errors.js';

const { ERR_INVALID_ARG_TYPE, ERR_STREAM_PREMATURE_CLOSE } = errors.codes;
const { Readable, Writable, Duplex } = Stream;
const apply = Reflect.apply;
const isView = ArrayBuffer.isView;

// A TypedArray or DataView other than a Uint8Array, as a Buffer over the same bytes; anything
// else as it is.
function asBytes(chunk) {
  if (isView(chunk) && !(chunk instanceof Uint8Array)) {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  return chunk;
}

function wrapWrite(prototype) {
  const write = prototype.write;
  prototype.write = function (chunk, ...rest) {
    const objectMode = this._writableState?.objectMode;
    try {
      return apply(write, this, [objectMode ? chunk : asBytes(chunk), ...rest]);
    } catch (error) {
      if (error instanceof ERR_INVALID_ARG_TYPE && !objectMode) {
        throw new ERR_INVALID_ARG_TYPE('chunk', ['string', 'Buffer', 'TypedArray', 'DataView'], chunk);
      }
      throw error;
    }
  };
}

function wrapAdd(prototype, name) {
  const add = prototype[name];
  prototype[name] = function (chunk, ...rest) {
    const objectMode = this._readableState?.objectMode;
    return apply(add, this, [objectMode ? chunk : asBytes(chunk), ...rest]);
  };
}

export function matchWorkerdChunks() {
  // Duplex copied Writable's methods when it was defined, so both get the wrapper.
  wrapWrite(Writable.prototype);
  wrapWrite(Duplex.prototype);
  wrapAdd(Readable.prototype, 'push');
  wrapAdd(Readable.prototype, 'unshift');
  Object.setPrototypeOf(ERR_STREAM_PREMATURE_CLOSE.prototype, TypeError.prototype);
  Object.defineProperty(ERR_STREAM_PREMATURE_CLOSE.prototype, 'name', {
    value: 'TypeError', writable: true, enumerable: false, configurable: true,
  });
}
