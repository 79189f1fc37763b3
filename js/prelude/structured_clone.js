import native from './native.js';
import { isObject, requireArgs, toDictionary } from './webidl.js';

// Values are copied through V8's serializer. Transferring is not supported: objects listed in
// `transfer` are validated and then copied like the rest, so the originals stay usable.
export function structuredClone(value, options = undefined) {
  const context = "Failed to execute 'structuredClone'";
  requireArgs(arguments.length, 1, context);
  const transfer = toDictionary(options, context).transfer;
  if (transfer !== undefined) {
    if (!isObject(transfer) || typeof transfer[Symbol.iterator] !== 'function') {
      throw new TypeError(`${context}: transfer is not iterable.`);
    }
    for (const item of transfer) {
      if (!isObject(item)) throw new TypeError(`${context}: transfer contains a value that is not an object.`);
    }
  }
  return native.deserialize(native.serialize(value));
}
