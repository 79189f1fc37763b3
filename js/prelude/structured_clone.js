import native from './native.js';
import { makeDOMException } from './dom_exception.js';
import {
  InternalList, ObjectGetOwnPropertyDescriptor, ReflectApply, listAppend,
} from './primordials.js';
import { isObject, requireArgs, toDictionary } from './webidl.js';

const isArrayBuffer = (value) => {
  try {
    ReflectApply(byteLengthGetter, value, []);
    return true;
  } catch {
    return false;
  }
};
const byteLengthGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const detachedGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached')?.get;

// The streams library's TransferArrayBuffer (js/build/streams_library.mjs), which it would do with
// the global structuredClone (or the buffer's own transfer()) as user code left them: what
// `structuredClone(buffer, {transfer: [buffer]})` answers, without reading the list.
// A detachable buffer's memory moves to the result; another (a WebAssembly memory's) is copied
// and left attached, as before the move.
export function transferArrayBuffer(buffer) {
  if (!isArrayBuffer(buffer)) throw makeDOMException('Value not transferable', 'DataCloneError');
  const moved = native.transferArrayBuffer(buffer);
  if (moved !== undefined) return moved;
  const result = native.deserialize(native.serialize(buffer));
  native.detachArrayBuffer(buffer);
  return result;
}

// The library's IsDetachedBuffer, by the captured getters (`detached` where V8 has it; else a
// detached buffer's byteLength, 0). Not an ArrayBuffer (a SharedArrayBuffer): never detached.
export function isDetachedArrayBuffer(buffer) {
  if (!isArrayBuffer(buffer)) return false;
  if (detachedGetter !== undefined) return ReflectApply(detachedGetter, buffer, []);
  return ReflectApply(byteLengthGetter, buffer, []) === 0;
}

function listIncludes(list, value) {
  for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
  return false;
}

// Values are copied through V8's serializer. ArrayBuffers listed in `transfer` are transferred:
// the clone gets their contents and the originals are detached (byteLength 0), as in workerd.
export function structuredClone(value, options = undefined) {
  const context = "Failed to execute 'structuredClone'";
  requireArgs(arguments.length, 1, context);
  const transfer = toDictionary(options, context).transfer;
  // The buffers in a list of the prelude's: an app may replace Array.prototype's push and includes,
  // or put a setter on its indices.
  const buffers = new InternalList();
  if (transfer !== undefined) {
    if (!isObject(transfer) || typeof transfer[Symbol.iterator] !== 'function') {
      throw new TypeError(`${context}: transfer is not iterable.`);
    }
    for (const item of transfer) {
      if (!isObject(item)) throw new TypeError(`${context}: transfer contains a value that is not an object.`);
      if (!isArrayBuffer(item)) {
        throw makeDOMException('Value not transferable', 'DataCloneError');
      }
      // As workerd: a buffer listed twice is transferred once.
      if (!listIncludes(buffers, item)) listAppend(buffers, item);
    }
  }
  const result = native.deserialize(native.serialize(value));
  for (let i = 0; i < buffers.length; i++) native.detachArrayBuffer(buffers[i]);
  return result;
}
