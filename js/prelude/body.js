import { blobInternals } from './blob.js';
import { utf8DecodeWithBOM, utf8Encode } from './encoding.js';
import {
  isFormData, newBoundary, parseFormData, serializeFormData,
} from './form_data.js';
import { combinedValue, headersInternals } from './headers.js';
import { teeEncoded } from './encoded_body.js';
import { extractMimeType, serializeMimeType } from './mime_type.js';
import {
  ArrayBufferIsView, DataViewCtor, InternalList, JSONParse, PromiseCtor, PromisePrototypeThen,
  PromiseReject, TypeErrorCtor, TypedArrayBuffer, TypedArrayByteLength, TypedArrayByteOffset,
  TypedArrayLength, TypedArrayPrototypeSet, Uint8ArrayCtor, copyBytes, listAppend,
} from './primordials.js';
import {
  ReadableStream, ReadableStreamGetReader, ReadableStreamLocked, ReadableStreamTee, ReaderCancel,
  ReaderRead, ReaderReleaseLock, isDisturbed, isReadableStream,
} from './streams.js';
import { setKnownLength } from './streams_inspect.js';
import { isURLSearchParams } from './url.js';
import {
  bufferSourceView, defineInterface, illegalConstructor, illegalInvocation, isArrayBuffer, isObject,
  toUSVString,
} from './webidl.js';

// A body is either buffered or a stream.
//
// Buffered (`stream` null): bytes, or a string encoded only when its bytes are needed (a response
// body usually goes straight to the host, which encodes it while copying it out). The bytes are
// never changed, so clones share them; `disturbed` means they have been read. This is the path of
// every body made from a string or bytes, and no stream object exists for it until `body` is read.
//
// Streamed (`stream` a ReadableStream): a body made from a stream, or a buffered body whose
// `body` was read. The stream is the truth from then on: the body is used once the stream is
// disturbed, and reading it takes a reader (so a locked stream cannot be read).
export class BodyRecord {
  constructor(bytes, text = null, stream = null) {
    this.encoded = bytes;
    this.text = text;
    this.disturbed = false;
    this.stream = stream;
  }

  get bytes() {
    if (this.encoded === null) {
      this.encoded = utf8Encode(this.text);
      this.text = null;
    }
    return this.encoded;
  }
}

// workerd's texts.
function bodyUsedError() {
  return new TypeErrorCtor('Body has already been used. It can only be used once. Use tee() first if you need to read it twice.');
}
const LOCKED_FOR_TEE = 'This ReadableStream is currently locked to a reader,';

export function isBodyUsed(record) {
  if (record === null) return false;
  return record.stream === null ? record.disturbed : isDisturbed(record.stream);
}

// The stream a buffered body's `body` gives: a byte stream of a copy of the bytes (enqueueing
// transfers a buffer, and the bytes may be shared with clones), or, once the body was read, a
// closed stream that is locked and disturbed, as workerd's is.
function streamOfBuffered(record) {
  if (record.disturbed) {
    const stream = new ReadableStream({ type: 'bytes', start(c) { c.close(); } });
    ReaderRead(ReadableStreamGetReader(stream));
    return stream;
  }
  const bytes = record.bytes;
  record.encoded = null;
  record.text = null;
  const stream = new ReadableStream({
    type: 'bytes',
    start(controller) {
      if (TypedArrayLength(bytes) > 0) controller.enqueue(copyBytes(bytes));
      controller.close();
    },
  });
  setKnownLength(stream, TypedArrayLength(bytes));
  return stream;
}

export function bodyStream(record) {
  if (record.stream === null) record.stream = streamOfBuffered(record);
  return record.stream;
}

// Reads a stream to its end: its bytes in one Uint8Array. Chunks must be bytes, as for workerd's
// body methods; its HTTP server also takes strings (sent as UTF-8), `acceptStrings`.
export async function readAllBytes(stream, acceptStrings = false) {
  const reader = ReadableStreamGetReader(stream);
  const chunks = new InternalList();
  let total = 0;
  for (;;) {
    const { value, done } = await ReaderRead(reader);
    if (done) break;
    let view = null;
    if (ArrayBufferIsView(value)) {
      // A DataView has no typed array's getters: its own are read (both are views of `buffer`).
      view = value instanceof DataViewCtor
        ? new Uint8ArrayCtor(value.buffer, value.byteOffset, value.byteLength)
        : new Uint8ArrayCtor(TypedArrayBuffer(value), TypedArrayByteOffset(value), TypedArrayByteLength(value));
    } else if (isArrayBuffer(value)) {
      view = new Uint8ArrayCtor(value);
    } else if (acceptStrings && typeof value === 'string') {
      view = utf8Encode(value);
    }
    if (view === null) {
      const error = new TypeErrorCtor('This ReadableStream did not return bytes.');
      PromisePrototypeThen(ReaderCancel(reader, error), undefined, () => {});
      throw error;
    }
    listAppend(chunks, view);
    total += TypedArrayLength(view);
  }
  ReaderReleaseLock(reader);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8ArrayCtor(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    TypedArrayPrototypeSet(out, chunks[i], offset);
    offset += TypedArrayLength(chunks[i]);
  }
  return out;
}

