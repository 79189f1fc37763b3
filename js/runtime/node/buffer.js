// node:buffer: the `buffer` package (the Buffer of browserify, with every encoding Node has:
// utf8, hex, base64, base64url, latin1/binary, ascii, utf16le), with the exports workerd adds.
import bufferPackage from 'buffer';

export const { Buffer, SlowBuffer, INSPECT_MAX_BYTES, kMaxLength } = bufferPackage;

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

export default {
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
