// node:crypto, the part workerd users reach for most: hashes and HMACs (over the WebCrypto
// natives' synchronous digest and hmac), random bytes and UUIDs (the global crypto's, with its
// 64 KiB limit, as on workerd), timingSafeEqual, and webcrypto/subtle.
import { native } from '../native.js';
import bufferModule from './buffer.js';

const { Buffer } = bufferModule;
const digestNative = native.digest;
const hmacNative = native.hmac;
const pbkdf2Native = native.pbkdf2;
const hkdfNative = native.hkdf;
const ArrayBufferCtor = ArrayBuffer;
const webcrypto = globalThis.crypto;
const getRandomValues = webcrypto.getRandomValues.bind(webcrypto);
const randomUUIDOriginal = webcrypto.randomUUID.bind(webcrypto);
const subtle = webcrypto.subtle;
const Uint8ArrayCtor = Uint8Array;
const isView = ArrayBuffer.isView;

// Node's digest names (any case, with an optional "RSA-" prefix) to the natives' names.
const DIGESTS = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512', md5: 'MD5' };

function digestName(algorithm) {
  let name = String(algorithm).toLowerCase();
  if (name.startsWith('rsa-')) name = name.slice(4);
  name = name.replace('sha-', 'sha');
  return Object.hasOwn(DIGESTS, name) ? DIGESTS[name] : undefined;
}

