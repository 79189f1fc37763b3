// FormData, its multipart/form-data serialization for bodies, and the parsing of
// multipart/form-data and application/x-www-form-urlencoded bodies for `body.formData()`, with
// workerd's rules and error messages. workerd's FormData is native: its methods, serialization
// and parsing call only built-ins captured in primordials.js, and its entries are an
// InternalList, so that members user code replaced change none of them.
import native from './native.js';
import { blobInternals } from './blob.js';
import { utf8Encode } from './encoding.js';
import { essence, parseMimeType } from './mime_type.js';
import {
  IteratorPrototype, defineInterface, illegalInvocation, inspectCustom, isObject, toUSVString,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';
import {
  InternalList, MapCtor, MapPrototypeGet, MapPrototypeHas, MapPrototypeSet, ObjectDefineProperty,
  ObjectSetPrototypeOf, RegExpPrototypeExec, ReflectApply, StringPrototypeCharCodeAt, StringPrototypeIndexOf,
  StringPrototypeSlice, StringPrototypeToLowerCase, TypedArrayLength, TypedArrayPrototypeSet, Uint8ArrayCtor,
  arrayFromList, bytesView, codeUnitsToString, listAppend,
} from './primordials.js';

const dateNow = Date.now;

// The entries of `entries` (an InternalList of [name, value]) for which keep(entry) holds.
function filterEntries(entries, keep) {
  const out = new InternalList();
  for (let i = 0; i < entries.length; i++) {
    if (keep(entries[i], i)) listAppend(out, entries[i]);
  }
  return out;
}

function indexOfName(entries, name) {
  for (let i = 0; i < entries.length; i++) {
    if (entries[i][0] === name) return i;
  }
  return -1;
}

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
  // [name, value] in order (an InternalList); values are strings or Files.
  #entries = new InternalList();

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
    listAppend(entries, [n, entryValue(n, value, filename, context, arguments.length)]);
  }

  delete(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'delete' on 'FormData'");
    this.#entries = filterEntries(entries, (entry) => entry[0] !== n);
  }

  get(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'get' on 'FormData'");
    const index = indexOfName(entries, n);
    return index === -1 ? null : entries[index][1];
  }

  getAll(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'getAll' on 'FormData'");
    const values = new InternalList();
    for (let i = 0; i < entries.length; i++) {
      if (entries[i][0] === n) listAppend(values, entries[i][1]);
    }
    return arrayFromList(values);
  }

  has(name) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const n = nameArg(name, "Failed to execute 'has' on 'FormData'");
    return indexOfName(entries, n) !== -1;
  }

  // Replaces the first entry of that name in place and removes the others.
  set(name, value, filename = undefined) {
    const entries = entriesOf(this);
    checkFormData(entries);
    const context = "Failed to execute 'set' on 'FormData'";
    const n = nameArg(name, context);
    const v = entryValue(n, value, filename, context, arguments.length);
    const index = indexOfName(entries, n);
    if (index === -1) {
      listAppend(entries, [n, v]);
      return;
    }
    entries[index] = [n, v];
    this.#entries = filterEntries(entries, (e, i) => i <= index || e[0] !== n);
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
      const entry = this.#entries[i];
      ReflectApply(callback, receiver, [entry[1], entry[0], this]);
    }
  }

  // Shown like a Map, as workerd shows it: FormData(1) { 'a' => '1' }.
  [inspectCustom](depth, options, inspect) {
    const map = new MapCtor();
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) MapPrototypeSet(map, entries[i][0], entries[i][1]);
    return `FormData${StringPrototypeSlice(inspect(map, options), 3)}`;
  }
}

