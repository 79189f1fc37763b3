import { blobInternals } from './blob.js';
import { utf8DecodeWithBOM, utf8Encode } from './encoding.js';
import {
  isFormData, newBoundary, parseFormData, serializeFormData,
} from './form_data.js';
import { headersInternals } from './headers.js';
import { extractMimeType, serializeMimeType } from './mime_type.js';
import { isURLSearchParams } from './url.js';
import {
  bufferSourceView, defineInterface, isObject, toDictionary, toUSVString,
} from './webidl.js';

// A body is always fully buffered, and its bytes are never changed, so clones share them.
// `disturbed` means reading has begun (bodyUsed), `drained` that the bytes have been handed out,
// `locked` that a reader or another body owns it.
export class BodyRecord {
  // A body made from a string keeps the string and encodes it only when its bytes are needed:
  // a response body usually goes straight to the host, which encodes it while copying it out.
  constructor(bytes, text = null) {
    this.encoded = bytes;
    this.text = text;
    this.disturbed = false;
    this.locked = false;
    this.drained = false;
    this.stream = null;
  }

  get bytes() {
    if (this.encoded === null) {
      this.encoded = utf8Encode(this.text);
      this.text = null;
    }
    return this.encoded;
  }

  cloneRecord() {
    return new BodyRecord(this.encoded, this.text);
  }
}

function bodyUsedError() {
  return new TypeError('Body has already been used. It can only be read once; call clone() first to read it twice.');
}

function lockedError() {
  return new TypeError('The body is locked to a reader.');
}

export function isUnusable(record) {
  return record !== null && (record.disturbed || record.locked);
}

// Reads a whole body for the host: its text when it was made from a string and never encoded
// (the host encodes it as UTF-8), else its bytes.
export function consumeBodyForHost(record) {
  if (record !== null && record.encoded === null && !record.disturbed && !record.locked) {
    record.disturbed = true;
    record.drained = true;
    return record.text;
  }
  return consumeBody(record);
}

// Reads a whole body: the bytes, or an error if it was already read or is locked.
export function consumeBody(record) {
  if (record === null) return new Uint8Array(0);
  if (record.disturbed) throw bodyUsedError();
  if (record.locked) throw lockedError();
  record.disturbed = true;
  record.drained = true;
  return record.bytes;
}

let streamRecord;
let isBodyStream;

// The stream returned by `body`. Dorm buffers bodies, so this is not a full ReadableStream: it
// offers a default reader and async iteration, yielding the body as one chunk, and can be passed
// as the body of a new Request or Response.
class BufferedBodyStream {
  #record;

  constructor(record) {
    this.#record = record;
  }

  static {
    streamRecord = (stream) => stream.#record;
    isBodyStream = (value) => isObject(value) && #record in value;
  }

  get locked() {
    return this.#record.locked;
  }

