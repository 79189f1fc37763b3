import { Event } from './event_target.js';
import { defineInterface, illegalConstructor } from './webidl.js';

// The class of the events that report a rejected promise no handler took
// (`unhandledrejection`) and one that got a handler after that report (`rejectionhandled`),
// dispatched on the global scope (global_scope.js). As on workerd, user code cannot construct
// one; `reason` and `promise` are read-only own properties of each event.
export class PromiseRejectionEvent extends Event {
  constructor() {
    throw illegalConstructor();
  }
}

defineInterface(PromiseRejectionEvent, 'PromiseRejectionEvent');

// A new event of `type` for `promise`; `reason` is undefined for `rejectionhandled`, as on
// workerd.
export function newPromiseRejectionEvent(type, promise, reason) {
  const event = Reflect.construct(Event, [type], PromiseRejectionEvent);
  Object.defineProperty(event, 'reason', {
    value: reason, writable: false, enumerable: true, configurable: true,
  });
  Object.defineProperty(event, 'promise', {
    value: promise, writable: false, enumerable: true, configurable: true,
  });
  return event;
}