function invalidType(what) {
  const error = new TypeError(`The "${what}" argument must be of type string or an instance of Buffer, TypedArray, or DataView.`);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

// The bytes of `data` (a string in `encoding`, utf8 by default, or bytes), as a copy.
function bytesOf(data, encoding, what) {
  if (typeof data === 'string') return new Uint8ArrayCtor(Buffer.from(data, encoding ?? 'utf8'));
  if (isView(data)) return new Uint8ArrayCtor(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (data instanceof ArrayBuffer) return new Uint8ArrayCtor(data.slice(0));
  throw invalidType(what);
}

function concat(chunks) {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const all = new Uint8ArrayCtor(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

function finalized() {
  const error = new Error('Digest already called');
  error.code = 'ERR_CRYPTO_HASH_FINALIZED';
  return error;
}

function output(bytes, encoding) {
  const buffer = Buffer.from(bytes);
  return encoding === undefined || encoding === 'buffer' ? buffer : buffer.toString(encoding);
}

// The chunks a Hash has so far, for copy() (throws once digested). Module-private, so instances
// show no API beyond Node's.
let chunksToCopy;

// The data of a Hash or Hmac is kept until digest(): the natives take it whole. What the two
// share: update() and digest() over the chunks, `compute` turning them into the digest's bytes.
class Digester {
  #chunks;
  #compute;
  #done = false;

  constructor(chunks, compute) {
    this.#chunks = chunks;
    this.#compute = compute;
  }

  update(data, encoding = undefined) {
    if (this.#done) throw finalized();
    this.#chunks.push(bytesOf(data, encoding, 'data'));
    return this;
  }

  digest(encoding = undefined) {
    if (this.#done) throw finalized();
    this.#done = true;
    return output(new Uint8ArrayCtor(this.#compute(concat(this.#chunks))), encoding);
  }

  static {
    chunksToCopy = (digester) => {
      if (digester.#done) throw finalized();
      return [...digester.#chunks];
    };
  }
}

export class Hash extends Digester {
  #algorithm;

  constructor(algorithm, chunks = []) {
    const name = digestName(algorithm);
    if (name === undefined) throw new Error('Digest method not supported');
    super(chunks, (data) => digestNative(name, data));
    this.#algorithm = name;
  }

  copy() {
    return new Hash(this.#algorithm, chunksToCopy(this));
  }
}

export class Hmac extends Digester {
  constructor(algorithm, key) {
    const name = digestName(algorithm);
    if (name === undefined) {
      const error = new TypeError(`Invalid digest: ${algorithm}`);
      error.code = 'ERR_CRYPTO_INVALID_DIGEST';
      throw error;
    }
    const keyBytes = bytesOf(key, 'utf8', 'key');
    super([], (data) => hmacNative(name, keyBytes, data));
  }
}

export function createHash(algorithm) {
  return new Hash(algorithm);
}

export function createHmac(algorithm, key) {
  return new Hmac(algorithm, key);
}

// crypto.hash(algorithm, data, outputEncoding = 'hex'): a one-shot digest.
export function hash(algorithm, data, outputEncoding = 'hex') {
  return new Hash(algorithm).update(data).digest(outputEncoding);
}

function outOfRange(name, min, max, value) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be >= ${min} && <= ${max}. Received ${value}`);
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

function checkInteger(name, value, min, max) {
  if (typeof value !== 'number') {
    const error = new TypeError(`The "${name}" argument must be of type number. Received type ${typeof value}`);
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, min, max, value);
}

// The natives' bound on PBKDF2's work, as for crypto.subtle (Cloudflare's WebCrypto limit);
// workerd's node:crypto has none.
const MAX_PBKDF2_ITERATIONS = 100000;

export function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const passwordBytes = bytesOf(password, 'utf8', 'password');
  const saltBytes = bytesOf(salt, 'utf8', 'salt');
  checkInteger('iterations', iterations, 1, 2147483647);
  checkInteger('keylen', keylen, 0, 2147483647);
  const name = digestName(digest);
  if (name === undefined) throw new TypeError(`Invalid Pbkdf2 digest: ${digest}.`);
  if (iterations > MAX_PBKDF2_ITERATIONS) {
    throw outOfRange('iterations', 1, MAX_PBKDF2_ITERATIONS, iterations);
  }
  if (keylen === 0) return Buffer.alloc(0);
  if (keylen > 16320) throw outOfRange('keylen', 0, 16320, keylen);
  return Buffer.from(pbkdf2Native(name, passwordBytes, saltBytes, iterations, keylen));
}

// pbkdf2(...args, callback): pbkdf2Sync's result or error, given to callback in a microtask.
export function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  if (typeof callback !== 'function') {
    const error = new TypeError('The "callback" argument must be of type function.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  const key = pbkdf2Sync(password, salt, iterations, keylen, digest);
  queueMicrotask(() => callback(null, key));
}

export function hkdfSync(digest, ikm, salt, info, keylen) {
  const name = digestName(digest);
  if (name === undefined || name === 'MD5') {
    const error = new TypeError(`Invalid digest: ${digest}`);
    error.code = 'ERR_CRYPTO_INVALID_DIGEST';
    throw error;
  }
  const keyBytes = bytesOf(ikm, 'utf8', 'ikm');
  const saltBytes = bytesOf(salt, 'utf8', 'salt');
  const infoBytes = bytesOf(info, 'utf8', 'info');
  checkInteger('keylen', keylen, 0, 2147483647);
  const result = keylen > 16320 ? null : hkdfNative(name, keyBytes, saltBytes, infoBytes, keylen);
  if (result === null) throw new RangeError('Invalid Hkdf key length');
  return result instanceof ArrayBufferCtor ? result : new Uint8ArrayCtor(result).buffer;
}

export function hkdf(digest, ikm, salt, info, keylen, callback) {
  if (typeof callback !== 'function') {
    const error = new TypeError('The "callback" argument must be of type function.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  const key = hkdfSync(digest, ikm, salt, info, keylen);
  queueMicrotask(() => callback(null, key));
}

export function getHashes() {
  return ['md5', 'sha1', 'sha256', 'sha384', 'sha512'];
}

export function randomBytes(size, callback = undefined) {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
    const error = new RangeError(`The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`);
    error.code = 'ERR_OUT_OF_RANGE';
    throw error;
  }
  const bytes = Buffer.alloc(size);
  getRandomValues(bytes);
  if (typeof callback === 'function') {
    queueMicrotask(() => callback(null, bytes));
    return undefined;
  }
  return bytes;
}

export function randomUUID() {
  return randomUUIDOriginal();
}

export function timingSafeEqual(a, b) {
  if (!isView(a) && !(a instanceof ArrayBuffer)) throw invalidType('buf1');
  if (!isView(b) && !(b instanceof ArrayBuffer)) throw invalidType('buf2');
  const x = bytesOf(a, undefined, 'buf1');
  const y = bytesOf(b, undefined, 'buf2');
  if (x.length !== y.length) throw new TypeError('Input buffers must have the same byte length.');
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i] ^ y[i];
  return difference === 0;
}

export default {
  Hash,
  Hmac,
  createHash,
  createHmac,
  hash,
  getHashes,
  pbkdf2,
  pbkdf2Sync,
  hkdf,
  hkdfSync,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  getRandomValues,
  webcrypto,
  subtle,
};
