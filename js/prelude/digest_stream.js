// crypto.DigestStream, as workerd has it: a WritableStream that hashes what is written to it and
// resolves `digest` (an ArrayBuffer) when it closes. Chunks are ArrayBuffers, views of them or
// strings (as UTF-8); `bytesWritten` (a BigInt) counts the bytes hashed. The hash runs in the
// natives (digest_stream_natives.cc) on the bytes where they are, so a stream holds a fixed
// amount of memory whatever is written to it.
//
// As in workerd, a chunk of another type rejects its write and so errors the stream, and leaves
// `digest` pending; abort() rejects `digest` with the reason.
import native from './native.js';
import { DOMException } from './dom_exception.js';
import { toUpperCase } from './crypto_intrinsics.js';
import { utf8Encode } from './encoding.js';
import { refuseClone } from './host_object.js';
import { WritableStream } from './streams.js';
import { illegalInvocation, isArrayBuffer, isArrayBufferView, isObject, toDOMString } from './webidl.js';

const {
  digestStreamCreate, digestStreamUpdate, digestStreamFinish, digestStreamRelease,
} = native;
const BigIntCtor = BigInt;
const PromiseCtor = Promise;
const Uint8ArrayCtor = Uint8Array;

const CHUNK_ERROR = 'DigestStream is a byte stream but received an object of '
  + 'non-ArrayBuffer/ArrayBufferView/string type on its writable side.';

// The algorithms workerd takes (ASCII case-insensitive), by the natives' names for them.
const algorithms = {
  __proto__: null,
  'SHA-1': 'SHA-1', 'SHA-256': 'SHA-256', 'SHA-384': 'SHA-384', 'SHA-512': 'SHA-512', MD5: 'MD5',
  CRC32: 'CRC32', CRC32C: 'CRC32C', CRC64NVME: 'CRC64NVME',
};

// The native name of the algorithm argument, converted as workerd converts a `string or
// HashAlgorithm` (a dictionary whose `name` is read as a string).
function algorithmOf(args) {
  if (args.length === 0) {
    throw new TypeError("Failed to construct 'DigestStream': constructor parameter 1 is not of type 'string or HashAlgorithm'.");
  }
  const value = args[0];
  if (value === undefined || value === null) {
    // workerd's text, with its C++ type name.
    throw new TypeError('Cannot initialize N7workerd3api12SubtleCrypto13HashAlgorithmE with required members from an undefined or null value.');
  }
  const name = isObject(value) ? toDOMString(value.name) : toDOMString(value);
  const canonical = algorithms[toUpperCase(name)];
  if (canonical === undefined) {
    throw new DOMException('Unrecognized or unimplemented digest algorithm requested.', 'NotSupportedError');
  }
  return canonical;
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const regExpExec = RegExp.prototype.exec;
const stringSlice = String.prototype.slice;
const stringCharCodeAt = String.prototype.charCodeAt;

// The pieces to hash of a string: its UTF-8, but a lone surrogate as the three bytes of its code
// unit (as workerd converts a string to bytes here, not as U+FFFD).
function stringPieces(string) {
  const pieces = [];
  loneSurrogate.lastIndex = 0;
  let at = 0;
  for (;;) {
    const match = Reflect.apply(regExpExec, loneSurrogate, [string]);
    if (match === null) break;
    const index = match.index;
    if (index > at) pieces[pieces.length] = utf8Encode(Reflect.apply(stringSlice, string, [at, index]));
    const unit = Reflect.apply(stringCharCodeAt, string, [index]);
    pieces[pieces.length] = new Uint8ArrayCtor([0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]);
    at = index + 1;
  }
  if (at === 0) return [utf8Encode(string)];
  if (at < string.length) pieces[pieces.length] = utf8Encode(Reflect.apply(stringSlice, string, [at]));
  return pieces;
}

// What the natives hash of a chunk, as a list: the buffer or view itself (its bytes are read
// where they are, by V8's own record of its extent), a string's bytes, or null for a chunk of
// another type.
function chunkPieces(chunk) {
  if (typeof chunk === 'string') return stringPieces(chunk);
  if (isArrayBufferView(chunk) || isArrayBuffer(chunk)) return [chunk];
  return null;
}

const READY = 0;
const CLOSED = 1;
const ERRORED = 2;

class DigestStreamImpl extends WritableStream {
  #state;

  constructor() {
    const algorithm = algorithmOf(arguments);
    const state = {
      status: READY, error: undefined, handle: null, bytes: 0, promise: null, resolve: null, reject: null,
    };
    state.promise = new PromiseCtor((resolve, reject) => {
      state.resolve = resolve;
      state.reject = reject;
    });
    const fail = (reason) => {
      state.status = ERRORED;
      state.error = reason;
      digestStreamRelease(state.handle);
      state.reject(reason);
    };
    super({
      write(chunk) {
        const pieces = chunkPieces(chunk);
        if (pieces === null) throw new TypeError(CHUNK_ERROR);
        if (state.status === CLOSED) return;
        if (state.status === ERRORED) throw state.error;
        for (let i = 0; i < pieces.length; i++) state.bytes += digestStreamUpdate(state.handle, pieces[i]);
      },
      close() {
        if (state.status === ERRORED) throw state.error;
        if (state.status === CLOSED) return;
        state.status = CLOSED;
        state.resolve(digestStreamFinish(state.handle));
      },
      abort(reason) {
        if (state.status === READY) fail(reason);
      },
    });
    state.handle = digestStreamCreate(algorithm);
    state.fail = fail;
    this.#state = state;
  }

  get digest() {
    if (!(#state in this)) throw illegalInvocation();
    return this.#state.promise;
  }

  get bytesWritten() {
    if (!(#state in this)) throw illegalInvocation();
    return BigIntCtor(this.#state.bytes);
  }

  // V8 10.2 has no Symbol.dispose: the runtime defines it as this registered symbol
  // (js/runtime/rpc_values.js), after the prelude has run.
  [Symbol.dispose ?? Symbol.for('Symbol.dispose')]() {
    if (!(#state in this)) throw illegalInvocation();
    const state = this.#state;
    if (state.status === READY) state.fail(new TypeError('The DigestStream was disposed.'));
  }
}

// workerd's constructor refuses a call without `new` with its own text (a class's would be V8's).
// Subclasses (`class X extends crypto.DigestStream`) construct through it.
export const DigestStream = {
  DigestStream: function () {
    'use strict';

    if (new.target === undefined) {
      throw new TypeError("Failed to construct 'DigestStream': Please use the 'new' operator, this object constructor cannot be called as a function.");
    }
    return Reflect.construct(DigestStreamImpl, arguments, new.target);
  },
}.DigestStream;
Object.defineProperty(DigestStream, 'length', { value: 0 });
Object.defineProperty(DigestStream, 'prototype', { value: DigestStreamImpl.prototype, writable: false });
Object.defineProperty(DigestStreamImpl.prototype, 'constructor', {
  value: DigestStream, writable: true, enumerable: false, configurable: true,
});
for (const key of ['digest', 'bytesWritten']) {
  const desc = Object.getOwnPropertyDescriptor(DigestStreamImpl.prototype, key);
  desc.enumerable = true;
  Object.defineProperty(DigestStreamImpl.prototype, key, desc);
}
Object.defineProperty(DigestStreamImpl.prototype, Symbol.toStringTag, {
  value: 'DigestStream', writable: true, configurable: true,
});
refuseClone(DigestStream, 'DigestStream');
