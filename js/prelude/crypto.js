import native from './native.js';
import { DOMException } from './dom_exception.js';
import {
  defineInterface, illegalConstructor, isArrayBufferView, isObject, requireArgs, requireBufferSource,
  toDOMString, typedArrayName,
} from './webidl.js';

const internalToken = Symbol('crypto');

const integerArrayTypes = new Set([
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'BigInt64Array', 'BigUint64Array',
]);

// Digest names as the native side spells them, keyed by their ASCII-uppercase form. MD5 is not in
// WebCrypto; Workers accept it for digest().
const digestAlgorithms = new Map([
  ['SHA-1', 'SHA-1'], ['SHA-256', 'SHA-256'], ['SHA-384', 'SHA-384'], ['SHA-512', 'SHA-512'],
  ['MD5', 'MD5'],
]);

function promiseFrom(fn) {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

export class SubtleCrypto {
  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
  }

  digest(algorithm, data) {
    return promiseFrom(() => {
      const context = "Failed to execute 'digest' on 'SubtleCrypto'";
      requireArgs(arguments.length, 2, context);
      const identifier = isObject(algorithm) ? algorithm : toDOMString(algorithm);
      // The bytes are copied at call time: later changes to `data` do not affect the result.
      const bytes = requireBufferSource(data, context).slice();
      let name;
      if (typeof identifier === 'string') {
        name = identifier;
      } else {
        if (identifier.name === undefined) {
          throw new TypeError(`${context}: Algorithm: name: Missing or not a string.`);
        }
        name = toDOMString(identifier.name);
      }
      const canonical = digestAlgorithms.get(name.toUpperCase());
      if (canonical === undefined) {
        throw new DOMException(`Unrecognized algorithm name: ${name}`, 'NotSupportedError');
      }
      return native.digest(canonical, bytes);
    });
  }

  // A Workers extension for comparing secrets without leaking where they differ.
  timingSafeEqual(a, b) {
    const context = "Failed to execute 'timingSafeEqual' on 'SubtleCrypto'";
    requireArgs(arguments.length, 2, context);
    const x = requireBufferSource(a, context);
    const y = requireBufferSource(b, context);
    if (x.byteLength !== y.byteLength) {
      throw new TypeError(`${context}: Input buffers must have the same byte length.`);
    }
    let difference = 0;
    for (let i = 0; i < x.length; i++) difference |= x[i] ^ y[i];
    return difference === 0;
  }
}

defineInterface(SubtleCrypto, 'SubtleCrypto');

const subtle = new SubtleCrypto(internalToken);

export class Crypto {
  constructor(token = undefined) {
    if (token !== internalToken) throw illegalConstructor();
  }

  get subtle() {
    return subtle;
  }

  // Works when detached from `crypto` too, which code ported from Node often relies on.
  getRandomValues(array) {
    const context = "Failed to execute 'getRandomValues' on 'Crypto'";
    requireArgs(arguments.length, 1, context);
    if (!isArrayBufferView(array)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
    }
    const type = typedArrayName(array);
    if (!integerArrayTypes.has(type)) {
      throw new DOMException(
        `${context}: The provided ArrayBufferView is of type '${type ?? 'DataView'}', `
          + 'which is not an integer array type.',
        'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw new DOMException(
        `${context}: The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of `
          + 'bytes of entropy available via this API (65536).',
        'QuotaExceededError');
    }
    native.getRandomValues(array);
    return array;
  }

  randomUUID() {
    return native.randomUUID();
  }
}

defineInterface(Crypto, 'Crypto');

export const crypto = new Crypto(internalToken);
