// The global scope's shape, as workerd's: the global object is a ServiceWorkerGlobalScope whose
// prototype chain is
//
//   globalThis → ServiceWorkerGlobalScope.prototype (the interfaces and global functions)
//              → a WorkerGlobalScope prototype (`EventTarget`)
//              → an EventTarget prototype (`addEventListener`, `removeEventListener`,
//                `dispatchEvent`) → Object.prototype
//
// The last two belong to the global object alone, as in workerd: `globalThis instanceof
// EventTarget` is false, the three operations refuse any `this` but the global object (or none),
// and the `WorkerGlobalScope` interface's own prototype inherits from EventTarget.prototype.
// The operations act on one EventTarget of the prelude's, which user code never sees, whose events
// show the global object as their target. The runtime dispatches `unhandledrejection` and
// `rejectionhandled` on it (src/runtime ThreadEngine::ReportUnhandledRejections and
// ThreadEngine::OnPromiseReject, through `internals.dispatchRejection`).
import { EventTarget, aliasTarget, dispatchTrustedEvent, observeListeners } from './event_target.js';
import { newPromiseRejectionEvent } from './promise_rejection_event.js';
import { illegalInvocation } from './webidl.js';

const apply = Reflect.apply;
const defineProperty = Object.defineProperty;
const globalTarget = new EventTarget();
const methods = ['addEventListener', 'removeEventListener', 'dispatchEvent'];
const listenerCounts = { __proto__: null, unhandledrejection: 0, rejectionhandled: 0 };

observeListeners(globalTarget, (type, count) => {
  if (type in listenerCounts) listenerCounts[type] = count;
});

// A data property as WebIDL (and workerd) installs interface members on prototypes: writable,
// enumerable, configurable.
function defineMember(target, name, value, enumerable = true) {
  defineProperty(target, name, { value, writable: true, enumerable, configurable: true });
}

// An interface object that cannot be constructed ("Illegal constructor", also without `new`),
// with the given prototype object, as workerd's interfaces of the global scope. The prototype's
// `constructor` and class string come after its members, as on workerd.
function illegalConstructor(name, prototype) {
  const ctor = {
    [name]: function () {
      'use strict';

      throw new TypeError('Illegal constructor');
    },
  }[name];
  defineProperty(ctor, 'prototype', { value: prototype, writable: true, enumerable: false, configurable: false });
  defineMember(prototype, 'constructor', ctor, false);
  defineMember(prototype, Symbol.toStringTag, name, false);
  return ctor;
}

// Builds the chain above for `global`: `protoMembers` (name → value, in order) go on
// ServiceWorkerGlobalScope.prototype, enumerable; `eventTarget` is the EventTarget interface,
// which WorkerGlobalScope's prototypes hold. Returns the ServiceWorkerGlobalScope interface.
export function installGlobalScope(global, protoMembers, eventTarget) {
  aliasTarget(globalTarget, global);

  const targetPrototype = {};
  for (const name of methods) {
    const method = EventTarget.prototype[name];
    // Forwards its arguments as given (the EventTarget's checks count them).
    const forward = {
      [name](...args) {
        if (this !== undefined && this !== null && this !== global) throw illegalInvocation();
        return apply(method, globalTarget, args);
      },
    }[name];
    defineProperty(forward, 'length', { value: 0 });
    defineMember(targetPrototype, name, forward);
  }
  illegalConstructor('EventTarget', targetPrototype);

  const scopePrototype = { __proto__: targetPrototype };
  defineMember(scopePrototype, 'EventTarget', eventTarget);
  const interfacePrototype = { __proto__: eventTarget.prototype };
  defineMember(interfacePrototype, 'EventTarget', eventTarget);
  const WorkerGlobalScope = illegalConstructor('WorkerGlobalScope', interfacePrototype);
  defineMember(scopePrototype, 'constructor', WorkerGlobalScope, false);
  defineMember(scopePrototype, Symbol.toStringTag, 'WorkerGlobalScope', false);

  const servicePrototype = { __proto__: scopePrototype };
  let first = true;
  for (const [name, value] of protoMembers) {
    defineMember(servicePrototype, name, value);
    // workerd lists WorkerGlobalScope second.
    if (first) defineMember(servicePrototype, 'WorkerGlobalScope', WorkerGlobalScope);
    first = false;
  }
  const ServiceWorkerGlobalScope = illegalConstructor('ServiceWorkerGlobalScope', servicePrototype);
  Object.setPrototypeOf(global, servicePrototype);
  return ServiceWorkerGlobalScope;
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
