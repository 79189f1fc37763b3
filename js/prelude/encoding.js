import native from './native.js';
import {
  defineInterface, requireArgs, requireBufferSource, toDictionary, toDOMString, typedArrayName,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';
import {
  MapCtor, MapPrototypeGet, MapPrototypeSet, StringPrototypeCharCodeAt, StringPrototypeSlice,
  StringPrototypeToLowerCase, TypedArrayBuffer, TypedArrayByteOffset, TypedArrayLength,
  TypedArrayPrototypeSet, Uint16ArrayCtor, Uint8ArrayCtor, bytesView, codeUnitsToString,
  copyBytes,
} from './primordials.js';

// The decoder's paths (decode(), streaming, the label lookup) call only built-ins captured in
// primordials.js and read typed arrays through the captured getters: workerd's TextDecoder is
// native, so a member user code replaced must change nothing here.

// Made as an object literal's member, so that V8 names the class's function TextEncoder in its
// own messages ("Cannot assign to read only property 'x' of object '#<TextEncoder>'"): the
// bundler renames a class declaration whose name another module uses as a global.
export const TextEncoder = { TextEncoder: class extends Uncloneable {
  constructor() {
    super();
  }

  get encoding() {
    return 'utf-8';
  }

  encode(input = '') {
    return native.utf8Encode(toDOMString(input));
  }

  encodeInto(source, destination) {
    requireArgs(arguments.length, 2, "Failed to execute 'encodeInto' on 'TextEncoder'");
    const string = toDOMString(source);
    // By its brand, as workerd: `instanceof` would take an object made from Uint8Array.prototype
    // (which the native then refused with its own contract's text) and consult an app's
    // Uint8Array[Symbol.hasInstance].
    if (typedArrayName(destination) !== 'Uint8Array') {
      throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
    }
    // By index: destructuring would call Array.prototype[Symbol.iterator], which user code may
    // have replaced (workerd's encodeInto runs none of it).
    const counts = native.utf8EncodeInto(string, destination);
    return { read: counts[0], written: counts[1] };
  }
} }.TextEncoder;

defineInterface(TextEncoder, 'TextEncoder');
hideBase(TextEncoder);
refuseClone(TextEncoder, 'TextEncoder');

const labels = new MapCtor();
function addLabels(encoding, names) {
  for (let i = 0; i < names.length; i++) MapPrototypeSet(labels, names[i], encoding);
}
addLabels('utf-8', [
  'unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8',
]);
addLabels('utf-16le', [
  'csunicode', 'iso-10646-ucs-2', 'ucs-2', 'unicode', 'unicodefeff', 'utf-16', 'utf-16le',
]);
addLabels('utf-16be', ['unicodefffe', 'utf-16be']);
addLabels('windows-1252', [
  'ansi_x3.4-1968', 'ascii', 'cp1252', 'cp819', 'csisolatin1', 'ibm819', 'iso-8859-1', 'iso-ir-100',
  'iso8859-1', 'iso88591', 'iso_8859-1', 'iso_8859-1:1987', 'l1', 'latin1', 'us-ascii',
  'windows-1252', 'x-cp1252',
]);

function invalidData() {
  return new TypeError('Failed to decode input.');
}

// Bytes 0x80-0x9F of windows-1252; all other bytes map to the code point of the same value.
const windows1252High = [
  0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
  0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
];

function decodeWindows1252(bytes) {
  const length = TypedArrayLength(bytes);
  const units = new Uint16ArrayCtor(length);
  for (let i = 0; i < length; i++) {
    const b = bytes[i];
    units[i] = b >= 0x80 && b <= 0x9F ? windows1252High[b - 0x80] : b;
  }
  return codeUnitsToString(units, length);
}

// How many bytes at the end of `bytes` begin a UTF-8 sequence that more input could complete.
// Only valid prefixes are held back, so invalid bytes are reported at the same point as in a
// one-shot decode.
function utf8IncompleteTail(bytes) {
  const n = TypedArrayLength(bytes);
  for (let i = 1; i <= 3 && i <= n; i++) {
    const b = bytes[n - i];
    if (b >= 0x80 && b <= 0xBF) continue;
    let needed;
    if (b >= 0xC2 && b <= 0xDF) needed = 2;
    else if (b >= 0xE0 && b <= 0xEF) needed = 3;
    else if (b >= 0xF0 && b <= 0xF4) needed = 4;
    else return 0;
    if (i >= needed) return 0;
    if (i >= 2) {
      const second = bytes[n - i + 1];
      let low = 0x80;
      let high = 0xBF;
      if (b === 0xE0) low = 0xA0;
      else if (b === 0xED) high = 0x9F;
      else if (b === 0xF0) low = 0x90;
      else if (b === 0xF4) high = 0x8F;
      if (second < low || second > high) return 0;
    }
    return i;
  }
  return 0;
}

function decodeUtf16(bytes, bigEndian, fatal, flush) {
  const byteCount = TypedArrayLength(bytes);
  const unitCount = byteCount >> 1;
  let end = unitCount;
  const unitAt = bigEndian
    ? (i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]
    : (i) => bytes[2 * i] | (bytes[2 * i + 1] << 8);
  // A lead surrogate at the end may be completed by the next chunk.
  if (!flush && end > 0) {
    const last = unitAt(end - 1);
    if (last >= 0xD800 && last <= 0xDBFF) end--;
  }
  const units = new Uint16ArrayCtor(end + 1);
  let length = 0;
  for (let i = 0; i < end; i++) {
    const unit = unitAt(i);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const next = i + 1 < end ? unitAt(i + 1) : -1;
      if (next >= 0xDC00 && next <= 0xDFFF) {
        units[length++] = unit;
        units[length++] = next;
        i++;
        continue;
      }
      if (fatal) throw invalidData();
      units[length++] = 0xFFFD;
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      if (fatal) throw invalidData();
      units[length++] = 0xFFFD;
    } else {
      units[length++] = unit;
    }
  }
  const consumed = end * 2;
  if (flush && consumed < byteCount) {
    // An odd trailing byte.
    if (fatal) throw invalidData();
    return { text: `${codeUnitsToString(units, length)}\uFFFD`, rest: null };
  }
  const rest = consumed < byteCount ? copyBytes(bytesView(bytes, consumed, byteCount)) : null;
  return { text: codeUnitsToString(units, length), rest };
}

