// The global scope as an EventTarget, as workerd's is: `addEventListener`, `removeEventListener`
// and `dispatchEvent` on the global object act on one EventTarget of the prelude's, whose events
// show the global object as their target. The runtime dispatches `unhandledrejection` and
// `rejectionhandled` on it (src/runtime ThreadEngine::ReportUnhandledRejections and
// ThreadEngine::OnPromiseReject, through `internals.dispatchRejection`).
import { EventTarget, aliasTarget, dispatchTrustedEvent, observeListeners } from './event_target.js';
import { newPromiseRejectionEvent } from './promise_rejection_event.js';

const globalTarget = new EventTarget();
const methods = ['addEventListener', 'removeEventListener', 'dispatchEvent'];
const listenerCounts = { __proto__: null, unhandledrejection: 0, rejectionhandled: 0 };

observeListeners(globalTarget, (type, count) => {
  if (type in listenerCounts) listenerCounts[type] = count;
});

// The global object's three EventTarget operations (writable, configurable, not enumerable, as
// WebIDL installs operations), each forwarding its arguments as given.
export function installGlobalEventTarget(target) {
  aliasTarget(globalTarget, target);
  for (const name of methods) {
    const method = EventTarget.prototype[name];
    const forward = {
      [name](...args) {
        return Reflect.apply(method, globalTarget, args);
      },
    }[name];
    Object.defineProperty(forward, 'length', { value: 0 });
    Object.defineProperty(target, name, {
      value: forward, writable: true, enumerable: false, configurable: true,
    });
  }
}

// Whether any listener would see a rejection event: the runtime does nothing more otherwise.
export function hasRejectionListeners() {
  return listenerCounts.unhandledrejection + listenerCounts.rejectionhandled > 0;
}

// Dispatches a trusted PromiseRejectionEvent; a listener's exception is reported as uncaught
// and the others still run.
export function dispatchRejection(type, promise, reason) {
  if (type !== 'unhandledrejection' && type !== 'rejectionhandled') return;
  if (listenerCounts[type] === 0) return;
  dispatchTrustedEvent(globalTarget, newPromiseRejectionEvent(type, promise, reason), false);
}
