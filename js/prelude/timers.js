import native from './native.js';
import { bindAsyncContext } from './async_context.js';
import { reportException } from './report_error.js';
import { toLong } from './webidl.js';

function schedule(name, handler, timeout, args, repeat) {
  // Workers run no code from strings, so only functions are accepted.
  if (typeof handler !== 'function') {
    throw new TypeError(`Failed to execute '${name}' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'function'.`);
  }
  const delay = Math.max(0, toLong(timeout));
  const callback = () => {
    try {
      handler.apply(globalThis, args);
    } catch (error) {
      reportException(error);
    }
  };
  return native.setTimer(bindAsyncContext(callback), delay, repeat);
}

export function setTimeout(handler, timeout = 0, ...args) {
  return schedule('setTimeout', handler, timeout, args, false);
}

export function setInterval(handler, timeout = 0, ...args) {
  return schedule('setInterval', handler, timeout, args, true);
}

// workerd requires the argument (any value that is not a timer's id clears nothing).
export function clearTimeout(id) {
  if (arguments.length < 1) {
    throw new TypeError("Failed to execute 'clearTimeout' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'Number'.");
  }
  native.clearTimer(toLong(id));
}

export function clearInterval(id) {
  if (arguments.length < 1) {
    throw new TypeError("Failed to execute 'clearInterval' on 'ServiceWorkerGlobalScope': parameter 1 is not of type 'Number'.");
  }
  native.clearTimer(toLong(id));
}