function concatBytes(a, b) {
  const aLength = TypedArrayLength(a);
  const out = new Uint8ArrayCtor(aLength + TypedArrayLength(b));
  TypedArrayPrototypeSet(out, a, 0);
  TypedArrayPrototypeSet(out, b, aLength);
  return out;
}

// `s` without leading and trailing ASCII whitespace (an encoding label's, as the Encoding
// standard trims it), by hand: a regular expression's replace() is replaceable.
function isAsciiWhitespace(c) {
  return c === 0x09 || c === 0x0A || c === 0x0C || c === 0x0D || c === 0x20;
}
function trimAsciiWhitespace(s) {
  let start = 0;
  let end = s.length;
  while (start < end && isAsciiWhitespace(StringPrototypeCharCodeAt(s, start))) start++;
  while (end > start && isAsciiWhitespace(StringPrototypeCharCodeAt(s, end - 1))) end--;
  return StringPrototypeSlice(s, start, end);
}

// Made as an object literal's member, so that V8 names the class's function TextDecoder in its
// own messages ("Cannot assign to read only property 'x' of object '#<TextDecoder>'"): the
// bundler renames a class declaration whose name another module uses as a global.
export const TextDecoder = { TextDecoder: class extends Uncloneable {
  #encoding;
  #fatal;
  #ignoreBOM;
  // Bytes held back from the previous streaming call, and whether the stream's start was seen.
  #pending = null;
  #bomSeen = false;

  constructor(label = 'utf-8', options = undefined) {
    super();
    const name = toDOMString(label);
    const opts = toDictionary(options, "Failed to construct 'TextDecoder'");
    const fatal = !!opts.fatal;
    const ignoreBOM = !!opts.ignoreBOM;
    const encoding = MapPrototypeGet(labels, StringPrototypeToLowerCase(trimAsciiWhitespace(name)));
    if (encoding === undefined) {
      throw new RangeError(`"${name}" is not a valid encoding.`);
    }
    this.#encoding = encoding;
    this.#fatal = fatal;
    this.#ignoreBOM = ignoreBOM;
  }

  get encoding() {
    return this.#encoding;
  }

  get fatal() {
    return this.#fatal;
  }

  get ignoreBOM() {
    return this.#ignoreBOM;
  }

  decode(input = undefined, options = undefined) {
    const context = "Failed to execute 'decode' on 'TextDecoder'";
    let bytes = input === undefined
      ? new Uint8ArrayCtor(0)
      : requireBufferSource(input, context, true);
    const stream = !!toDictionary(options, context).stream;
    if (this.#pending !== null) {
      bytes = concatBytes(this.#pending, bytes);
      this.#pending = null;
    }
    let text;
    try {
      text = this.#decodeBytes(bytes, stream);
    } catch (error) {
      this.#pending = null;
      this.#bomSeen = false;
      throw error;
    }
    if (!this.#bomSeen && text.length > 0) {
      this.#bomSeen = true;
      if (!this.#ignoreBOM && StringPrototypeCharCodeAt(text, 0) === 0xFEFF) text = StringPrototypeSlice(text, 1);
    }
    if (!stream) {
      this.#pending = null;
      this.#bomSeen = false;
    }
    return text;
  }

  #decodeBytes(bytes, stream) {
    switch (this.#encoding) {
      case 'utf-8': {
        const hold = stream ? utf8IncompleteTail(bytes) : 0;
        if (hold > 0) {
          const length = TypedArrayLength(bytes);
          this.#pending = copyBytes(bytesView(bytes, length - hold, length));
          bytes = bytesView(bytes, 0, length - hold);
        }
        return native.utf8Decode(bytes, this.#fatal);
      }
      case 'utf-16le':
      case 'utf-16be': {
        const decoded = decodeUtf16(bytes, this.#encoding === 'utf-16be', this.#fatal, !stream);
        this.#pending = decoded.rest;
        return decoded.text;
      }
      default:
        return decodeWindows1252(bytes);
    }
  }
} }.TextDecoder;

defineInterface(TextDecoder, 'TextDecoder');
hideBase(TextDecoder);
refuseClone(TextDecoder, 'TextDecoder');

// UTF-8 decode as the Fetch body methods use it: a leading BOM is dropped, errors become U+FFFD.
// `bytes` a Uint8Array (a body's): read with the getters captured at load (primordials.js).
export function utf8DecodeWithBOM(bytes) {
  if (TypedArrayLength(bytes) >= 3 && bytes[0] === 0xEF && bytes[1] === 0xBB && bytes[2] === 0xBF) {
    bytes = new Uint8ArrayCtor(TypedArrayBuffer(bytes), TypedArrayByteOffset(bytes) + 3, TypedArrayLength(bytes) - 3);
  }
  return native.utf8Decode(bytes, false);
}

export function utf8Encode(string) {
  return native.utf8Encode(string);
}
