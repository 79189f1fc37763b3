// Blob and File, as workerd has them: the bytes are copied once when the Blob is made and never
// change afterwards, so slices, Files made from a Blob and FormData entries share them.
import native from './native.js';
import { FieldsOf, HOST_BLOB, HOST_UNCLONEABLE, newHostObject } from './host_object.js';
import { utf8Encode } from './encoding.js';
import {
  InternalList, MathMax, MathMin, NumberIsNaN, PromiseResolve, RangeErrorCtor, StringPrototypeToLowerCase,
  SymbolIterator, TypeErrorCtor, TypedArrayBuffer, TypedArrayByteOffset, TypedArrayLength, TypedArrayPrototypeSet,
  Uint8ArrayCtor, copyBytes, listAppend, regExpMatches,
} from './primordials.js';
import { ReadableStream } from './streams.js';
import {
  bufferSourceView, defineInterface, illegalInvocation, inspectCustom, isObject, toDOMString, toLong,
} from './webidl.js';

// workerd's limit for the bytes of one Blob (LimitEnforcer::getBlobSizeLimit).
export const MAX_BLOB_BYTES = 128 * 1024 * 1024;

const dateNow = Date.now;
const emptyBytes = new Uint8Array(0);

// Blob's type rule as workerd applies it: a type holding a byte below 0x20 or any non-ASCII
// character (a UTF-8 byte that is negative as a signed char) is dropped; otherwise ASCII letters
// are lowercased.
const nonPrintableAscii = /[^\x20-\x7F]/;

export function normalizeBlobType(type) {
  if (regExpMatches(nonPrintableAscii, type)) return '';
  return StringPrototypeToLowerCase(type);
}

let blobBytesOf;
let blobTypeOf;
let isBlobObject;
let makeBlob;

function notArray(context) {
  return new TypeErrorCtor(`${context}: constructor parameter 1 is not of type 'Array'.`);
}

// WebIDL's conversion of a sequence<BlobPart>: each part as bytes (views, not copies yet), in an
// InternalList (primordials.js: user code may have replaced what arrays and typed arrays use).
// The sequence is user code's, iterated with its own iterator as WebIDL does.
function convertParts(parts, context) {
  const chunks = new InternalList();
  if (parts === undefined) return chunks;
  if (!isObject(parts) || typeof parts[SymbolIterator] !== 'function') throw notArray(context);
  for (const part of parts) {
    if (isBlobObject(part)) listAppend(chunks, { bytes: blobBytesOf(part), shared: true });
    // A view over a SharedArrayBuffer is bytes too (copied by joinParts), as workerd.
    else listAppend(chunks, { bytes: bufferSourceView(part, true) ?? utf8Encode(toDOMString(part)), shared: false });
  }
  return chunks;
}

// Joins the parts, checked against the size limit. A single Blob part is shared, not copied:
// a Blob's bytes never change.
function joinParts(chunks) {
  if (chunks.length === 1 && chunks[0].shared) return chunks[0].bytes;
  let size = 0;
  for (let i = 0; i < chunks.length; i++) {
    const length = TypedArrayLength(chunks[i].bytes);
    if (length === 0) continue;
    if (size + length > MAX_BLOB_BYTES) {
      throw new RangeErrorCtor(`Blob size ${size + length} exceeds limit ${MAX_BLOB_BYTES}`);
    }
    size += length;
  }
  if (size === 0) return emptyBytes;
  const out = new Uint8ArrayCtor(size);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    TypedArrayPrototypeSet(out, chunks[i].bytes, offset);
    offset += TypedArrayLength(chunks[i].bytes);
  }
  return out;
}

// BlobPropertyBag / FilePropertyBag (argument `position` of the constructor).
function readOptions(options, context, position) {
  if (options === undefined || options === null) return {};
  if (!isObject(options)) {
    throw new TypeError(`${context}: constructor parameter ${position} is not of type 'Options'.`);
  }
  return options;
}

// The options' type; `endings` is refused as workerd refuses it.
function readType(opts) {
  if (opts.endings !== undefined) throw new Error("The 'endings' field on 'Options' is not implemented.");
  return opts.type === undefined ? '' : normalizeBlobType(toDOMString(opts.type));
}

const internalToken = Symbol('Blob');

function checkBlob(value) {
  if (!isBlobObject(value)) throw illegalInvocation();
}

// A Blob's state. Blobs are host objects (host_object.js), which structured clone copies; these
// fields are added to them.
class BlobFields extends FieldsOf {
  #bytes;
  #type;

  constructor(target, bytes, type) {
    super(target);
    this.#bytes = bytes;
    this.#type = type;
  }

  static {
    blobBytesOf = (blob) => blob.#bytes;
    blobTypeOf = (blob) => blob.#type;
    isBlobObject = (value) => isObject(value) && #bytes in value;
  }
}

export class Blob {
  // Internal construction (`internalToken`): `options` is { bytes, type, file }, `file` true for a
  // File, which structured clone refuses as workerd does.
  constructor(blobParts = undefined, options = undefined) {
    let bytes;
    let type;
    let file = false;
    if (blobParts === internalToken) {
      ({ bytes, type, file } = options);
    } else {
      const context = "Failed to construct 'Blob'";
      const chunks = convertParts(blobParts, context);
      type = readType(readOptions(options, context, 2));
      bytes = joinParts(chunks);
    }
    // As GetPrototypeFromConstructor: a constructor whose prototype is not an object makes Blobs.
    const prototype = isObject(new.target.prototype) ? new.target.prototype : Blob.prototype;
    const self = file
      ? newHostObject(prototype, HOST_UNCLONEABLE, 'File')
      : newHostObject(prototype, HOST_BLOB, bytes, type);
    new BlobFields(self, bytes, type);
    return self;
  }

