import native from './native.js';
import { bindAsyncContext } from './async_context.js';
import { reportException } from './report_error.js';

export function queueMicrotask(callback) {
  if (typeof callback !== 'function') {
    throw new TypeError("Failed to execute 'queueMicrotask' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'function'.");
  }
  native.enqueueMicrotask(bindAsyncContext(() => {
    try {
      callback();
    } catch (error) {
      reportException(error);
    }
  }));
}
