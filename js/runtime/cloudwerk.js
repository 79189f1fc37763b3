// Cloudwerk's Durable Objects, built in: the modules `@cloudwerk/durable-object`
// (defineDurableObject and its errors) and `@cloudwerk/core/bindings` (`durableObjects`), so that
// objects written for Cloudwerk run unmodified.
//
// defineDurableObject({ init, methods, fetch, alarm, webSocketMessage, webSocketClose,
// webSocketError, schema, sqlite }) makes a DurableObject class:
// - `this.state` is loaded before the first event (blockConcurrencyWhile): the persisted state,
//   or `init(ctx)`'s result for a new object; `schema.parse()` (any object with one, Zod's
//   included) validates it when loaded and before it is persisted;
// - `methods` become RPC methods; they and the handlers persist `this.state` once they return;
// - `this.ctx` is Cloudwerk's context: `storage`, `env`, `id`, `sql` (`run`, `exec`, with the
//   parameters as an array) when `sqlite` is true, `acceptWebSocket`, `getWebSockets`, `getTags`,
//   `blockConcurrencyWhile`, `waitUntil`;
// - any other function of the definition (a helper such as `broadcast`) is a method too.
import { DurableObject } from './base_classes.js';
import {
  ArrayIsArray, ArrayPrototypeIncludes, ErrorCtor, FunctionPrototypeBind, ObjectDefineProperty,
  ObjectEntries, PromiseCtor, PromisePrototypeThen, PromiseResolve, ReflectApply, StringCtor,
  StringPrototypeToUpperCase, TypeErrorCtor, WeakMapCtor, WeakMapPrototypeGet, WeakMapPrototypeSet,
} from './primordials.js';

const STATE_KEY = '__cloudwerk_state';
const HANDLERS = ['fetch', 'alarm', 'webSocketMessage', 'webSocketClose', 'webSocketError'];
const OPTIONS = ['init', 'methods', 'schema', 'sqlite', 'name'];
const ProxyCtor = Proxy;

export class DurableObjectNotFoundError extends ErrorCtor {
  constructor(objectName) {
    super(`Durable Object '${objectName}' not found: no class of that name is deployed in this app.`);
    this.name = 'DurableObjectNotFoundError';
    this.objectName = objectName;
  }
}

export class DurableObjectRPCError extends ErrorCtor {
  constructor(methodName, message, options) {
    super(message, options);
    this.name = 'DurableObjectRPCError';
    this.methodName = methodName;
  }
}

function contextFor(state, env, sqlite) {
  const ctx = {
    storage: state.storage,
    env,
    id: state.id,
    acceptWebSocket: (ws, tags) => state.acceptWebSocket(ws, tags),
    getWebSockets: (tag) => state.getWebSockets(tag),
    getTags: (ws) => state.getTags(ws),
    blockConcurrencyWhile: (fn) => state.blockConcurrencyWhile(fn),
    waitUntil: (promise) => state.waitUntil(promise),
  };
  if (sqlite) {
    const params = (list) => {
      if (list === undefined) return [];
      if (!ArrayIsArray(list)) throw new TypeErrorCtor('SQL parameters must be an array.');
      return list;
    };
    ctx.sql = {
      exec: (query, list) => ReflectApply(state.storage.sql.exec, state.storage.sql, [query, ...params(list)]),
      run: (query, list) => {
        ReflectApply(state.storage.sql.exec, state.storage.sql, [query, ...params(list)]);
      },
    };
  }
  return ctx;
}

