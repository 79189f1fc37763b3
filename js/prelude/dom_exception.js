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

const codeByName = new Map(legacyCodes.map(([name], i) => [name, i + 1]));
const constants = Object.fromEntries(legacyCodes.map(([, constant], i) => [constant, i + 1]));

// For structured clone (copied_clone.js): the private state of a DOMException.
export const domExceptionInternals = {};

export class DOMException extends CopiedObject {
  #name;
  #message;

  constructor(message = undefined, name = undefined) {
    super('DOMException');
    this.#message = message === undefined ? '' : `${message}`;
    this.#name = name === undefined ? 'Error' : `${name}`;
    // Recorded after the fields are set: V8 builds the first line of the stack from name and message.
    if (typeof Error.captureStackTrace === 'function') {
      Error.captureStackTrace(this, DOMException);
    }
  }

  static {
    domExceptionInternals.isDOMException = (value) => value !== null && typeof value === 'object' && #name in value;
    domExceptionInternals.name = (exception) => exception.#name;
    domExceptionInternals.message = (exception) => exception.#message;
  }

  get name() {
    return this.#name;
  }

  get message() {
    return this.#message;
  }

  get code() {
    return codeByName.get(this.#name) ?? 0;
  }
}

defineInterface(DOMException, 'DOMException', constants);
// DOMException is an Error for instanceof, Error.prototype.toString and debuggers.
Object.setPrototypeOf(DOMException.prototype, Error.prototype);

export function makeDOMException(message, name) {
  return new DOMException(message, name);
}
