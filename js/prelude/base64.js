import { DOMException } from './dom_exception.js';
import { toDOMString } from './webidl.js';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const sextets = new Int8Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) sextets[alphabet.charCodeAt(i)] = i;

const INVALID_BASE64 = "atob() called with invalid base64-encoded data. (Only whitespace, '+', '/', "
  + "alphanumeric ASCII, and up to two terminal '=' signs when the input data length is divisible by 4 are allowed.)";

function invalidCharacter(message) {
  return new DOMException(message, 'InvalidCharacterError');
}

// workerd's texts for a missing argument (any value is converted to a string).
export function btoa(data) {
  if (arguments.length < 1) {
    throw new TypeError("Failed to execute 'btoa' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'String'.");
  }
  const s = toDOMString(data);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0xFF) {
      throw invalidCharacter('btoa() can only operate on characters in the Latin1 (ISO/IEC 8859-1) range.');
    }
  }
  let out = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const triple = (s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8) | s.charCodeAt(i + 2);
    out += alphabet[triple >> 18] + alphabet[(triple >> 12) & 63]
      + alphabet[(triple >> 6) & 63] + alphabet[triple & 63];
  }
  if (n - i === 1) {
    const b = s.charCodeAt(i);
    out += alphabet[b >> 2] + alphabet[(b & 3) << 4] + '==';
  } else if (n - i === 2) {
    const pair = (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
    out += alphabet[pair >> 10] + alphabet[(pair >> 4) & 63] + alphabet[(pair & 15) << 2] + '=';
  }
  return out;
}

// HTML's forgiving-base64 decode, producing a string with one code unit per byte.
export function atob(data) {
  if (arguments.length < 1) {
    throw new TypeError("Failed to execute 'atob' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'string'.");
  }
  let s = toDOMString(data).replace(/[\t\n\f\r ]+/g, '');
  if (s.length % 4 === 0) {
    if (s.endsWith('==')) s = s.slice(0, -2);
    else if (s.endsWith('=')) s = s.slice(0, -1);
  }
  if (s.length % 4 === 1) {
    throw invalidCharacter(INVALID_BASE64);
  }
  const n = s.length;
  const bytes = new Uint8Array(Math.floor((n * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let length = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const value = c < 128 ? sextets[c] : -1;
    if (value < 0) {
      throw invalidCharacter(INVALID_BASE64);
    }
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[length++] = (buffer >> bits) & 0xFF;
      buffer &= (1 << bits) - 1;
    }
  }
  // Leftover bits (4 or 2) are discarded, whatever their value, as the algorithm says.
  let out = '';
  for (let i = 0; i < length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, length)));
  }
  return out;
}
