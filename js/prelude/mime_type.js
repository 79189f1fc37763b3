// MIME types as the WHATWG MIME Sniffing standard parses and serializes them, for the
// Content-Type checks of FormData parsing and the type of `body.blob()`. Only built-ins captured
// in primordials.js are called (the parsing runs on every `formData()` and `blob()`, where user
// code may have replaced String, RegExp, Map or Array members).
import {
  InternalList, MapCtor, MapPrototypeGet, MapPrototypeHas, MapPrototypeSet, StringPrototypeCharCodeAt,
  StringPrototypeIndexOf, StringPrototypeSlice, StringPrototypeToLowerCase, listAppend, mapForEach,
  regExpMatches,
} from './primordials.js';

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const quotedStringValuePattern = /^[\t\x20-\x7E\x80-\xFF]*$/;

function isHttpWhitespace(c) {
  return c === 0x09 || c === 0x0A || c === 0x0D || c === 0x20;
}

// `s` without trailing HTTP whitespace (tab, LF, CR, space), or also without leading when `both`.
function trimHttpWhitespace(s, both = true) {
  let start = 0;
  let end = s.length;
  if (both) {
    while (start < end && isHttpWhitespace(StringPrototypeCharCodeAt(s, start))) start++;
  }
  while (end > start && isHttpWhitespace(StringPrototypeCharCodeAt(s, end - 1))) end--;
  return start === 0 && end === s.length ? s : StringPrototypeSlice(s, start, end);
}

// A parsed MIME type: lowercase `type` and `subtype`, and `params`, a Map of lowercase names to
// values in the order first seen. Returns null when `input` is not a valid MIME type.
export function parseMimeType(input) {
  const s = trimHttpWhitespace(input);
  let pos = StringPrototypeIndexOf(s, '/');
  if (pos === -1) return null;
  const type = StringPrototypeSlice(s, 0, pos);
  if (type === '' || !regExpMatches(tokenPattern, type)) return null;
  let end = StringPrototypeIndexOf(s, ';', pos + 1);
  if (end === -1) end = s.length;
  const subtype = trimHttpWhitespace(StringPrototypeSlice(s, pos + 1, end), false);
  if (subtype === '' || !regExpMatches(tokenPattern, subtype)) return null;
  const params = new MapCtor();
  pos = end;
  while (pos < s.length) {
    pos++; // the ';'
    while (pos < s.length && isHttpWhitespace(StringPrototypeCharCodeAt(s, pos))) pos++;
    let nameEnd = pos;
    while (nameEnd < s.length && s[nameEnd] !== ';' && s[nameEnd] !== '=') nameEnd++;
    const name = StringPrototypeToLowerCase(StringPrototypeSlice(s, pos, nameEnd));
    pos = nameEnd;
    if (pos < s.length && s[pos] === ';') continue;
    if (pos >= s.length) break;
    pos++; // the '='
    let value;
    if (s[pos] === '"') {
      value = '';
      pos++;
      while (pos < s.length) {
        const c = s[pos];
        if (c === '"') break;
        if (c === '\\') {
          pos++;
          if (pos >= s.length) {
            value += '\\';
            break;
          }
        }
        value += s[pos];
        pos++;
      }
      while (pos < s.length && s[pos] !== ';') pos++;
    } else {
      let valueEnd = StringPrototypeIndexOf(s, ';', pos);
      if (valueEnd === -1) valueEnd = s.length;
      value = trimHttpWhitespace(StringPrototypeSlice(s, pos, valueEnd), false);
      pos = valueEnd;
      if (value === '') continue;
    }
    if (name !== '' && regExpMatches(tokenPattern, name) && regExpMatches(quotedStringValuePattern, value)
      && !MapPrototypeHas(params, name)) {
      MapPrototypeSet(params, name, value);
    }
  }
  return { type: StringPrototypeToLowerCase(type), subtype: StringPrototypeToLowerCase(subtype), params };
}

export function essence(mime) {
  return `${mime.type}/${mime.subtype}`;
}

export function serializeMimeType(mime) {
  let out = essence(mime);
  mapForEach(mime.params, (name, value) => {
    // workerd writes a space before the boundary parameter alone (as HTML's form submission
    // writes it).
    out += name === 'boundary' ? '; boundary=' : `;${name}=`;
    if (value === '' || !regExpMatches(tokenPattern, value)) {
      // '"' and '\\' escaped with a backslash.
      let quoted = '';
      for (let i = 0; i < value.length; i++) {
        const c = value[i];
        quoted += c === '"' || c === '\\' ? `\\${c}` : c;
      }
      out += `"${quoted}"`;
    } else {
      out += value;
    }
  });
  return out;
}

// Splits a header value at commas outside quoted strings (Fetch's "getting, decoding, and
// splitting"), into an InternalList.
function splitHeaderValue(value) {
  const values = new InternalList();
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      current += c;
      if (c === '\\' && i + 1 < value.length) current += value[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      current += c;
    } else if (c === ',') {
      listAppend(values, trimHttpWhitespace(current));
      current = '';
    } else {
      current += c;
    }
  }
  listAppend(values, trimHttpWhitespace(current));
  return values;
}

// Fetch's "extract a MIME type" from a Content-Type header value (null when there is none).
export function extractMimeType(headerValue) {
  if (headerValue === null) return null;
  let mime = null;
  let charset = null;
  let lastEssence = null;
  const values = splitHeaderValue(headerValue);
  for (let i = 0; i < values.length; i++) {
    const parsed = parseMimeType(values[i]);
    if (parsed === null || essence(parsed) === '*/*') continue;
    mime = parsed;
    const valueCharset = MapPrototypeGet(parsed.params, 'charset');
    if (essence(parsed) !== lastEssence) {
      lastEssence = essence(parsed);
      charset = valueCharset === undefined ? null : valueCharset;
    } else if (valueCharset === undefined && charset !== null) {
      MapPrototypeSet(mime.params, 'charset', charset);
    }
  }
  return mime;
}
