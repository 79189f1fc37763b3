// JSON Web Keys (RFC 7517) for crypto.subtle: base64url, reading a JsonWebKey dictionary from user
// input, and the JsonWebKey objects exportKey() returns.
import {
  TypeErrorCtor, Uint8ArrayCtor, append, byteLength, charCodeAt, isArray,
} from './crypto_intrinsics.js';
import { isObject, toDOMString } from './webidl.js';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const decodeTable = new Uint8ArrayCtor(128).fill(255);
for (let i = 0; i < 64; i++) decodeTable[charCodeAt(alphabet, i)] = i;

export function base64UrlEncode(bytes) {
  let out = '';
  const n = byteLength(bytes);
  for (let i = 0; i < n; i += 3) {
    const b0 = bytes[i];
    const b1 = i + 1 < n ? bytes[i + 1] : 0;
    const b2 = i + 2 < n ? bytes[i + 2] : 0;
    out += alphabet[b0 >> 2] + alphabet[((b0 & 3) << 4) | (b1 >> 4)];
    if (i + 1 < n) out += alphabet[((b1 & 15) << 2) | (b2 >> 6)];
    if (i + 2 < n) out += alphabet[b2 & 63];
  }
  return out;
}

// The bytes of a base64url string (padding optional), or null if it is not one.
export function base64UrlDecode(text) {
  let end = text.length;
  while (end > 0 && charCodeAt(text, end - 1) === 61 /* = */) end--;
  if (end % 4 === 1 || text.length - end > 2) return null;
  const out = new Uint8ArrayCtor((end * 3) >> 2);
  let bits = 0;
  let count = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = charCodeAt(text, i);
    const v = c < 128 ? decodeTable[c] : 255;
    if (v === 255) return null;
    bits = (bits << 6) | v;
    count += 6;
    if (count >= 8) {
      count -= 8;
      out[o++] = (bits >> count) & 255;
    }
  }
  return out;
}

// Besides kty (always read) and ext, key_ops and oth (not strings), in lexicographic order.
const sortedStringMembers = ['alg', 'crv', 'd', 'dp', 'dq', 'e', 'k', 'n', 'p', 'q', 'qi', 'use', 'x', 'y'];
const outputMembers = ['kty', 'key_ops', 'alg', 'ext', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

// A JsonWebKey dictionary read from user input: every member read once, strings converted, absent
// ones undefined. null when `value` is not an object. The result has no prototype.
export function readJsonWebKey(value) {
  if (!isObject(value)) return null;
  const jwk = { __proto__: null };
  // WebIDL reads dictionary members in lexicographic order.
  const kty = value.kty;
  jwk.kty = toDOMString(kty);
  for (let i = 0; i < sortedStringMembers.length; i++) {
    const name = sortedStringMembers[i];
    const member = value[name];
    jwk[name] = member === undefined ? undefined : toDOMString(member);
  }
  const ext = value.ext;
  jwk.ext = ext === undefined ? undefined : !!ext;
  const keyOps = value.key_ops;
  if (keyOps === undefined) {
    jwk.key_ops = undefined;
  } else {
    if (!isArray(keyOps)) {
      throw new TypeErrorCtor("Incorrect type for the 'key_ops' field on 'JsonWebKey': the provided value is not of type 'Array'.");
    }
    const ops = [];
    for (let i = 0; i < keyOps.length; i++) append(ops, toDOMString(keyOps[i]));
    jwk.key_ops = ops;
  }
  jwk.oth = value.oth;
  return jwk;
}

// The object exportKey('jwk') resolves to: every member workerd's JsonWebKey has, in its order,
// undefined where the key has none. `fields` holds the defined ones.
export function makeJsonWebKey(fields) {
  const jwk = {
    kty: undefined, use: undefined, key_ops: undefined, alg: undefined, ext: undefined,
    crv: undefined, x: undefined, y: undefined, d: undefined, n: undefined, e: undefined,
    p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined, oth: undefined,
    k: undefined, pub: undefined, priv: undefined,
  };
  for (let i = 0; i < outputMembers.length; i++) {
    const name = outputMembers[i];
    if (fields[name] !== undefined) jwk[name] = fields[name];
  }
  return jwk;
}
