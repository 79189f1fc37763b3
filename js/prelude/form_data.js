// FormData, its multipart/form-data serialization for bodies, and the parsing of
// multipart/form-data and application/x-www-form-urlencoded bodies for `body.formData()`, with
// workerd's rules and error messages.
import native from './native.js';
import { blobInternals } from './blob.js';
import { utf8Encode } from './encoding.js';
import { essence, parseMimeType } from './mime_type.js';
import { URLSearchParams } from './url.js';
import {
  IteratorPrototype, defineInterface, illegalInvocation, inspectCustom, isObject, toUSVString,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';

const dateNow = Date.now;

let entriesOf;

function checkFormData(entries) {
  if (entries === undefined) throw illegalInvocation();
}

function nameArg(value, context) {
  if (value === undefined) throw new TypeError(`${context}: parameter 1 is not of type 'string'.`);
  return toUSVString(value);
}

// An entry's value: strings stay strings; a Blob becomes a File named after `filename`, or after
// the entry's name (as workerd names it; the standard says "blob"); a File keeps its identity
// unless a filename replaces its name.
function entryValue(name, value, filename, context, argCount) {
  if (argCount < 2) {
    throw new TypeError(`${context}: parameter 2 is not of type 'File or Blob or string'.`);
  }
  if (!blobInternals.isBlob(value)) return toUSVString(value);
  const fn = filename === undefined ? undefined : toUSVString(filename);
  if (blobInternals.isFile(value) && fn === undefined) return value;
  return blobInternals.createFile(
    blobInternals.bytes(value), fn === undefined ? name : fn, blobInternals.type(value), dateNow());
}

export class FormData extends Uncloneable {
  // [name, value] in order; values are strings or Files.
  #entries = [];

  // workerd's FormData takes no arguments (there are no forms to read).
  constructor() {
    super();
  }

  static {
    entriesOf = (value) => (isObject(value) && #entries in value ? value.#entries : undefined);
  }

  append(name, value, filename = undefined) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const context = "Failed to execute 'append' on 'FormData'";
    const n = nameArg(name, context);
    entries.push([n, entryValue(n, value, filename, context, arguments.length)]);
  }

  delete(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'delete' on 'FormData'");
    this.#entries = entries.filter((entry) => entry[0] !== n);
  }

  get(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'get' on 'FormData'");
    const entry = entries.find((e) => e[0] === n);
    return entry === undefined ? null : entry[1];
  }

  getAll(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'getAll' on 'FormData'");
    return entries.filter((e) => e[0] === n).map((e) => e[1]);
  }

  has(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'has' on 'FormData'");
    return entries.some((e) => e[0] === n);
  }

  // Replaces the first entry of that name in place and removes the others.
  set(name, value, filename = undefined) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const context = "Failed to execute 'set' on 'FormData'";
    const n = nameArg(name, context);
    const v = entryValue(n, value, filename, context, arguments.length);
    const index = entries.findIndex((e) => e[0] === n);
    if (index === -1) {
      entries.push([n, v]);
      return;
    }
    entries[index] = [n, v];
    this.#entries = entries.filter((e, i) => i <= index || e[0] !== n);
  }

  entries() {
    checkFormData(entriesOf(this));
    return new FormDataIterator(this, 'key+value', entryIteratorProto);
  }

  keys() {
    checkFormData(entriesOf(this));
    return new FormDataIterator(this, 'key', keyIteratorProto);
  }

  values() {
    checkFormData(entriesOf(this));
    return new FormDataIterator(this, 'value', valueIteratorProto);
  }

  // Entries appended by the callback are visited too, as in workerd.
  forEach(callback, thisArg = undefined) {
    checkFormData(entriesOf(this));
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'forEach' on 'FormData': parameter 1 is not of type 'function'.");
    }
    const receiver = thisArg === null ? undefined : thisArg;
    for (let i = 0; i < this.#entries.length; i++) {
      const [name, value] = this.#entries[i];
      callback.call(receiver, value, name, this);
    }
  }

  // Shown like a Map, as workerd shows it: FormData(1) { 'a' => '1' }.
  [inspectCustom](depth, options, inspect) {
    return `FormData${inspect(new Map(this.#entries), options).slice(3)}`;
  }
}

defineInterface(FormData, 'FormData');
hideBase(FormData);
refuseClone(FormData, 'FormData');
Object.defineProperty(FormData.prototype, Symbol.iterator, {
  value: function entries() {
    return FormData.prototype.entries.call(this);
  },
  writable: true,
  enumerable: false,
  configurable: true,
});

// The iterators read the entries afresh at every step, so they see entries added meanwhile.
class FormDataIterator {
  #target;
  #kind;
  #index = 0;

  constructor(target, kind, proto) {
    this.#target = target;
    this.#kind = kind;
    Object.setPrototypeOf(this, proto);
  }

