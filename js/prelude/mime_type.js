// MIME types as the WHATWG MIME Sniffing standard parses and serializes them, for the
// Content-Type checks of FormData parsing and the type of `body.blob()`.

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const quotedStringValuePattern = /^[\t\x20-\x7E\x80-\xFF]*$/;
const httpWhitespace = /^[\t\n\r ]+|[\t\n\r ]+$/g;

// A parsed MIME type: lowercase `type` and `subtype`, and `params`, a Map of lowercase names to
// values in the order first seen. Returns null when `input` is not a valid MIME type.
export function parseMimeType(input) {
  const s = input.replace(httpWhitespace, '');
  let pos = s.indexOf('/');
  if (pos === -1) return null;
  const type = s.slice(0, pos);
  if (type === '' || !tokenPattern.test(type)) return null;
  let end = s.indexOf(';', pos + 1);
  if (end === -1) end = s.length;
  const subtype = s.slice(pos + 1, end).replace(/[\t\n\r ]+$/, '');
  if (subtype === '' || !tokenPattern.test(subtype)) return null;
  const params = new Map();
  pos = end;
  while (pos < s.length) {
    pos++; // the ';'
    while (pos < s.length && '\t\n\r '.includes(s[pos])) pos++;
    let nameEnd = pos;
    while (nameEnd < s.length && s[nameEnd] !== ';' && s[nameEnd] !== '=') nameEnd++;
    const name = s.slice(pos, nameEnd).toLowerCase();
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
      let valueEnd = s.indexOf(';', pos);
      if (valueEnd === -1) valueEnd = s.length;
      value = s.slice(pos, valueEnd).replace(/[\t\n\r ]+$/, '');
      pos = valueEnd;
      if (value === '') continue;
    }
    if (name !== '' && tokenPattern.test(name) && quotedStringValuePattern.test(value)
      && !params.has(name)) {
      params.set(name, value);
    }
  }
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params };
}

export function essence(mime) {
  return `${mime.type}/${mime.subtype}`;
}

export function serializeMimeType(mime) {
  let out = essence(mime);
  for (const [name, value] of mime.params) {
    // workerd writes a space before the boundary parameter alone (as HTML's form submission
    // writes it).
    out += name === 'boundary' ? '; boundary=' : `;${name}=`;
    if (value === '' || !tokenPattern.test(value)) {
      out += `"${value.replace(/["\\]/g, '\\$&')}"`;
    } else {
      out += value;
    }
  }
  return out;
}

// Splits a header value at commas outside quoted strings (Fetch's "getting, decoding, and
// splitting").
function splitHeaderValue(value) {
  const values = [];
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
      values.push(current.replace(httpWhitespace, ''));
      current = '';
    } else {
      current += c;
    }
  }
  values.push(current.replace(httpWhitespace, ''));
  return values;
}

// Fetch's "extract a MIME type" from a Content-Type header value (null when there is none).
export function extractMimeType(headerValue) {
  if (headerValue === null) return null;
  let mime = null;
  let charset = null;
  let lastEssence = null;
  for (const value of splitHeaderValue(headerValue)) {
    const parsed = parseMimeType(value);
    if (parsed === null || essence(parsed) === '*/*') continue;
    mime = parsed;
    const valueCharset = parsed.params.get('charset');
    if (essence(parsed) !== lastEssence) {
      lastEssence = essence(parsed);
      charset = valueCharset === undefined ? null : valueCharset;
    } else if (valueCharset === undefined && charset !== null) {
      mime.params.set('charset', charset);
    }
  }
  return mime;
}