// Reads a whole body: its bytes (synchronously, for a buffered body), a promise of them (for a
// streamed one), or throws if it was already read or is locked.
export function consumeBody(record) {
  if (record === null) return new Uint8Array(0);
  if (record.stream === null) {
    if (record.disturbed) throw bodyUsedError();
    record.disturbed = true;
    return record.bytes;
  }
  if (isDisturbed(record.stream)) throw bodyUsedError();
  // Takes the reader now, so that the body is locked (and a second read fails) at once.
  return readAllBytes(record.stream);
}

// Reads a whole buffered body for the host: its text when it was made from a string and never
// encoded (the host encodes it as UTF-8), else its bytes. A streamed body must have been buffered
// first (bufferBody).
export function consumeBodyForHost(record) {
  if (record !== null && record.stream === null && record.encoded === null && !record.disturbed) {
    record.disturbed = true;
    return record.text;
  }
  const bytes = consumeBody(record);
  if (bytes instanceof PromiseCtor) {
    PromisePrototypeThen(bytes, undefined, () => {});
    throw new TypeErrorCtor('A streamed body was not buffered before it was sent.');
  }
  return bytes;
}

// Null for a body the host can take as it is; else a promise that settles once the stream has
// been read to its end and the body is buffered (rejected with the stream's error, or the error
// workerd's server gives a body already used or locked).
export function bufferBody(record) {
  if (record === null || record.stream === null) return null;
  const stream = record.stream;
  if (isDisturbed(stream)) return PromiseReject(bodyUsedError());
  if (ReadableStreamLocked(stream)) return PromiseReject(new TypeErrorCtor('The ReadableStream has been locked to a reader.'));
  return PromisePrototypeThen(readAllBytes(stream, true), (all) => {
    record.stream = null;
    record.encoded = all;
    record.text = null;
    record.disturbed = false;
  });
}

// Null for a body the host can take as it is; else the stream to be written as it comes (the
// caller takes it from the record). Throws what bufferBody rejects with.
export function bodyStreamForHost(record) {
  if (record === null || record.stream === null) return null;
  const stream = record.stream;
  if (isDisturbed(stream)) throw bodyUsedError();
  if (ReadableStreamLocked(stream)) throw new TypeErrorCtor('The ReadableStream has been locked to a reader.');
  return stream;
}

// A body for a copy of its owner (clone()): buffered bytes are shared; a stream is teed, the
// owner keeping one branch (a fetched body not read yet is teed as it came, so that both copies
// can still be sent so: encoded_body.js).
export function cloneBody(record) {
  if (record.stream === null) {
    if (record.disturbed) throw new TypeErrorCtor(LOCKED_FOR_TEE);
    return new BodyRecord(record.encoded, record.text);
  }
  const encoded = teeEncoded(record.stream);
  if (encoded !== null) return new BodyRecord(null, null, encoded);
  const branches = ReadableStreamTee(record.stream);
  record.stream = branches[0];
  return new BodyRecord(null, null, branches[1]);
}

// The body of a Request made from another (new Request(request)): the new request takes it over
// and the other reads as used from then on.
export function takeBody(record) {
  if (isBodyUsed(record)) throw new TypeErrorCtor('Cannot reconstruct a Request with a used body.');
  if (record.stream === null) {
    record.disturbed = true;
    return new BodyRecord(record.encoded, record.text);
  }
  if (ReadableStreamLocked(record.stream)) throw new TypeErrorCtor('The ReadableStream has been locked to a reader.');
  const stream = record.stream;
  record.stream = null;
  record.encoded = new Uint8Array(0);
  record.disturbed = true;
  return new BodyRecord(null, null, stream);
}