export function defineDurableObject(definition) {
  if (definition === null || typeof definition !== 'object') {
    throw new TypeErrorCtor('defineDurableObject() takes the object\'s definition.');
  }
  const { init, methods = {}, schema, sqlite = false } = definition;
  if (methods === null || typeof methods !== 'object') {
    throw new TypeErrorCtor('defineDurableObject(): `methods` must be an object of functions.');
  }
  if (schema !== undefined && (schema === null || typeof schema.parse !== 'function')) {
    throw new TypeErrorCtor('defineDurableObject(): `schema` must have a parse() method.');
  }
  const validate = (value) => (schema === undefined ? value : schema.parse(value));
  const states = new WeakMapCtor();

  class CloudwerkDurableObject extends DurableObject {
    constructor(state, env) {
      const ctx = contextFor(state, env, sqlite);
      super(ctx, env);
      WeakMapPrototypeSet(states, this, state);
      this.state = undefined;
      state.blockConcurrencyWhile(async () => {
        let value = await state.storage.get(STATE_KEY);
        if (value === undefined && typeof init === 'function') value = await ReflectApply(init, this, [ctx]);
        this.state = validate(value);
      });
    }
  }

  // Runs `fn` as a method of the object, then persists `this.state`.
  const persisted = (name, fn) => async function persistedMethod(...args) {
    const result = await ReflectApply(fn, this, args);
    const storage = WeakMapPrototypeGet(states, this).storage;
    if (this.state === undefined) {
      await storage.delete(STATE_KEY);
    } else {
      await storage.put(STATE_KEY, validate(this.state));
    }
    return result;
  };
  const define = (name, value) => {
    ObjectDefineProperty(CloudwerkDurableObject.prototype, name, {
      value, writable: true, enumerable: false, configurable: true,
    });
  };
  for (const [name, fn] of ObjectEntries(methods)) {
    if (typeof fn !== 'function') {
      throw new TypeErrorCtor(`defineDurableObject(): methods.${name} must be a function.`);
    }
    define(name, persisted(name, fn));
  }
  for (const [name, value] of ObjectEntries(definition)) {
    if (typeof value !== 'function') continue;
    if (ArrayIncludes(HANDLERS, name)) {
      define(name, persisted(name, value));
    } else if (!ArrayIncludes(OPTIONS, name)) {
      define(name, value);
    }
  }
  if (typeof definition.name === 'string') {
    ObjectDefineProperty(CloudwerkDurableObject, 'name', { value: definition.name });
  }
  return CloudwerkDurableObject;
}

function ArrayIncludes(list, value) {
  return ArrayPrototypeIncludes(list, value);
}

// `durableObjects.Counter` of `@cloudwerk/core/bindings`: the app's namespace of class Counter
// (binding COUNTER), whose stubs turn a failed call into a DurableObjectRPCError.
// The UPPER_SNAKE binding of a PascalCase class name, split where Dorm's KebabFromPascal splits
// it (util/names.h): ChatRoom → CHAT_ROOM, RPCCounter → RPC_COUNTER.
function bindingOf(className) {
  const isUpper = (c) => c >= 'A' && c <= 'Z';
  const isLowerOrDigit = (c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  let out = '';
  for (let i = 0; i < className.length; i++) {
    const c = className[i];
    if (c === '_' || c === '$') {
      if (out !== '' && out[out.length - 1] !== '_') out += '_';
      continue;
    }
    if (isUpper(c)) {
      const boundary = i > 0 && (isLowerOrDigit(className[i - 1]) ||
        (isUpper(className[i - 1]) && i + 1 < className.length &&
         className[i + 1] >= 'a' && className[i + 1] <= 'z'));
      if (boundary && out !== '' && out[out.length - 1] !== '_') out += '_';
      out += c;
    } else {
      out += StringPrototypeToUpperCase(c);
    }
  }
  return out;
}

function rpcStub(stub) {
  return new ProxyCtor(stub, {
    get(target, property) {
      const value = target[property];
      if (typeof value !== 'function' || property === 'fetch' || typeof property !== 'string') {
        return typeof value === 'function' ? FunctionPrototypeBind(value, target) : value;
      }
      return (...args) => new PromiseCtor((resolve, reject) => {
        // The stub's call answers a pipelining promise (a thenable), not a Promise.
        PromisePrototypeThen(PromiseResolve(ReflectApply(value, target, args)), resolve, (error) => {
          const message = error instanceof ErrorCtor ? error.message : StringCtor(error);
          reject(new DurableObjectRPCError(property, message, { cause: error }));
        });
      });
    },
  });
}

export function cloudwerkBindings(env) {
  const namespaces = { __proto__: null };
  const durableObjects = new ProxyCtor({}, {
    get(target, className) {
      if (typeof className !== 'string') return undefined;
      if (namespaces[className]) return namespaces[className];
      const binding = bindingOf(className);
      const namespace = env[binding];
      if (namespace === undefined || typeof namespace.idFromName !== 'function') {
        throw new DurableObjectNotFoundError(className);
      }
      namespaces[className] = {
        idFromName: (name) => namespace.idFromName(name),
        idFromString: (id) => namespace.idFromString(id),
        newUniqueId: (options) => namespace.newUniqueId(options),
        get: (id, options) => rpcStub(namespace.get(id, options)),
        getByName: (name, options) => rpcStub(namespace.getByName(name, options)),
        jurisdiction: (name) => namespace.jurisdiction(name),
      };
      return namespaces[className];
    },
  });
  return durableObjects;
}