  static {
    makeBlob = (bytes, type) => new Blob(internalToken, { bytes, type, file: false });
  }

  get size() {
    checkBlob(this);
    return TypedArrayLength(blobBytesOf(this));
  }

  get type() {
    checkBlob(this);
    return blobTypeOf(this);
  }

  // Negative positions count from the end; both ends are clamped, and an end before the start
  // gives an empty Blob. Positions are WebIDL longs, as in workerd.
  slice(start = undefined, end = undefined, contentType = undefined) {
    checkBlob(this);
    const size = TypedArrayLength(blobBytesOf(this));
    let from = start === undefined ? 0 : toLong(start);
    let to = end === undefined ? size : toLong(end);
    const type = contentType === undefined ? '' : normalizeBlobType(toDOMString(contentType));
    if (from < 0) from += size;
    if (to < 0) to += size;
    from = MathMax(0, MathMin(from, size));
    to = MathMax(from, MathMin(to, size));
    const bytes = blobBytesOf(this);
    return makeBlob(new Uint8ArrayCtor(TypedArrayBuffer(bytes), TypedArrayByteOffset(bytes) + from, to - from), type);
  }

  arrayBuffer() {
    checkBlob(this);
    return PromiseResolve(TypedArrayBuffer(copyBytes(blobBytesOf(this))));
  }

  bytes() {
    checkBlob(this);
    return PromiseResolve(copyBytes(blobBytesOf(this)));
  }

  // A byte stream of a copy of the bytes (a chunk that is enqueued is transferred, and the Blob's
  // bytes are shared with its slices).
  stream() {
    checkBlob(this);
    const bytes = blobBytesOf(this);
    return new ReadableStream({
      type: 'bytes',
      start(controller) {
        if (TypedArrayLength(bytes) > 0) controller.enqueue(copyBytes(bytes));
        controller.close();
      },
    });
  }

  // UTF-8 with replacement characters; a leading BOM is kept, as workerd keeps it.
  text() {
    checkBlob(this);
    return PromiseResolve(native.utf8Decode(blobBytesOf(this), false));
  }

  // How console.log shows it, as in workerd: Blob { size: 2, type: 'text/plain' }.
  [inspectCustom](depth, options, inspect) {
    return `Blob ${inspect({ size: blobBytesOf(this).length, type: blobTypeOf(this) }, options)}`;
  }
}

defineInterface(Blob, 'Blob');

let fileState;
let fileNameOf;

export class File extends Blob {
  #name;
  #lastModified;

  constructor(fileBits = undefined, fileName = undefined, options = undefined) {
    if (fileBits === internalToken) {
      super(internalToken, { bytes: fileName.bytes, type: fileName.type, file: true });
      this.#name = fileName.name;
      this.#lastModified = fileName.lastModified;
      return;
    }
    const context = "Failed to construct 'File'";
    const chunks = convertParts(fileBits, context);
    if (fileName === undefined) {
      throw new TypeError(`${context}: constructor parameter 2 is not of type 'string'.`);
    }
    const name = toDOMString(fileName);
    const opts = readOptions(options, context, 3);
    const type = readType(opts);
    let lastModified = dateNow();
    if (opts.lastModified !== undefined) {
      lastModified = +opts.lastModified;
      if (NumberIsNaN(lastModified)) lastModified = 0;
    }
    super(internalToken, { bytes: joinParts(chunks), type, file: true });
    this.#name = name;
    this.#lastModified = lastModified;
  }

  static {
    fileState = (value) => (isObject(value) && #name in value ? value : null);
    fileNameOf = (file) => file.#name;
  }

  get name() {
    if (fileState(this) === null) throw illegalInvocation();
    return this.#name;
  }

  get lastModified() {
    if (fileState(this) === null) throw illegalInvocation();
    return this.#lastModified;
  }

  [inspectCustom](depth, options, inspect) {
    const fields = {
      name: this.#name, lastModified: this.#lastModified, size: blobBytesOf(this).length, type: blobTypeOf(this),
    };
    return `File ${inspect(fields, options)}`;
  }
}

defineInterface(File, 'File');

// For FormData, bodies and the multipart parser, which read Blobs without going through their
// (replaceable) accessors.
export const blobInternals = {
  isBlob: (value) => isBlobObject(value),
  isFile: (value) => fileState(value) !== null,
  bytes: (blob) => blobBytesOf(blob),
  type: (blob) => blobTypeOf(blob),
  name: (file) => fileNameOf(file),
  create: (bytes, type) => makeBlob(bytes, type),
  // Gives a Blob that the host made (structured clone reading one back) its state.
  adopt: (blob, bytes, type) => {
    new BlobFields(blob, bytes, type);
  },
  // A File over `bytes` (not copied: callers hand over bytes nobody else changes).
  createFile: (bytes, name, type, lastModified = dateNow()) => new File(internalToken, {
    bytes, type, name, lastModified,
  }),
};
