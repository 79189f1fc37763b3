// The async context that AsyncLocalStorage (js/runtime/node/async_hooks.js) reads: the context's
// continuation-preserved embedder data, which V8 itself carries into promise reactions (await,
// then). Callbacks the runtime schedules (timers, queueMicrotask) carry it here: they run in the
// context that was current when they were scheduled, as on workerd. While no app code has set a
// context it stays undefined and callbacks are not wrapped, so apps without AsyncLocalStorage pay
// one native call per scheduled callback and nothing else.
import native from './native.js';

const getAsyncContext = native.getAsyncContext;
const setAsyncContext = native.setAsyncContext;
const apply = Reflect.apply;

// `callback`, made to run in the current async context (or itself when there is none).
export function bindAsyncContext(callback) {
  const context = getAsyncContext();
  if (context === undefined) return callback;
  return function boundToAsyncContext(...args) {
    const previous = getAsyncContext();
    setAsyncContext(context);
    try {
      return apply(callback, this, args);
    } finally {
      setAsyncContext(previous);
    }
  };
}
