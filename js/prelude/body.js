import { blobInternals } from './blob.js';
import { utf8DecodeWithBOM, utf8Encode } from './encoding.js';
import {
  isFormData, newBoundary, parseFormData, serializeFormData,
} from './form_data.js';
import { headersInternals } from './headers.js';
import { teeEncoded } from './encoded_body.js';
import { extractMimeType, serializeMimeType } from './mime_type.js';
import { ReadableStream, isDisturbed, isReadableStream } from './streams.js';
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
  return new TypeError('Body has already been used. It can only be used once. Use tee() first if you need to read it twice.');
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
    stream.getReader().read();
    return stream;
  }
  const bytes = record.bytes;
  record.encoded = null;
  record.text = null;
  const stream = new ReadableStream({
    type: 'bytes',
    start(controller) {
      if (bytes.length > 0) controller.enqueue(bytes.slice());
      controller.close();
    },
  });
  setKnownLength(stream, bytes.length);
  return stream;
}

export function bodyStream(record) {
  if (record.stream === null) record.stream = streamOfBuffered(record);
  return record.stream;
}

// Reads a stream to its end: its bytes in one Uint8Array. Chunks must be bytes, as for workerd's
// body methods; its HTTP server also takes strings (sent as UTF-8), `acceptStrings`.
export async function readAllBytes(stream, acceptStrings = false) {
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let view = null;
    if (ArrayBuffer.isView(value)) {
      view = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    } else if (isArrayBuffer(value)) {
      view = new Uint8Array(value);
    } else if (acceptStrings && typeof value === 'string') {
      view = utf8Encode(value);
    }
    if (view === null) {
      const error = new TypeError('This ReadableStream did not return bytes.');
      reader.cancel(error).catch(() => {});
      throw error;
    }
    chunks.push(view);
    total += view.byteLength;
  }
  reader.releaseLock();
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
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
  if (bytes instanceof Promise) {
    bytes.catch(() => {});
    throw new TypeError('A streamed body was not buffered before it was sent.');
  }
  return bytes;
}

// Null for a body the host can take as it is; else a promise that settles once the stream has
// been read to its end and the body is buffered (rejected with the stream's error, or the error
// workerd's server gives a body already used or locked).
export function bufferBody(record) {
  if (record === null || record.stream === null) return null;
  const stream = record.stream;
  if (isDisturbed(stream)) return Promise.reject(bodyUsedError());
  if (stream.locked) return Promise.reject(new TypeError('The ReadableStream has been locked to a reader.'));
  return readAllBytes(stream, true).then((all) => {
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
  if (stream.locked) throw new TypeError('The ReadableStream has been locked to a reader.');
  return stream;
}

// A body for a copy of its owner (clone()): buffered bytes are shared; a stream is teed, the
// owner keeping one branch (a fetched body not read yet is teed as it came, so that both copies
// can still be sent so: encoded_body.js).
export function cloneBody(record) {
  if (record.stream === null) {
    if (record.disturbed) throw new TypeError(LOCKED_FOR_TEE);
    return new BodyRecord(record.encoded, record.text);
  }
  const encoded = teeEncoded(record.stream);
  if (encoded !== null) return new BodyRecord(null, null, encoded);
  const [mine, theirs] = record.stream.tee();
  record.stream = mine;
  return new BodyRecord(null, null, theirs);
}

// The body of a Request made from another (new Request(request)): the new request takes it over
// and the other reads as used from then on.
export function takeBody(record) {
  if (isBodyUsed(record)) throw new TypeError('Cannot reconstruct a Request with a used body.');
  if (record.stream === null) {
    record.disturbed = true;
    return new BodyRecord(record.encoded, record.text);
  }
  if (record.stream.locked) throw new TypeError('The ReadableStream has been locked to a reader.');
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
        throw new TypeError('This ReadableStream is disturbed (has already been read from), and cannot be used as a body.');
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
    const view = bufferSourceView(object);
    if (view !== null) return { record: new BodyRecord(view.slice()), type: null };
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
  const values = [];
  for (const [name, value] of headersInternals.list(ownerOf(self).getHeaders(self))) {
    if (name === 'content-type') values.push(value);
  }
  return values.length === 0 ? null : values.join(', ');
}

// `this` is checked first: a method called on another object throws, as workerd's do.
function consume(self, convert) {
  const record = getRecord(self);
  try {
    const bytes = consumeBody(record);
    if (bytes instanceof Promise) return bytes.then(convert);
    return new Promise((resolve) => resolve(convert(bytes)));
  } catch (error) {
    return Promise.reject(error);
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
    return consume(this, (bytes) => bytes.slice().buffer);
  }

  bytes() {
    return consume(this, (bytes) => bytes.slice());
  }

  text() {
    return consume(this, utf8DecodeWithBOM);
  }

  json() {
    return consume(this, (bytes) => JSON.parse(utf8DecodeWithBOM(bytes)));
  }

  // A used body is refused before the Content-Type is looked at, and a missing Content-Type
  // before the body is read, as in workerd.
  formData() {
    const record = getRecord(this);
    try {
      if (isBodyUsed(record)) consumeBody(record);  // throws workerd's error for a used body
      const type = contentType(this);
      if (type === null) {
        throw new TypeError('Parsing a Body as FormData requires a Content-Type header.');
      }
      const bytes = consumeBody(record);
      if (bytes instanceof Promise) return bytes.then((read) => parseFormData(read, type));
      return new Promise((resolve) => resolve(parseFormData(bytes, type)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // The type is the Content-Type, serialized as a MIME type, or '' when there is none or it
  // does not parse (workerd's blob_standard_mime_type behaviour).
  blob() {
    return consume(this, (bytes) => {
      const mime = extractMimeType(contentType(this));
      return blobInternals.create(bytes.slice(), mime === null ? '' : serializeMimeType(mime));
    });
  }
}

defineInterface(Body, 'Body');

// Makes `cls` (Request or Response, whose instances `has` tells) inherit Body's members.
export function inheritBody(cls, has, getRecordOf, getHeadersOf) {
  registerBodyOwner(has, getRecordOf, getHeadersOf);
  Object.setPrototypeOf(cls.prototype, Body.prototype);
}
