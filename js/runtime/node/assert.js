// node:assert: Node's assertion functions, throwing AssertionError (code ERR_ASSERTION, with
// actual, expected, operator and generatedMessage) as Node does. As on workerd, the module is
// Node's strict mode: equal() is strictEqual(), deepEqual() is deepStrictEqual(), and so on.
import { isDeepEqual } from './deep_equal.js';
import { inspectValue } from '../prelude_hooks.js';

export class AssertionError extends Error {
  constructor(options) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('The "options" argument must be of type object.');
    }
    const { message, actual, expected, operator } = options;
    super(message !== undefined ? String(message) : `${inspectValue(actual)} ${operator} ${inspectValue(expected)}`);
    this.generatedMessage = message === undefined;
    this.code = 'ERR_ASSERTION';
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
  }
  get name() { return 'AssertionError'; }
}

function fail(actual, expected, message, operator, defaultMessage) {
  if (message instanceof Error) throw message;
  const error = new AssertionError({ message: message ?? defaultMessage, actual, expected, operator });
  if (message === undefined) error.generatedMessage = true;
  throw error;
}

function innerOk(args, fn) {
  if (args.length === 0) {
    const error = new AssertionError({ message: 'No value argument passed to `assert.ok()`' });
    error.generatedMessage = false;
    throw error;
  }
  const [value, message] = args;
  if (!value) fail(value, true, message, '==', `${inspectValue(value)} == true`);
}

export function ok(...args) { innerOk(args, ok); }

export function strictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) {
    // workerd reports this message as not generated (generatedMessage false).
    const error = new AssertionError({
      message: message ?? `Values are not strictly equal:\n\n${inspectValue(actual)} !== ${inspectValue(expected)}\n`,
      actual, expected, operator: 'strictEqual',
    });
    if (message instanceof Error) throw message;
    throw error;
  }
}
export function notStrictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) {
    fail(actual, expected, message, 'notStrictEqual',
      `Expected "actual" to be strictly unequal to: ${inspectValue(expected)}`);
  }
}
export function deepStrictEqual(actual, expected, message) {
  if (!isDeepEqual(actual, expected, true)) {
    fail(actual, expected, message, 'deepStrictEqual', 'Expected values to be strictly deep-equal:\n' +
      `${inspectValue(actual)}\n\nshould equal\n\n${inspectValue(expected)}`);
  }
}
export function notDeepStrictEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected, true)) {
    fail(actual, expected, message, 'notDeepStrictEqual',
      `Expected "actual" not to be strictly deep-equal to: ${inspectValue(expected)}`);
  }
}
export function match(string, regexp, message) {
  if (typeof string !== 'string' || !regexp.test(string)) {
    fail(string, regexp, message, 'match',
      `The input did not match the regular expression ${inspectValue(regexp)}. Input:\n\n${inspectValue(string)}\n`);
  }
}
export function doesNotMatch(string, regexp, message) {
  if (typeof string === 'string' && regexp.test(string)) {
    fail(string, regexp, message, 'doesNotMatch',
      `The input was expected to not match the regular expression ${inspectValue(regexp)}. Input:\n\n${inspectValue(string)}\n`);
  }
}

export function assertFail(message = 'Failed') {
  if (message instanceof Error) throw message;
  const error = new AssertionError({ message, operator: 'fail' });
  error.generatedMessage = false;
  throw error;
}

export function ifError(value) {
  if (value !== null && value !== undefined) {
    throw new AssertionError({ message: `ifError got unwanted exception: ${value?.message ?? inspectValue(value)}`, actual: value, expected: null, operator: 'ifError' });
  }
}

// Whether `error` satisfies `expected` (a class, a RegExp on its text, a validation function or
// an object whose properties it must have); throws AssertionError when not.
function checkError(error, expected, message, operator) {
  if (expected === undefined) return;
  if (typeof expected === 'function') {
    if (expected.prototype !== undefined && error instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) {
      fail(error, expected, message, operator,
        `The error is expected to be an instance of "${expected.name}". Received "${error?.constructor?.name}"`);
    }
    if (expected.call({}, error) === true) return;
    fail(error, expected, message, operator, 'The validation function is expected to return "true". Received false');
  }
  if (expected instanceof RegExp) {
    if (expected.test(String(error))) return;
    fail(error, expected, message, operator,
      `The input did not match the regular expression ${inspectValue(expected)}. Input:\n\n${inspectValue(String(error))}\n`);
  }
  if (expected !== null && typeof expected === 'object') {
    for (const key of Object.keys(expected)) {
      const want = expected[key];
      const got = error?.[key];
      const same = want instanceof RegExp && typeof got === 'string' ? want.test(got) : isDeepEqual(got, want, true);
      if (!same) {
        fail(error, expected, message, operator,
          `Expected values to be strictly deep-equal:\n${inspectValue(got)}\n\nshould equal\n\n${inspectValue(want)}`);
      }
    }
  }
}

const NO_ERROR = Symbol('no error');

export function throws(fn, expected, message) {
  if (typeof fn !== 'function') throw new TypeError('The "fn" argument must be of type function.');
  if (typeof expected === 'string') {
    message = expected;
    expected = undefined;
  }
  let error = NO_ERROR;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) {
    throw new AssertionError({
      message: `Missing expected exception${message ? `: ${message}` : '.'}`,
      actual: undefined, expected, operator: 'throws',
    });
  }
  checkError(error, expected, message, 'throws');
}

export function doesNotThrow(fn, message) {
  try {
    fn();
  } catch (error) {
    fail(error, undefined, undefined, 'doesNotThrow',
      `Got unwanted exception${typeof message === 'string' ? `: ${message}` : '.'}\nActual message: "${error?.message}"`);
  }
}

export async function rejects(promiseOrFn, expected, message) {
  if (typeof expected === 'string') {
    message = expected;
    expected = undefined;
  }
  let error = NO_ERROR;
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) {
    throw new AssertionError({
      message: `Missing expected rejection${message ? `: ${message}` : '.'}`,
      actual: undefined, expected, operator: 'rejects',
    });
  }
  checkError(error, expected, message, 'rejects');
}

export async function doesNotReject(promiseOrFn, message) {
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    fail(error, undefined, undefined, 'doesNotReject',
      `Got unwanted rejection${typeof message === 'string' ? `: ${message}` : '.'}\nActual message: "${error?.message}"`);
  }
}

// As in Node, the module is ok() itself, with the others as its properties; as on workerd, the
// loose functions are the strict ones, and `strict` is the module itself.
function assert(...args) { innerOk(args, assert); }
const members = {
  AssertionError, ok, equal: strictEqual, notEqual: notStrictEqual, strictEqual, notStrictEqual,
  deepEqual: deepStrictEqual, notDeepEqual: notDeepStrictEqual, deepStrictEqual,
  notDeepStrictEqual, match, doesNotMatch, fail: assertFail, ifError, throws, doesNotThrow,
  rejects, doesNotReject,
};
Object.assign(assert, members);
assert.strict = assert;

export default { ...members, strict: assert, default: assert };
