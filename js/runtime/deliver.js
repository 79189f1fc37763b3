// Delivers an event to the object's handler and reports how it settled. Kept in JavaScript so
// that the per-request promise reactions are ordinary closures.
import { native } from './native.js';
import {
  ErrorCtor, ObjectFreeze, ObjectGetOwnPropertyDescriptor, ObjectGetPrototypeOf, PromisePrototypeThen,
  PromiseResolve, ReflectApply, StringCtor, StringPrototypeSlice, TypeErrorCtor, SymbolCtor, inheritsFrom,
} from './primordials.js';
import { DurableObject, RpcTarget } from './base_classes.js';
import { kWorkerRpc } from './worker_host.js';
import { bufferResponseBody } from './prelude_hooks.js';
import { streamResponse } from './response_streams.js';
import {
  GET_PROPERTY, cancelRpcStreams, decodeRpcValue, encodeRpcValue, expireStubs, isExportCall,
  runExportCall, startRpcStreams,
} from './rpc_values.js';

// The prelude's class, as it was when the runtime loaded.
const DOMExceptionCtor = globalThis.DOMException;

// `streamBody`: the host writes a streamed body as it comes (a request from the network front);
// else (a stub's fetch()) it takes the body whole.
export function deliverFetch(object, request, slot, eventId, streamBody) {
  let result;
  try {
    const fetch = object.fetch;
    if (typeof fetch !== 'function') {
      throw new TypeErrorCtor('Handler does not export a fetch() function.');
    }
    result = ReflectApply(fetch, object, [request]);
  } catch (error) {
    native.eventSettled(slot, eventId, false, error);
    return;
  }
  PromisePrototypeThen(
    PromiseResolve(result),
    (value) => settleFetch(value, slot, eventId, streamBody === true),
    (error) => native.eventSettled(slot, eventId, false, error),
  );
}

// Hands the handler's answer to the host. A body that is a stream goes out as it comes when the
// host can take it so (streamResponse); otherwise the host takes the body whole (responseParts),
// so the stream is first read to its end, and an error of the stream settles the event as
// failed, as a throw from the handler would.
function settleFetch(value, slot, eventId, streamBody) {
  let pending;
  try {
    if (streamBody && streamResponse(value, slot, eventId)) return;
    pending = bufferResponseBody(value);
  } catch (error) {
    native.eventSettled(slot, eventId, false, error);
    return;
  }
  if (pending === null) {
    native.eventSettled(slot, eventId, true, value);
    return;
  }
  PromisePrototypeThen(
    pending,
    () => native.eventSettled(slot, eventId, true, value),
    (error) => native.eventSettled(slot, eventId, false, error),
  );
}

// Runs the object's alarm handler with {retryCount, isRetry, scheduledTime}; an object without
// one has nothing to do (its alarm is deleted).
const ALARM_DONE = SymbolCtor('alarm done');
export function deliverAlarm(object, info, slot, eventId) {
  let result;
  try {
    const alarm = object.alarm;
    if (typeof alarm !== 'function') {
      native.eventSettled(slot, eventId, true, ALARM_DONE);
      return;
    }
    result = ReflectApply(alarm, object, [info]);
  } catch (error) {
    native.eventSettled(slot, eventId, false, error);
    return;
  }
  PromisePrototypeThen(
    PromiseResolve(result),
    () => native.eventSettled(slot, eventId, true, ALARM_DONE),
    (error) => native.eventSettled(slot, eventId, false, error),
  );
}

// Runs a JavaScript RPC call of `method` with the arguments in `message` (the decoded RPC message
// of the argument list; `unreadable` is what made it unreadable, if it was), with Cloudflare's rules: only classes extending DurableObject take RPC;
// reserved names, own instance properties and Object.prototype's members are not methods.
const NO_RPC_MESSAGE =
  'The receiving Durable Object does not support RPC, because its class was not declared ' +
  'with `extends DurableObject`. In order to enable RPC, make sure your class ' +
  'extends the special class `DurableObject`, which can be imported from the module ' +
  '"cloudflare:workers".';
const RESERVED_METHODS = ObjectFreeze({
  __proto__: null,
  fetch: true,
  connect: true,
  alarm: true,
  webSocketMessage: true,
  webSocketClose: true,
  webSocketError: true,
  dup: true,
  constructor: true,
});
const ObjectPrototype = Object.prototype;
const DurableObjectPrototype = DurableObject.prototype;
const RpcTargetPrototype = RpcTarget.prototype;
// An RpcTarget passed by reference exposes its class's methods, as workerd's do.
const RESERVED_TARGET_METHODS = ObjectFreeze({ __proto__: null, dup: true, constructor: true });

