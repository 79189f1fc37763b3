import native from './native.js';
import { makeDOMException } from './dom_exception.js';
import { isObject, requireArgs, toDictionary } from './webidl.js';

const isArrayBuffer = (value) => {
  try {
    Reflect.apply(byteLengthGetter, value, []);
    return true;
  } catch {
    return false;
  }
};
const byteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;

// Values are copied through V8's serializer. ArrayBuffers listed in `transfer` are transferred:
// the clone gets their contents and the originals are detached (byteLength 0), as in workerd.
export function structuredClone(value, options = undefined) {
  const context = "Failed to execute 'structuredClone'";
  requireArgs(arguments.length, 1, context);
  const transfer = toDictionary(options, context).transfer;
  const buffers = [];
  if (transfer !== undefined) {
    if (!isObject(transfer) || typeof transfer[Symbol.iterator] !== 'function') {
      throw new TypeError(`${context}: transfer is not iterable.`);
    }
    for (const item of transfer) {
      if (!isObject(item)) throw new TypeError(`${context}: transfer contains a value that is not an object.`);
      if (!isArrayBuffer(item)) {
        throw makeDOMException('Value not transferable', 'DataCloneError');
      }
      if (buffers.includes(item)) {
        throw makeDOMException('ArrayBuffer at index 1 is a duplicate of an earlier ArrayBuffer. Duplicates are not allowed.', 'DataCloneError');
      }
      buffers.push(item);
    }
  }
  const result = native.deserialize(native.serialize(value));
  for (const buffer of buffers) native.detachArrayBuffer(buffer);
  return result;
}
