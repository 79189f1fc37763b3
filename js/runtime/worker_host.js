// An app's Worker, the default export of its project's main module, served through the same
// event machinery as objects: the host constructs one WorkerHost per app and thread (the Worker is
// stateless, so any thread may serve it) and delivers each request to its fetch().
//
// As on Cloudflare, the default export is either a handler object (`{ fetch(request, env, ctx) }`)
// or a class (a WorkerEntrypoint), of which every request gets a fresh instance made with
// `(ctx, env)`.
import {
  ErrorCtor, PromisePrototypeThen, PromiseResolve, ReflectApply, SymbolCtor, TypeErrorCtor,
  inheritsFrom,
} from './primordials.js';
import { WorkerEntrypoint } from './base_classes.js';

// WorkerHost's method that runs a JavaScript RPC call (see deliverRpc in deliver.js).
export const kWorkerRpc = SymbolCtor('dorm.workerRpc');
const NO_RPC_MESSAGE =
  'The receiving Worker does not support RPC, because its entrypoint was not declared with ' +
  '`extends WorkerEntrypoint`. In order to enable RPC, make sure your entrypoint extends the ' +
  'special class `WorkerEntrypoint`, which can be imported from the module "cloudflare:workers".';
const WorkerEntrypointPrototype = WorkerEntrypoint.prototype;

// Whether `entry` is a class extending WorkerEntrypoint.
export function extendsWorkerEntrypoint(entry) {
  if (typeof entry !== 'function') return false;
  const proto = entry.prototype;
  if (proto === null || (typeof proto !== 'object' && typeof proto !== 'function')) return false;
  return proto === WorkerEntrypointPrototype || inheritsFrom(proto, WorkerEntrypointPrototype);
}

const ObjectFreeze = Object.freeze;
const consoleError = globalThis.console?.error;

// What each request's handler gets as `ctx`.
class ExecutionContext {
  constructor(exports) {
    // Loopback bindings to the module's exports (runtime/env_object.h), as on Cloudflare.
    this.exports = exports;
    this.props = {};
  }

  // The promise keeps running after the response (the Worker's isolate outlives the request);
  // its rejection is reported, never thrown.
  waitUntil(promise) {
    if (arguments.length === 0) {
      throw new TypeErrorCtor(
        "Failed to execute 'waitUntil' on 'ExecutionContext': parameter 1 is not of type 'Promise'.");
    }
    PromisePrototypeThen(PromiseResolve(promise), undefined, (error) => {
      if (consoleError) ReflectApply(consoleError, undefined, ['Uncaught (in waitUntil)', error]);
    });
  }

  // Dorm has no origin behind a Worker to pass a failed request on to: an exception is answered
  // with a 500, as on Cloudflare for a Worker without an origin.
  passThroughOnException() {}
}
ObjectFreeze(ExecutionContext.prototype);

function isClass(value) {
  return typeof value === 'function' && value.prototype !== undefined;
}

export function workerHostClass(entry) {
  if (entry === undefined || entry === null ||
      (typeof entry !== 'object' && typeof entry !== 'function')) {
    throw new ErrorCtor('The project\'s main module has no default export to serve requests.');
  }
  const entryIsClass = isClass(entry);
  return class WorkerHost {
    #env;
    #exports;
    constructor(state, env) {
      this.#env = env;
      this.#exports = state.exports;
    }

    fetch(request) {
      const ctx = new ExecutionContext(this.#exports);
      if (entryIsClass) {
        const instance = new entry(ctx, this.#env);
        const fetch = instance.fetch;
        if (typeof fetch !== 'function') {
          throw new TypeErrorCtor('Handler does not export a fetch() function.');
        }
        return ReflectApply(fetch, instance, [request]);
      }
      const fetch = entry.fetch;
      if (typeof fetch !== 'function') {
        throw new TypeErrorCtor('Handler does not export a fetch() function.');
      }
      return ReflectApply(fetch, entry, [request, this.#env, ctx]);
    }

    // A service binding's RPC call: a new instance of the entrypoint class per call, as on
    // Cloudflare. `run(instance)` calls the method with the rules objects' RPC follows.
    [kWorkerRpc](run) {
      if (!extendsWorkerEntrypoint(entry)) throw new TypeErrorCtor(NO_RPC_MESSAGE);
      return run(new entry(new ExecutionContext(this.#exports), this.#env));
    }
  };
}
