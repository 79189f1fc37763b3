import native from './native.js';
import { bindAsyncContext } from './async_context.js';
import { reportException } from './report_error.js';
import { requireArgs } from './webidl.js';

export function queueMicrotask(callback) {
  requireArgs(arguments.length, 1, "Failed to execute 'queueMicrotask'");
  if (typeof callback !== 'function') {
    throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  }
  native.enqueueMicrotask(bindAsyncContext(() => {
    try {
      callback();
    } catch (error) {
      reportException(error);
    }
  }));
}
