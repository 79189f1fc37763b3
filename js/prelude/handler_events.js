// The event classes of workerd's service-worker handlers: ExtendableEvent and its FetchEvent,
// ScheduledEvent and TailEvent (also named TraceEvent: the same interface). Module Workers and
// Durable Objects, the only code Dorm runs, receive their arguments directly (a Request, a
// ScheduledController...), so neither workerd nor Dorm ever makes one for them; the interfaces
// exist for `instanceof` checks and feature tests. As on workerd, none can be constructed
// ("Illegal constructor", with or without `new`; the interface objects inherit from
// Function.prototype, their prototypes from Event.prototype and ExtendableEvent.prototype), and
// their operations, which have no instance to act on, throw "Illegal invocation".
import { Event } from './event_target.js';
import { defineInterface, illegalConstructor, illegalInvocation } from './webidl.js';

// An interface `name` whose prototype inherits from `parent`'s and holds `operations`.
function handlerEventInterface(name, parent, operations) {
  const ctor = {
    // Strict (the bundle is not strict code): no own `arguments` or `caller`.
    [name]: function () {
      'use strict';

      throw illegalConstructor();
    },
  }[name];
  Object.setPrototypeOf(ctor.prototype, parent.prototype);
  for (const operation of operations) {
    const fn = {
      [operation]() {
        throw illegalInvocation();
      },
    }[operation];
    Object.defineProperty(ctor.prototype, operation, { value: fn, writable: true, enumerable: true, configurable: true });
  }
  // The constructor comes after the operations, as on workerd.
  const constructor = Object.getOwnPropertyDescriptor(ctor.prototype, 'constructor');
  delete ctor.prototype.constructor;
  Object.defineProperty(ctor.prototype, 'constructor', constructor);
  return defineInterface(ctor, name);
}

export const ExtendableEvent = handlerEventInterface('ExtendableEvent', Event, ['waitUntil']);
export const FetchEvent = handlerEventInterface('FetchEvent', ExtendableEvent, ['respondWith', 'passThroughOnException']);
export const ScheduledEvent = handlerEventInterface('ScheduledEvent', ExtendableEvent, ['noRetry']);
export const TailEvent = handlerEventInterface('TailEvent', ExtendableEvent, []);