defineInterface(FormData, 'FormData');
hideBase(FormData);
refuseClone(FormData, 'FormData');
const formDataEntries = FormData.prototype.entries;
ObjectDefineProperty(FormData.prototype, Symbol.iterator, {
  value: function entries() {
    return ReflectApply(formDataEntries, this, []);
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
    ObjectSetPrototypeOf(this, proto);
  }

  static next(iterator) {
    const entries = entriesOf(iterator.#target);
    if (iterator.#index >= entries.length) return { value: undefined, done: true };
    const entry = entries[iterator.#index++];
    if (iterator.#kind === 'key') return { value: entry[0], done: false };
    if (iterator.#kind === 'value') return { value: entry[1], done: false };
    return { value: [entry[0], entry[1]], done: false };
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
  if (value.length > 0 && value[value.length - 1] === '\\') {
    throw new TypeError("Name or filename can't end with backslash");
  }
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    out += c === '"' ? '%22' : c === '\n' ? '%0A' : c === '\\' ? '\\\\' : c;
  }
  return out;
}

// A boundary of 32 random hex digits, which never needs quoting in the Content-Type.
export function newBoundary() {
  const bytes = new Uint8Array(16);
  native.getRandomValues(bytes);
  const digits = '0123456789abcdef';
  let hex = '';
  for (let i = 0; i < 16; i++) hex += `${digits[bytes[i] >> 4]}${digits[bytes[i] & 15]}`;
  return hex;
}

// The multipart/form-data body of `formData` with `boundary`, as workerd writes it.
export function serializeFormData(formData, boundary) {
  const chunks = new InternalList();
  let size = 0;
  const add = (bytes) => {
    listAppend(chunks, bytes);
    size += TypedArrayLength(bytes);
  };
  const entries = entriesOf(formData);
  for (let i = 0; i < entries.length; i++) {
    const name = entries[i][0];
    const value = entries[i][1];
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
  const out = new Uint8ArrayCtor(size);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    TypedArrayPrototypeSet(out, chunks[i], offset);
    offset += TypedArrayLength(chunks[i]);
  }
  return out;
}

// --- Parsing ---------------------------------------------------------------------------------

// The body is handled as a "binary string" (one character per byte), so that the searches
// below work on bytes; text is decoded from UTF-8 only where a string comes out.
function toBinaryString(bytes) {
  return codeUnitsToString(bytes, TypedArrayLength(bytes));
}

function fromBinaryString(s) {
  const bytes = new Uint8ArrayCtor(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = StringPrototypeCharCodeAt(s, i);
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
const headerLine = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*)$/;

function parsePartHeaders(text) {
  const headers = new MapCtor();
  let start = 0;
  while (start <= text.length) {
    // The lines end at LF, the CR before it dropped.
    let end = StringPrototypeIndexOf(text, '\n', start);
    if (end === -1) end = text.length;
    const next = end + 1;
    if (end > start && text[end - 1] === '\r' && end < text.length) end--;
    const line = StringPrototypeSlice(text, start, end);
    start = next;
    if (line === '') continue;
    const match = RegExpPrototypeExec(headerLine, line);
    if (match === null) return null;
    const name = StringPrototypeToLowerCase(match[1]);
    MapPrototypeSet(headers, name,
      MapPrototypeHas(headers, name) ? `${MapPrototypeGet(headers, name)}, ${match[2]}` : match[2]);
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
    RegExpPrototypeExec(ws, text);
    pos = ws.lastIndex;
  };
  const identifier = () => {
    ident.lastIndex = pos;
    const m = RegExpPrototypeExec(ident, text);
    if (m === null) return null;
    pos = ident.lastIndex;
    return m[0];
  };
  skip();
  const value = identifier();
  if (value === null) return null;
  skip();
  const params = new InternalList();
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
              listAppend(params, [name, v]);
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

const headerEnd = /\r?\n\r?\n/;

// Parses a multipart/form-data body into `entries` (an InternalList). Parts are delimited by "--boundary" at the
// start and by LF + "--boundary" after that (the CR before it is optional and dropped).
function parseMultipart(bytes, boundary, entries) {
  const boundaryText = toBinaryString(utf8Encode(boundary));
  const delimiter = `\n--${boundaryText}`;
  let rest = toBinaryString(bytes);
  const split = (text, sub) => {
    const index = StringPrototypeIndexOf(text, sub);
    if (index === -1) return { head: text, tail: '' };
    return { head: StringPrototypeSlice(text, 0, index), tail: StringPrototypeSlice(text, index + sub.length) };
  };
  rest = split(rest, StringPrototypeSlice(delimiter, 1)).tail;
  if (rest === '') throw parseError('No initial boundary string (or you have a truncated message).');
  for (;;) {
    if (rest[0] === '\n') rest = StringPrototypeSlice(rest, 1);
    else if (rest[0] === '\r' && rest[1] === '\n') rest = StringPrototypeSlice(rest, 2);
    else if (rest[0] === '-' && rest[1] === '-') return;
    else throw parseError("Boundary string was not succeeded by CRLF, LF, or '--'.");

    const end = RegExpPrototypeExec(headerEnd, rest);
    if (end === null) throw parseError('No multipart message header termination found.');
    const headerText = StringPrototypeSlice(rest, 0, end.index + end[0].length);
    rest = StringPrototypeSlice(rest, end.index + end[0].length);
    const headers = parsePartHeaders(headerText);
    if (headers === null) throw parseError('FormData part had invalid headers.');
    const dispositionText = MapPrototypeGet(headers, 'content-disposition');
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
    for (let i = 0; i < disposition.params.length; i++) {
      const key = disposition.params[i][0];
      if (key === 'name') name = disposition.params[i][1];
      else if (key === 'filename') filename = disposition.params[i][1];
    }
    if (name === undefined) {
      throw parseError('Content-Disposition header in FormData part is missing a name.');
    }
    const type = MapPrototypeGet(headers, 'content-type');

    const part = split(rest, delimiter);
    rest = part.tail;
    if (rest === '') throw parseError('No subsequent boundary string after multipart message.');
    const head = part.head;
    const message = head.length > 0 && head[head.length - 1] === '\r' ? StringPrototypeSlice(head, 0, -1) : head;
    if (filename === undefined) {
      listAppend(entries, [decodeBinary(name), decodeBinary(message)]);
    } else {
      listAppend(entries, [decodeBinary(name), blobInternals.createFile(fromBinaryString(message),
        decodeBinary(filename), type === undefined ? '' : decodeBinary(type), dateNow())]);
    }
  }
}

function isUtf8Label(label) {
  return label === 'utf-8' || label === 'utf8' || label === 'unicode-1-1-utf-8';
}

// application/x-www-form-urlencoded parsing (the URL standard's), into `entries`: name and value
// split at the first '=', '+' read as a space, then percent-decoded as bytes and decoded from
// UTF-8 (U+FFFD for what is not). By hand rather than with URLSearchParams, whose library calls
// the members user code may replace.
function percentDecodeForm(s) {
  const bytes = utf8Encode(s);
  const length = TypedArrayLength(bytes);
  const out = new Uint8ArrayCtor(length);
  let n = 0;
  for (let i = 0; i < length; i++) {
    const b = bytes[i];
    const high = i + 2 < length ? hexValue(bytes[i + 1]) : -1;
    const low = high === -1 ? -1 : hexValue(bytes[i + 2]);
    if (b === 0x25 && low !== -1) {
      out[n++] = (high << 4) | low;
      i += 2;
    } else {
      out[n++] = b === 0x2B ? 0x20 : b;
    }
  }
  return native.utf8Decode(bytesView(out, 0, n), false);
}

function hexValue(b) {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

function parseUrlencoded(text, entries) {
  let start = 0;
  while (start < text.length) {
    let end = StringPrototypeIndexOf(text, '&', start);
    if (end === -1) end = text.length;
    const sequence = StringPrototypeSlice(text, start, end);
    start = end + 1;
    if (sequence === '') continue;
    const eq = StringPrototypeIndexOf(sequence, '=');
    const name = eq === -1 ? sequence : StringPrototypeSlice(sequence, 0, eq);
    const value = eq === -1 ? '' : StringPrototypeSlice(sequence, eq + 1);
    listAppend(entries, [percentDecodeForm(name), percentDecodeForm(value)]);
  }
}

// Body's formData(): the FormData a body of `contentType` holds.
export function parseFormData(body, contentType) {
  // The body is read as text first, which drops a leading UTF-8 BOM, as workerd's does.
  const length = TypedArrayLength(body);
  const bom = length >= 3 && body[0] === 0xEF && body[1] === 0xBB && body[2] === 0xBF;
  const bytes = bom ? bytesView(body, 3, length) : body;
  const formData = new FormData();
  const entries = entriesOf(formData);
  const mime = parseMimeType(contentType);
  if (mime !== null && essence(mime) === 'multipart/form-data') {
    const boundary = MapPrototypeGet(mime.params, 'boundary');
    if (boundary === undefined) {
      throw new TypeError('No boundary string in Content-Type header. The multipart/form-data MIME '
        + "type requires a boundary parameter, e.g. 'Content-Type: multipart/form-data; "
        + "boundary=\"abcd\"'. See RFC 7578, section 4.");
    }
    parseMultipart(bytes, boundary, entries);
    return formData;
  }
  if (mime !== null && essence(mime) === 'application/x-www-form-urlencoded') {
    const charset = MapPrototypeGet(mime.params, 'charset');
    if (charset !== undefined && !isUtf8Label(StringPrototypeToLowerCase(charset))) {
      throw new TypeError('Non-utf-8 application/x-www-form-urlencoded body.');
    }
    parseUrlencoded(native.utf8Decode(bytes, false), entries);
    return formData;
  }
  throw new TypeError('Unrecognized Content-Type header value. FormData can only parse the '
    + 'following MIME types: multipart/form-data, application/x-www-form-urlencoded');
}