function extendsDurableObject(object) {
  return inheritsFrom(object, DurableObjectPrototype);
}

// The member `name` of `object`'s class chain below `base` (getters are called), or throws as
// workerd does. Own instance properties are not members.
function memberBelow(object, name, reserved, base) {
  if (reserved[name] === true) {
    throw new TypeErrorCtor(`'${name}' is a reserved method and cannot be called over RPC.`);
  }
  for (let proto = ObjectGetPrototypeOf(object);
    proto !== null && proto !== ObjectPrototype && proto !== base;
    proto = ObjectGetPrototypeOf(proto)) {
    const descriptor = ObjectGetOwnPropertyDescriptor(proto, name);
    if (descriptor === undefined) continue;
    return descriptor.get !== undefined ? ReflectApply(descriptor.get, object, [])
      : descriptor.value;
  }
  throw new TypeErrorCtor(`The RPC receiver does not implement the method "${name}".`);
}

// Calls the method that `method` names on `object`, or reads the property when `method` is
// GET_PROPERTY + name (a stub's property awaited).
function runMember(object, method, args, reserved, base) {
  if (method.length !== 0 && method[0] === GET_PROPERTY) {
    return memberBelow(object, StringPrototypeSlice(method, 1), reserved, base);
  }
  const fn = memberBelow(object, method, reserved, base);
  if (typeof fn !== 'function') throw new TypeErrorCtor(`"${method}" is not a function.`);
  return ReflectApply(fn, object, args);
}

function runObjectMember(object, method, args) {
  return runMember(object, method, args, RESERVED_METHODS, DurableObjectPrototype);
}

function runTargetMember(target, method, args) {
  return runMember(target, method, args, RESERVED_TARGET_METHODS, RpcTargetPrototype);
}

// The thrown value as the caller rebuilds it (js/runtime/namespace.js): [0, value] for what
// structured clone carries (Errors keep their class and message), [1, name, message] for a
// DOMException (a DataCloneError, say), which it does not.
function encodeThrown(error) {
  try {
    if (error instanceof DOMExceptionCtor) {
      return native.encodeRpc([1, error.name, error.message], false, false);
    }
    return native.encodeRpc([0, error], false, false);
  } catch (unclonable) {
    let message;
    try {
      message = error !== null && typeof error === 'object' ? StringCtor(error.message) : StringCtor(error);
    } catch {
      message = 'An error that cannot be described was thrown.';
    }
    return native.encodeRpc([0, new ErrorCtor(message)], false, false);
  }
}

// Settles the call with what the method returned (rpc_values.js: functions and RpcTargets in it go
// by reference); a result that cannot be cloned settles it with the DataCloneError instead. Stubs
// received in the arguments stop working once the call has returned, as on Cloudflare.
// `streams`: the stub body ids of the ReadableStreams among the arguments (rpc_values.js).
export function deliverRpc(object, method, message, slot, eventId, unreadable, streams) {
  let argStubs = null;
  let streamsTaken = false;
  const fail = (error) => {
    if (!streamsTaken) cancelRpcStreams(streams);
    expireStubs(argStubs);
    native.eventSettled(slot, eventId, false, encodeThrown(error));
  };
  if (unreadable !== undefined) {
    fail(unreadable);
    return;
  }
  let result;
  try {
    const workerRpc = object[kWorkerRpc];
    if (isExportCall(method)) {
      streamsTaken = true;
      const decoded = decodeRpcValue(message, streams);
      argStubs = decoded[1];
      result = runExportCall(object, method, decoded[0], runTargetMember);
    } else if (typeof workerRpc === 'function') {
      // A Worker entrypoint, called through a service binding.
      streamsTaken = true;
      const decoded = decodeRpcValue(message, streams);
      argStubs = decoded[1];
      const args = decoded[0];
      result = ReflectApply(workerRpc, object,
        [(instance) => runObjectMember(instance, method, args)]);
    } else {
      if (!extendsDurableObject(object)) throw new TypeErrorCtor(NO_RPC_MESSAGE);
      streamsTaken = true;
      const decoded = decodeRpcValue(message, streams);
      argStubs = decoded[1];
      result = runObjectMember(object, method, decoded[0]);
    }
  } catch (error) {
    fail(error);
    return;
  }
  PromisePrototypeThen(
    PromiseResolve(result),
    (value) => {
      let encoded;
      try {
        encoded = encodeRpcValue(value, true, argStubs);
      } catch (error) {
        fail(error);
        return;
      }
      expireStubs(argStubs);
      native.eventSettled(slot, eventId, true, encoded[0]);
      // The result's streams flow once the answer is on its way (their channels went with it).
      startRpcStreams(encoded[2]);
    },
    fail,
  );
}
