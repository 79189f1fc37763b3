// node:buffer: the `buffer` package (the Buffer of browserify, with every encoding Node has:
// utf8, hex, base64, base64url, latin1/binary, ascii, utf16le), with the exports workerd adds.
import bufferPackage from 'buffer';

export const { Buffer, SlowBuffer, INSPECT_MAX_BYTES, kMaxLength } = bufferPackage;
// Bundling renames the package's function (Buffer4); code that prints a chunk's constructor.name
// sees "Buffer" on workerd.
Object.defineProperty(Buffer, 'name', { value: 'Buffer' });
Object.defineProperty(SlowBuffer, 'name', { value: 'SlowBuffer' });

// The package lacks Node's base64url encoding. Decoding needs nothing new (its base64 decoder
// takes the URL alphabet and missing padding), so the functions that take an encoding get
// 'base64' for it; toString() converts base64 to the URL alphabet without padding.
const isBase64url = (value) => typeof value === 'string' && value.toLowerCase() === 'base64url';
const apply = Reflect.apply;
function withBase64(fn, from) {
  return function (...args) {
    for (let i = from; i < args.length; i++) if (isBase64url(args[i])) args[i] = 'base64';
    return apply(fn, this, args);
  };
}
for (const [target, name, from] of [[Buffer, 'from', 1], [Buffer, 'alloc', 2], [Buffer, 'byteLength', 1],
  [Buffer.prototype, 'write', 1], [Buffer.prototype, 'fill', 1], [Buffer.prototype, 'indexOf', 1],
  [Buffer.prototype, 'lastIndexOf', 1], [Buffer.prototype, 'includes', 1]]) {
  target[name] = withBase64(target[name], from);
}
const isEncoding = Buffer.isEncoding;
Buffer.isEncoding = (encoding) => isBase64url(encoding) || isEncoding(encoding);
const toString = Buffer.prototype.toString;
Buffer.prototype.toString = function (encoding, ...rest) {
  if (!isBase64url(encoding)) return apply(toString, this, [encoding, ...rest]);
  return apply(toString, this, ['base64', ...rest])
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
export const constants = Object.freeze({ MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: 536870888 });
export const kStringMaxLength = constants.MAX_STRING_LENGTH;

const globalAtob = globalThis.atob;
const globalBtoa = globalThis.btoa;
const BlobClass = globalThis.Blob;
const FileClass = globalThis.File;

const TextDecoderCtor = globalThis.TextDecoder;
const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;

// workerd's check for isAscii and isUtf8: a Uint8Array (a Buffer is one), nothing else.
function requireUint8Array(value, method) {
  if (!ArrayBuffer.isView(value) || typedArrayTag.call(value) !== 'Uint8Array') {
    throw new TypeError(`Failed to execute '${method}' on 'BufferUtil': parameter 1 is not of type 'Uint8Array'.`);
  }
}

export function isAscii(input) {
  requireUint8Array(input, 'isAscii');
  for (let i = 0; i < input.length; i++) if (input[i] > 0x7f) return false;
  return true;
}

export function isUtf8(input) {
  requireUint8Array(input, 'isUtf8');
  try {
    new TextDecoderCtor('utf-8', { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}

// transcode(source, fromEncoding, toEncoding): the text of `source` re-encoded, between the
// encodings Node's transcode takes (utf8, utf16le/ucs2, latin1/binary, ascii).
const TRANSCODABLE = new Set(['utf8', 'utf-8', 'utf16le', 'utf-16le', 'ucs2', 'ucs-2', 'latin1', 'binary', 'ascii']);
export function transcode(source, fromEncoding, toEncoding) {
  if (!ArrayBuffer.isView(source) || typedArrayTag.call(source) !== 'Uint8Array') {
    const error = new TypeError('The "source" argument must be an instance of Buffer or Uint8Array.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  const from = String(fromEncoding).toLowerCase();
  const to = String(toEncoding).toLowerCase();
  if (!TRANSCODABLE.has(from) || !TRANSCODABLE.has(to)) {
    const error = new Error(`Unable to transcode Buffer [U_ILLEGAL_ARGUMENT_ERROR]`);
    error.code = 'U_ILLEGAL_ARGUMENT_ERROR';
    throw error;
  }
  const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  return Buffer.from(bytes.toString(from), to);
}

export default {
  isAscii,
  isUtf8,
  transcode,
  Buffer,
  SlowBuffer,
  INSPECT_MAX_BYTES,
  kMaxLength,
  kStringMaxLength,
  constants,
  atob: globalAtob,
  btoa: globalBtoa,
  Blob: BlobClass,
  File: FileClass,
};