  getReader(options = undefined) {
    const opts = toDictionary(options, "Failed to execute 'getReader' on 'ReadableStream'");
    if (opts.mode !== undefined) {
      throw new TypeError("Failed to execute 'getReader' on 'ReadableStream': only default readers are supported.");
    }
    if (this.#record.locked) throw lockedError();
    this.#record.locked = true;
    return new BufferedBodyReader(this.#record);
  }

  cancel(reason = undefined) {
    if (this.#record.locked) return Promise.reject(lockedError());
    this.#record.disturbed = true;
    this.#record.drained = true;
    return Promise.resolve(undefined);
  }

  async *[Symbol.asyncIterator]() {
    const reader = this.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
}

class BufferedBodyReader {
  #record;

  constructor(record) {
    this.#record = record;
  }

  read() {
    const record = this.#record;
    if (record === null) return Promise.reject(new TypeError('The reader has been released.'));
    record.disturbed = true;
    if (record.drained || record.bytes.length === 0) {
      record.drained = true;
      return Promise.resolve({ value: undefined, done: true });
    }
    record.drained = true;
    return Promise.resolve({ value: record.bytes.slice(), done: false });
  }

  releaseLock() {
    if (this.#record === null) return;
    this.#record.locked = false;
    this.#record = null;
  }

  cancel(reason = undefined) {
    if (this.#record === null) return Promise.reject(new TypeError('The reader has been released.'));
    this.#record.disturbed = true;
    this.#record.drained = true;
    return Promise.resolve(undefined);
  }

  get closed() {
    return Promise.resolve(undefined);
  }
}

defineInterface(BufferedBodyStream, 'ReadableStream');
defineInterface(BufferedBodyReader, 'ReadableStreamDefaultReader');

function copyBytes(view) {
  return view.slice();
}

// Fetch's "extract a body": the body record and the Content-Type it implies (or null).
export function extractBody(object) {
  if (typeof object === 'string') {
    return { record: new BodyRecord(null, object), type: 'text/plain;charset=UTF-8' };
  }
  if (isObject(object)) {
    if (isBodyStream(object)) {
      const source = streamRecord(object);
      if (source.disturbed || source.drained) throw bodyUsedError();
      if (source.locked) throw lockedError();
      source.locked = true;
      return { record: new BodyRecord(source.bytes), type: null };
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
    if (view !== null) return { record: new BodyRecord(copyBytes(view)), type: null };
  }
  // Anything else is a USVString for WebIDL (ReadableStream is not available).
  return { record: new BodyRecord(utf8Encode(toUSVString(object))), type: 'text/plain;charset=UTF-8' };
}

// Installs the Body mixin on a class whose instances give their BodyRecord (or null) through
// `getRecord`, which throws a TypeError for other objects, and their Headers through
// `getHeaders`.
export function installBodyMixin(cls, getRecord, getHeaders) {
  // The Content-Type header's value (all values combined), or null, read without going through
  // the (replaceable) methods of Headers.
  const contentType = (self) => {
    const values = [];
    for (const [name, value] of headersInternals.list(getHeaders(self))) {
      if (name === 'content-type') values.push(value);
    }
    return values.length === 0 ? null : values.join(', ');
  };
  const consume = (self, convert) => {
    try {
      const bytes = consumeBody(getRecord(self));
      return new Promise((resolve) => resolve(convert(bytes)));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  const members = {
    get body() {
      const record = getRecord(this);
      if (record === null) return null;
      if (record.stream === null) record.stream = new BufferedBodyStream(record);
      return record.stream;
    },
    get bodyUsed() {
      const record = getRecord(this);
      return record !== null && record.disturbed;
    },
    arrayBuffer() {
      return consume(this, (bytes) => copyBytes(bytes).buffer);
    },
    // The type is the Content-Type, serialized as a MIME type, or '' when there is none or it
    // does not parse (workerd's blob_standard_mime_type behaviour).
    blob() {
      return consume(this, (bytes) => {
        const mime = extractMimeType(contentType(this));
        return blobInternals.create(copyBytes(bytes), mime === null ? '' : serializeMimeType(mime));
      });
    },
    bytes() {
      return consume(this, copyBytes);
    },
    // A used body is refused before the Content-Type is looked at, and a missing Content-Type
    // before the body is read, as in workerd.
    formData() {
      try {
        const record = getRecord(this);
        if (isUnusable(record)) consumeBody(record);
        const type = contentType(this);
        if (type === null) {
          throw new TypeError('Parsing a Body as FormData requires a Content-Type header.');
        }
        const bytes = consumeBody(record);
        return new Promise((resolve) => resolve(parseFormData(bytes, type)));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    json() {
      return consume(this, (bytes) => JSON.parse(utf8DecodeWithBOM(bytes)));
    },
    text() {
      return consume(this, utf8DecodeWithBOM);
    },
  };
  for (const key of Object.keys(members)) {
    const desc = Object.getOwnPropertyDescriptor(members, key);
    desc.enumerable = true;
    Object.defineProperty(cls.prototype, key, desc);
  }
}
