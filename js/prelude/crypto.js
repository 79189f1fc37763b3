// Crypto (the global `crypto`); its `subtle` is subtle.js, its keys crypto_key.js.
import native from './native.js';
import { DOMException } from './dom_exception.js';
import { CryptoKey } from './crypto_key.js';
import { DigestStream } from './digest_stream.js';
import { SubtleCrypto, subtle } from './subtle.js';
import {
  defineInterface, illegalConstructor, isArrayBufferView, requireArgs, typedArrayName,
} from './webidl.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';
import { SetPrototypeHas, TypedArrayByteLength } from './primordials.js';

export { CryptoKey, SubtleCrypto };

const internalToken = Symbol('crypto');

const integerArrayTypes = new Set([
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'BigInt64Array', 'BigUint64Array',
]);

export class Crypto extends Uncloneable {
  constructor(token = undefined) {
    super();
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
    // The set and the length read with built-ins captured at load (an app may replace them).
    if (!SetPrototypeHas(integerArrayTypes, typedArrayName(array))) {
      // workerd's words, as below.
      throw new DOMException('ArrayBufferView argument to getRandomValues() must be an integer-typed view.',
        'TypeMismatchError');
    }
    const byteLength = TypedArrayByteLength(array);
    if (byteLength > 65536) {
      // workerd's words (not the Web IDL-style ones of browsers and Node).
      throw new DOMException(
        `getRandomValues() only accepts buffers of size <= 64K but provided ${byteLength} bytes.`,
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
// workerd nests DigestStream in Crypto: reached as `crypto.DigestStream`, not a global.
Object.defineProperty(Crypto.prototype, 'DigestStream', {
  value: DigestStream, writable: true, enumerable: true, configurable: true,
});
hideBase(Crypto);
refuseClone(Crypto, 'Crypto');

export const crypto = new Crypto(internalToken);