// Fetch's "extract a body": the body record and the Content-Type it implies (or null).
export function extractBody(object) {
  if (typeof object === 'string') {
    return { record: new BodyRecord(null, object), type: 'text/plain;charset=UTF-8' };
  }
  if (isObject(object)) {
    if (isReadableStream(object)) {
      if (isDisturbed(object)) {
        throw new TypeErrorCtor('This ReadableStream is disturbed (has already been read from), and cannot be used as a body.');
      }
      return { record: new BodyRecord(null, null, object), type: null };
    }
    // A Blob's bytes never change, so the body shares them; its type, when it has one, is the
    // Content-Type.
    if (blobInternals.isBlob(object)) {
      const type = blobInternals.type(object);
      return { record: new BodyRecord(blobInternals.bytes(object)), type: type === '' ? null : type };
    }
    if (isFormData(object)) {
      const boundary = newBoundary();
      return {
        record: new BodyRecord(serializeFormData(object, boundary)),
        type: `multipart/form-data; boundary=${boundary}`,
      };
    }
    if (isURLSearchParams(object)) {
      return {
        record: new BodyRecord(utf8Encode(object.toString())),
        type: 'application/x-www-form-urlencoded;charset=UTF-8',
      };
    }
    // A view over a SharedArrayBuffer too (copied), as workerd.
    const view = bufferSourceView(object, true);
    if (view !== null) return { record: new BodyRecord(copyBytes(view)), type: null };
  }
  // Anything else is a USVString for WebIDL.
  return { record: new BodyRecord(utf8Encode(toUSVString(object))), type: 'text/plain;charset=UTF-8' };
}

// The classes whose instances have a body (Request, Response): how to tell an instance (`has`),
// and its BodyRecord (or null) and Headers.
const owners = [];

export function registerBodyOwner(has, getRecord, getHeaders) {
  owners.push({ has, getRecord, getHeaders });
}

// The owner entry of `self`, or workerd's illegal invocation error.
function ownerOf(self) {
  for (let i = 0; i < owners.length; i++) if (owners[i].has(self)) return owners[i];
  throw illegalInvocation();
}

const getRecord = (self) => ownerOf(self).getRecord(self);

// The Content-Type header's value (all values combined), or null, read without going through the
// (replaceable) methods of Headers.
function contentType(self) {
  return combinedValue(headersInternals.list(ownerOf(self).getHeaders(self)), 'content-type');
}

// `this` is checked first: a method called on another object throws, as workerd's do.
function consume(self, convert) {
  const record = getRecord(self);
  try {
    const bytes = consumeBody(record);
    if (bytes instanceof PromiseCtor) return PromisePrototypeThen(bytes, convert);
    return new PromiseCtor((resolve) => resolve(convert(bytes)));
  } catch (error) {
    return PromiseReject(error);
  }
}

// The prototype that Request.prototype and Response.prototype inherit from, with the members
// they share, as workerd's Body. It is not constructible.
export class Body {
  constructor() {
    throw illegalConstructor();
  }

  get body() {
    const record = getRecord(this);
    return record === null ? null : bodyStream(record);
  }

  get bodyUsed() {
    return isBodyUsed(getRecord(this));
  }

  arrayBuffer() {
    return consume(this, (bytes) => TypedArrayBuffer(copyBytes(bytes)));
  }

  bytes() {
    return consume(this, (bytes) => copyBytes(bytes));
  }

  text() {
    return consume(this, utf8DecodeWithBOM);
  }

  json() {
    return consume(this, (bytes) => JSONParse(utf8DecodeWithBOM(bytes)));
  }

  // A used body is refused before the Content-Type is looked at, and a missing Content-Type
  // before the body is read, as in workerd.
  formData() {
    const record = getRecord(this);
    try {
      if (isBodyUsed(record)) consumeBody(record);  // throws workerd's error for a used body
      const type = contentType(this);
      if (type === null) {
        throw new TypeErrorCtor('Parsing a Body as FormData requires a Content-Type header.');
      }
      const bytes = consumeBody(record);
      if (bytes instanceof PromiseCtor) return PromisePrototypeThen(bytes, (read) => parseFormData(read, type));
      return new PromiseCtor((resolve) => resolve(parseFormData(bytes, type)));
    } catch (error) {
      return PromiseReject(error);
    }
  }

  // The type is the Content-Type, serialized as a MIME type, or '' when there is none or it
  // does not parse (workerd's blob_standard_mime_type behaviour).
  blob() {
    return consume(this, (bytes) => {
      const mime = extractMimeType(contentType(this));
      return blobInternals.create(copyBytes(bytes), mime === null ? '' : serializeMimeType(mime));
    });
  }
}

defineInterface(Body, 'Body');

// Makes `cls` (Request or Response, whose instances `has` tells) inherit Body's members.
export function inheritBody(cls, has, getRecordOf, getHeadersOf) {
  registerBodyOwner(has, getRecordOf, getHeadersOf);
  Object.setPrototypeOf(cls.prototype, Body.prototype);
}
