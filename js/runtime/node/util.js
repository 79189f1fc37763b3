// node:util: format() and inspect() are console's (the prelude's), with Node's helpers around
// them: promisify, callbackify, inherits, deprecate, types, isDeepStrictEqual and the legacy
// is*() predicates.
import { formatValues, inspectValue } from '../prelude_hooks.js';
import { isDeepEqual } from './deep_equal.js';
import types from './util_types.js';

const apply = Reflect.apply;
const TextEncoderClass = globalThis.TextEncoder;
const TextDecoderClass = globalThis.TextDecoder;
const customPromisify = Symbol.for('nodejs.util.promisify.custom');

function requireFunction(value, name) {
  if (typeof value !== 'function') {
    const error = new TypeError(`The "${name}" argument must be of type function. Received ${value === null ? 'null' : typeof value}`);
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
}

export function format(...args) {
  return formatValues(args);
}

export function formatWithOptions(inspectOptions, ...args) {
  if (inspectOptions === null || typeof inspectOptions !== 'object') {
    const error = new TypeError('The "inspectOptions" argument must be of type object.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  return formatValues(args, inspectOptions);
}

// debuglog(section, callback): as on workerd, a logger that is always enabled and prints
// "SECTION: <formatted arguments>" with console.log; `callback` gets the logger.
export function debuglog(section, callback = undefined) {
  const prefix = String(section).toUpperCase();
  const log = console.log;
  function logger(...args) {
    log(`${prefix}: ${formatValues(args)}`);
  }
  logger.enabled = true;
  if (typeof callback === 'function') callback(logger);
  return logger;
}

export function inspect(value, options = undefined) {
  return inspectValue(value, options);
}
inspect.custom = Symbol.for('nodejs.util.inspect.custom');

export function promisify(original) {
  requireFunction(original, 'original');
  if (typeof original[customPromisify] === 'function') return original[customPromisify];
  function promisified(...args) {
    return new Promise((resolve, reject) => {
      apply(original, this, [...args, (error, value) => (error ? reject(error) : resolve(value))]);
    });
  }
  Object.setPrototypeOf(promisified, Object.getPrototypeOf(original));
  Object.defineProperty(promisified, customPromisify, { value: promisified, configurable: true });
  return Object.defineProperties(promisified, Object.getOwnPropertyDescriptors(original));
}
promisify.custom = customPromisify;

export function callbackify(original) {
  requireFunction(original, 'original');
  function callbackified(...args) {
    const callback = args.pop();
    requireFunction(callback, 'last argument');
    apply(original, this, args).then(
      (value) => queueMicrotask(() => callback(null, value)),
      (reason) => {
        // As in Node, a falsy rejection becomes an Error that carries it as `reason`.
        if (!reason) {
          const error = new Error('Promise was rejected with a falsy value');
          error.code = 'ERR_FALSY_VALUE_REJECTION';
          error.reason = reason;
          reason = error;
        }
        queueMicrotask(() => callback(reason));
      });
  }
  Object.defineProperties(callbackified, Object.getOwnPropertyDescriptors(original));
  return callbackified;
}

export function inherits(ctor, superCtor) {
  if (ctor === undefined || ctor === null) throw new TypeError('The "ctor" argument must be of type function.');
  if (superCtor === undefined || superCtor === null) throw new TypeError('The "superCtor" argument must be of type function.');
  if (superCtor.prototype === undefined) throw new TypeError('The "superCtor.prototype" property must be of type object.');
  Object.defineProperty(ctor, 'super_', { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

export function deprecate(fn, message) {
  let warned = false;
  return function deprecated(...args) {
    if (!warned) {
      warned = true;
      console.warn(`DeprecationWarning: ${message}`);
    }
    return new.target ? Reflect.construct(fn, args, new.target) : apply(fn, this, args);
  };
}

export function isDeepStrictEqual(a, b) {
  return isDeepEqual(a, b, true);
}

// The ANSI escape sequences (colours, cursor moves) that a terminal would interpret.
const ANSI = /[\u001B\u009B][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d\/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d\/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g;

export function stripVTControlCharacters(text) {
  if (typeof text !== 'string') {
    const error = new TypeError('The "str" argument must be of type string.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  return text.replace(ANSI, '');
}

// The string with each lone surrogate replaced by U+FFFD.
export function toUSVString(text) {
  return String(text).replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// The deprecated util._extend(target, source): own enumerable keys of source onto target.
export function extend(target, source) {
  if (source === null || typeof source !== 'object') return target;
  for (const key of Object.keys(source)) target[key] = source[key];
  return target;
}

export default {
  stripVTControlCharacters,
  toUSVString,
  formatWithOptions,
  debuglog,
  debug: debuglog,
  _extend: extend,
  format,
  inspect,
  promisify,
  callbackify,
  inherits,
  deprecate,
  isDeepStrictEqual,
  types,
  TextEncoder: TextEncoderClass,
  TextDecoder: TextDecoderClass,
  isArray: Array.isArray,
  isBoolean: (value) => typeof value === 'boolean',
  isBuffer: (value) => require('./buffer.js').default.Buffer.isBuffer(value),
  isDate: types.isDate,
  isError: types.isNativeError,
  isFunction: (value) => typeof value === 'function',
  isNull: (value) => value === null,
  isNullOrUndefined: (value) => value === null || value === undefined,
  isNumber: (value) => typeof value === 'number',
  isObject: (value) => value !== null && typeof value === 'object',
  isPrimitive: (value) => value === null || (typeof value !== 'object' && typeof value !== 'function'),
  isRegExp: types.isRegExp,
  isString: (value) => typeof value === 'string',
  isSymbol: (value) => typeof value === 'symbol',
  isUndefined: (value) => value === undefined,
};