  static next(iterator) {
    const entries = entriesOf(iterator.#target);
    if (iterator.#index >= entries.length) return { value: undefined, done: true };
    const [name, value] = entries[iterator.#index++];
    if (iterator.#kind === 'key') return { value: name, done: false };
    if (iterator.#kind === 'value') return { value, done: false };
    return { value: [name, value], done: false };
  }

  static isIterator(value) {
    return isObject(value) && #target in value;
  }
}

// workerd's iterator classes are named EntryIterator, KeyIterator and ValueIterator.
function iteratorPrototype(name) {
  const proto = Object.create(IteratorPrototype);
  const next = {
    next() {
      if (!FormDataIterator.isIterator(this)) throw illegalInvocation();
      return FormDataIterator.next(this);
    },
  }.next;
  Object.defineProperty(proto, 'next', { value: next, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(proto, Symbol.toStringTag, { value: name, configurable: true });
  return proto;
}

const entryIteratorProto = iteratorPrototype('EntryIterator');
const keyIteratorProto = iteratorPrototype('KeyIterator');
const valueIteratorProto = iteratorPrototype('ValueIterator');

export function isFormData(value) {
  return entriesOf(value) !== undefined;
}

// --- Serialization ---------------------------------------------------------------------------

// A name or filename in a Content-Disposition parameter: '"' and LF percent-encoded as Chrome
// does, '\' doubled so that it cannot escape the closing quote.
function escapeQuoted(value) {
  if (value.endsWith('\\')) throw new TypeError("Name or filename can't end with backslash");
  return value.replace(/["\n\\]/g, (c) => (c === '"' ? '%22' : c === '\n' ? '%0A' : '\\\\'));
}

// A boundary of 32 random hex digits, which never needs quoting in the Content-Type.
export function newBoundary() {
  const bytes = new Uint8Array(16);
  native.getRandomValues(bytes);
  let hex = '';
  for (const b of bytes) hex += (b < 16 ? '0' : '') + b.toString(16);
  return hex;
}

// The multipart/form-data body of `formData` with `boundary`, as workerd writes it.
export function serializeFormData(formData, boundary) {
  const chunks = [];
  let size = 0;
  const add = (bytes) => {
    chunks.push(bytes);
    size += bytes.length;
  };
  for (const [name, value] of entriesOf(formData)) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeQuoted(name)}`;
    if (typeof value === 'string') {
      add(utf8Encode(`${head}"\r\n\r\n`));
      add(utf8Encode(value));
    } else {
      const fileType = blobInternals.type(value);
      const type = fileType === '' ? 'application/octet-stream' : fileType;
      head += `"; filename="${escapeQuoted(blobInternals.name(value))}"\r\nContent-Type: ${type}\r\n\r\n`;
      add(utf8Encode(head));
      add(blobInternals.bytes(value));
    }
    add(utf8Encode('\r\n'));
  }
  add(utf8Encode(`--${boundary}--`));
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// --- Parsing ---------------------------------------------------------------------------------

// The body is handled as a "binary string" (one character per byte), so that the searches
// below work on bytes; text is decoded from UTF-8 only where a string comes out.
function toBinaryString(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, bytes.length)));
  }
  return out;
}

function fromBinaryString(s) {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

function decodeBinary(s) {
  return native.utf8Decode(fromBinaryString(s), false);
}

function parseError(message) {
  return new TypeError(message);
}

// The header block of a part, "Name: value" lines, into a Map of lowercase names to values
// (leading blanks dropped, trailing ones kept, as workerd's HTTP parser does). Returns null when
// a line is not a header: no folded lines, no blank before the colon.
function parsePartHeaders(text) {
  const headers = new Map();
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*)$/.exec(line);
    if (match === null) return null;
    const name = match[1].toLowerCase();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${match[2]}` : match[2]);
  }
  return headers;
}

// Content-Disposition as workerd reads it: an identifier, then `; name="value"` parameters with
// quoted values (a backslash takes the next character literally); reading stops at the first
// parameter of another shape. Returns null when there is no identifier.
function parseDisposition(text) {
  const ws = /[ \f\n\r\t\v]*/y;
  const ident = /[A-Za-z0-9_-]+/y;
  let pos = 0;
  const skip = () => {
    ws.lastIndex = pos;
    ws.exec(text);
    pos = ws.lastIndex;
  };
  const identifier = () => {
    ident.lastIndex = pos;
    const m = ident.exec(text);
    if (m === null) return null;
    pos = ident.lastIndex;
    return m[0];
  };
  skip();
  const value = identifier();
  if (value === null) return null;
  skip();
  const params = [];
  for (;;) {
    const start = pos;
    let ok = false;
    if (text[pos] === ';') {
      pos++;
      skip();
      const name = identifier();
      if (name !== null) {
        skip();
        if (text[pos] === '=') {
          pos++;
          skip();
          if (text[pos] === '"') {
            pos++;
            let v = '';
            while (pos < text.length && text[pos] !== '"' && text[pos] !== '\n') {
              if (text[pos] === '\\') {
                if (pos + 1 >= text.length || text[pos + 1] === '\n') break;
                pos++;
              }
              v += text[pos++];
            }
            if (v !== '' && text[pos] === '"') {
              pos++;
              skip();
              params.push([name, v]);
              ok = true;
            }
          }
        }
      }
    }
    if (!ok) {
      pos = start;
      break;
    }
  }
  return { value, params };
}

// Parses a multipart/form-data body into `entries`. Parts are delimited by "--boundary" at the
// start and by LF + "--boundary" after that (the CR before it is optional and dropped).
function parseMultipart(bytes, boundary, entries) {
  const boundaryText = toBinaryString(utf8Encode(boundary));
  const delimiter = `\n--${boundaryText}`;
  let rest = toBinaryString(bytes);
  const split = (text, sub) => {
    const index = text.indexOf(sub);
    if (index === -1) return { head: text, tail: '' };
    return { head: text.slice(0, index), tail: text.slice(index + sub.length) };
  };
  rest = split(rest, delimiter.slice(1)).tail;
  if (rest === '') throw parseError('No initial boundary string (or you have a truncated message).');
  for (;;) {
    if (rest.startsWith('\n')) rest = rest.slice(1);
    else if (rest.startsWith('\r\n')) rest = rest.slice(2);
    else if (rest.startsWith('--')) return;
    else throw parseError("Boundary string was not succeeded by CRLF, LF, or '--'.");

    const end = /\r?\n\r?\n/.exec(rest);
    if (end === null) throw parseError('No multipart message header termination found.');
    const headerText = rest.slice(0, end.index + end[0].length);
    rest = rest.slice(end.index + end[0].length);
    const headers = parsePartHeaders(headerText);
    if (headers === null) throw parseError('FormData part had invalid headers.');
    const dispositionText = headers.get('content-disposition');
    if (dispositionText === undefined) {
      throw parseError('No valid Content-Disposition header found in FormData part.');
    }
    const disposition = parseDisposition(dispositionText);
    if (disposition === null) {
      throw parseError('Invalid Content-Disposition header found in FormData part.');
    }
    if (disposition.value !== 'form-data') {
      throw parseError('Content-Disposition header for FormData part must have the value "form-data", '
        + `possibly followed by parameters. Got: "${decodeBinary(disposition.value)}"`);
    }
    let name;
    let filename;
    for (const [key, value] of disposition.params) {
      if (key === 'name') name = value;
      else if (key === 'filename') filename = value;
    }
    if (name === undefined) {
      throw parseError('Content-Disposition header in FormData part is missing a name.');
    }
    const type = headers.get('content-type');

    const part = split(rest, delimiter);
    rest = part.tail;
    if (rest === '') throw parseError('No subsequent boundary string after multipart message.');
    const message = part.head.endsWith('\r') ? part.head.slice(0, -1) : part.head;
    if (filename === undefined) {
      entries.push([decodeBinary(name), decodeBinary(message)]);
    } else {
      entries.push([decodeBinary(name), blobInternals.createFile(fromBinaryString(message),
        decodeBinary(filename), type === undefined ? '' : decodeBinary(type), dateNow())]);
    }
  }
}

const utf8Labels = ['utf-8', 'utf8', 'unicode-1-1-utf-8'];

// Body's formData(): the FormData a body of `contentType` holds.
export function parseFormData(body, contentType) {
  // The body is read as text first, which drops a leading UTF-8 BOM, as workerd's does.
  const bom = body.length >= 3 && body[0] === 0xEF && body[1] === 0xBB && body[2] === 0xBF;
  const bytes = bom ? body.subarray(3) : body;
  const formData = new FormData();
  const entries = entriesOf(formData);
  const mime = parseMimeType(contentType);
  if (mime !== null && essence(mime) === 'multipart/form-data') {
    const boundary = mime.params.get('boundary');
    if (boundary === undefined) {
      throw new TypeError('No boundary string in Content-Type header. The multipart/form-data MIME '
        + "type requires a boundary parameter, e.g. 'Content-Type: multipart/form-data; "
        + "boundary=\"abcd\"'. See RFC 7578, section 4.");
    }
    parseMultipart(bytes, boundary, entries);
    return formData;
  }
  if (mime !== null && essence(mime) === 'application/x-www-form-urlencoded') {
    const charset = mime.params.get('charset');
    if (charset !== undefined && !utf8Labels.includes(charset.toLowerCase())) {
      throw new TypeError('Non-utf-8 application/x-www-form-urlencoded body.');
    }
    const text = native.utf8Decode(bytes, false);
    for (const [name, value] of new URLSearchParams(text)) entries.push([name, value]);
    return formData;
  }
  throw new TypeError('Unrecognized Content-Type header value. FormData can only parse the '
    + 'following MIME types: multipart/form-data, application/x-www-form-urlencoded');
}
