import { CopiedObject } from './host_object.js';
import { defineInterface } from './webidl.js';

// The legacy error-code table: a name listed here has code (its index + 1) and a constant of that
// value on the interface; every other name has code 0.
const legacyCodes = [
  ['IndexSizeError', 'INDEX_SIZE_ERR'],
  ['DOMStringSizeError', 'DOMSTRING_SIZE_ERR'],
  ['HierarchyRequestError', 'HIERARCHY_REQUEST_ERR'],
  ['WrongDocumentError', 'WRONG_DOCUMENT_ERR'],
  ['InvalidCharacterError', 'INVALID_CHARACTER_ERR'],
  ['NoDataAllowedError', 'NO_DATA_ALLOWED_ERR'],
  ['NoModificationAllowedError', 'NO_MODIFICATION_ALLOWED_ERR'],
  ['NotFoundError', 'NOT_FOUND_ERR'],
  ['NotSupportedError', 'NOT_SUPPORTED_ERR'],
  ['InUseAttributeError', 'INUSE_ATTRIBUTE_ERR'],
  ['InvalidStateError', 'INVALID_STATE_ERR'],
  ['SyntaxError', 'SYNTAX_ERR'],
  ['InvalidModificationError', 'INVALID_MODIFICATION_ERR'],
  ['NamespaceError', 'NAMESPACE_ERR'],
  ['InvalidAccessError', 'INVALID_ACCESS_ERR'],
  ['ValidationError', 'VALIDATION_ERR'],
  ['TypeMismatchError', 'TYPE_MISMATCH_ERR'],
  ['SecurityError', 'SECURITY_ERR'],
  ['NetworkError', 'NETWORK_ERR'],
  ['AbortError', 'ABORT_ERR'],
  ['URLMismatchError', 'URL_MISMATCH_ERR'],
  ['QuotaExceededError', 'QUOTA_EXCEEDED_ERR'],
  ['TimeoutError', 'TIMEOUT_ERR'],
  ['InvalidNodeTypeError', 'INVALID_NODE_TYPE_ERR'],
  ['DataCloneError', 'DATA_CLONE_ERR'],
];

// Taken at start-up: user code may replace the globals later.
const ObjectDefineProperty = Object.defineProperty;
const captureStackTrace = Error.captureStackTrace;
const MapPrototypeGet = Function.prototype.call.bind(Map.prototype.get);

const codeByName = new Map(legacyCodes.map(([name], i) => [name, i + 1]));
const constants = Object.fromEntries(legacyCodes.map(([, constant], i) => [constant, i + 1]));

// For structured clone (copied_clone.js): the private state of a DOMException.
export const domExceptionInternals = {};

// As on workerd, an instance carries `code`, `name` and `message` as its own enumerable, read-only
// (but configurable) data properties, in that order, then `stack` as its own enumerable accessor;
// the prototype has only the constants. The private fields keep what the instance was made with,
// for structured clone, whatever user code does to the own properties.
let stackAccessor;

export class DOMException extends CopiedObject {
  #name;
  #message;
  // An object holding the stack V8 captured for this exception, which V8 formats on first read.
  #trace;

  constructor(message = undefined, name = undefined) {
    super('DOMException');
    this.#message = message === undefined ? '' : `${message}`;
    this.#name = name === undefined ? 'Error' : `${name}`;
    // Descriptors without a prototype: user code may have put `get`, `set` or `value` on
    // Object.prototype, which defineProperty would read.
    const own = { __proto__: null, enumerable: true, writable: false, configurable: true };
    ObjectDefineProperty(this, 'code', { __proto__: null, ...own, value: MapPrototypeGet(codeByName, this.#name) ?? 0 });
    ObjectDefineProperty(this, 'name', { __proto__: null, ...own, value: this.#name });
    ObjectDefineProperty(this, 'message', { __proto__: null, ...own, value: this.#message });
    // V8 builds the first line of the stack from the holder's name and message ("AbortError:
    // boom"), and only when it is first read.
    const trace = { name: this.#name, message: this.#message };
    if (typeof captureStackTrace === 'function') captureStackTrace(trace, DOMException);
    this.#trace = trace;
    ObjectDefineProperty(this, 'stack', stackAccessor);
  }

  static {
    domExceptionInternals.isDOMException = (value) => value !== null && typeof value === 'object' && #name in value;
    domExceptionInternals.name = (exception) => exception.#name;
    domExceptionInternals.message = (exception) => exception.#message;
    stackAccessor = {
      __proto__: null,
      enumerable: true,
      configurable: true,
      get() {
        return this.#trace.stack;
      },
      set(value) {
        this.#trace.stack = value;
      },
    };
  }
}

defineInterface(DOMException, 'DOMException', constants);
// DOMException is an Error for instanceof, Error.prototype.toString and debuggers.
Object.setPrototypeOf(DOMException.prototype, Error.prototype);

// The name and message a DOMException was made with ([name, message]), whatever its own
// properties now say; null for anything else. For RPC (js/runtime/rpc_values.js).
export function domExceptionParts(value) {
  if (!domExceptionInternals.isDOMException(value)) return null;
  return [domExceptionInternals.name(value), domExceptionInternals.message(value)];
}

export function makeDOMException(message, name) {
  return new DOMException(message, name);
}
