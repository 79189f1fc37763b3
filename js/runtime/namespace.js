// DurableObjectNamespace (the `env.BINDING` of each class of the app) and its stubs: ids as
// Cloudflare makes them (runtime/object_id.h), `stub.fetch()` and JavaScript RPC
// (`stub.anyMethod(...args)`) to another object of the same app, on whichever thread it lives.
// Arguments and results travel as structured clones; the callee's input gate orders the calls and
// its output gate holds each answer until the writes it reflects are durable.
//
// Built-ins are the copies in primordials.js, and the prelude's Request/Response are captured
// here before user code runs: user code may replace the global ones.
import { native } from './native.js';
import { makeObjectId, objectIdHex, isObjectId } from './object_id.js';
import { extendsWorkerEntrypoint } from './worker_host.js';
import { forwardedWebSocket } from './web_sockets.js';
import { ERROR_CLASSES, sendRequestBody, stubBodyStream } from './stub_bodies.js';
import {
  requestBodyStream, requestWantsManualBody, stubRequestParts, stubResponse,
} from './prelude_hooks.js';
import {
  SymbolDispose, abandonRpcStreams, cancelRpcStreams, decodeRpcValue, disposedCall,
  dropExported, encodeRpcValue, exportMethod, registerObjectStub, releaseExported, setExportCaller,
  setObjectStubMaker, startRpcStreams, stubMember,
} from './rpc_values.js';
import {
  ErrorCtor, JSONParse, ObjectDefineProperty, ObjectHasOwn, PromisePrototypeThen, PromiseReject,
  ReflectGet, ReflectHas, StringCtor, StringPrototypeToLowerCase, TypeErrorCtor, checkToken,
  kRuntimeToken,
} from './primordials.js';

const RequestCtor = globalThis.Request;
const ResponseCtor = globalThis.Response;
const DOMExceptionCtor = globalThis.DOMException;
const ProxyCtor = Proxy;

const OUTCOME_RESPONSE = 0;
const OUTCOME_RETURNED = 1;
const OUTCOME_THREW = 2;
const OUTCOME_UNREADABLE = 4;

function setFlag(error, name, value) {
  if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
    try {
      ObjectDefineProperty(error, name, { value, writable: true, enumerable: true, configurable: true });
    } catch {
      // A frozen thrown value keeps what it has.
    }
  }
}

// The message of a JSON {"error"} body the runtime produced.
function jsonErrorMessage(body) {
  try {
    const parsed = JSONParse(native.utf8Decode(new Uint8Array(body), false));
    if (parsed !== null && typeof parsed === 'object' && typeof parsed.error === 'string') {
      return parsed.error;
    }
  } catch {
    // Not JSON: fall through.
  }
  return 'Internal error in Durable Object call.';
}

// The error a caller sees for an answer that is not the callee's own outcome: a reset of the
// callee, a class deleted, an object moving threads.
function runtimeError(answer) {
  const error = new ErrorCtor(jsonErrorMessage(answer[2]));
  const reset = answer[5];
  if (reset !== 0) {
    setFlag(error, 'durableObjectReset', true);
    if ((reset & 2) !== 0) setFlag(error, 'retryable', true);
    if ((reset & 4) !== 0) setFlag(error, 'overloaded', true);
  } else if (answer[0] === 503) {
    // The object is moving between threads: the same call succeeds once it has.
    setFlag(error, 'retryable', true);
  }
  return error;
}

// Throws what a call's answer (other than a returned value) says.
function rpcFailure(answer, idHex) {
  const outcome = answer[1];
  if (outcome === OUTCOME_THREW) {
    // See encodeThrown in deliver.js.
    const encoded = answer[2];
    const thrown = encoded[0] === 1 ? new DOMExceptionCtor(encoded[2], encoded[1]) : encoded[1];
    setFlag(thrown, 'remote', true);
    if (idHex !== undefined) setFlag(thrown, 'durableObjectId', idHex);
    throw thrown;
  }
  if (outcome === OUTCOME_UNREADABLE) throw answer[2];
  throw runtimeError(answer);
}

// `call` is native.callObject, or native.callService (whose first argument is the service's
// index, and whose calls name no object id). Returns a promise of the result; what the arguments
// exported (functions, RpcTargets: rpc_values.js) is dropped once the call has returned.
function callWith(call, className, idHex, name, method, args) {
  let answer;
  let exported = null;
  let streams = null;
  let sent = null;
  try {
    const encoded = encodeRpcValue(args, false);
    exported = encoded[1];
    streams = encoded[2];
    sent = encoded[3];
    answer = call(className, idHex, name, method, encoded[0]);
  } catch (error) {
    dropExported(exported);
    abandonRpcStreams(streams);
    return PromiseReject(error);
  }
  // The arguments' streams flow from now on, while the callee runs (their channels went with the
  // call); what the callee does not read is cancelled when it drops them.
  startRpcStreams(streams);
  return PromisePrototypeThen(answer, (settled) => {
    if (settled[1] !== OUTCOME_RETURNED) {
      releaseExported(exported);
      cancelRpcStreams(settled[9]);
      return rpcFailure(settled, idHex);
    }
    let decoded;
    try {
      decoded = decodeRpcValue(settled[2], settled[9], sent);
    } catch (error) {
      releaseExported(exported);
      throw error;
    }
    releaseExported(exported, decoded[2]);
    return decoded[0];
  });
}

// A call on a stub of a function or RpcTarget another object exported (rpc_values.js).
setExportCaller((ref, method, args) => {
  if (ref.disposed) return disposedCall();
  return callWith(native.callObject, ref.className, ref.idHex, ref.name,
    exportMethod(ref.capId, method), args);
});

function fetchObject(className, idHex, name, input, init) {
  return fetchWith(native.fetchObject, className, idHex, name, input, init);
}

async function fetchWith(send, className, idHex, name, input, init) {
  const request = new RequestCtor(input, init);
  // Read from the request's state (not through members user code may have replaced). A body that
  // is a stream goes as it comes (stub_bodies.js); bytes go whole.
  const stream = requestBodyStream(request);
  const parts = stubRequestParts(request, stream !== null);
  const method = parts[0];
  const url = parts[1];
  const headers = parts[2];
  let answer;
  if (stream !== null) {
    const bodyId = native.openRequestBody();
    try {
      answer = send(className, idHex, name, method, url, headers, bodyId);
    } catch (error) {
      native.requestBodyEnd(bodyId, false);
      throw error;
    }
    sendRequestBody(bodyId, stream);
    answer = await answer;
  } else {
    answer = await send(className, idHex, name, method, url, headers, parts[3]);
  }
  const outcome = answer[1];
  if (outcome === OUTCOME_THREW) {
    // The callee's fetch() threw: the caller's fetch() rejects with its class and message, as on
    // Cloudflare (without durableObjectId, which only RPC errors carry).
    const Ctor = ERROR_CLASSES[answer[6]] ?? ErrorCtor;
    const error = new Ctor(jsonErrorMessage(answer[2]));
    setFlag(error, 'remote', true);
    throw error;
  }
  if (outcome !== OUTCOME_RESPONSE) throw runtimeError(answer);
  const status = answer[0];
  if (answer[7] !== 0) {
    // The callee answered with a WebSocket: returning this Response passes it on to the client.
    return new ResponseCtor(null, {
      status, statusText: answer[3], headers: answer[4], webSocket: forwardedWebSocket(answer[7]),
    });
  }
  const nullStatus = status === 204 || status === 205 || status === 304;
  const bodyStream = answer[8];
  let responseBody;
  if (bodyStream !== 0) {
    // The callee's body streams: read as it comes (stub_bodies.js).
    if (nullStatus) {
      native.stubBodyCancel(bodyStream);
      responseBody = null;
    } else {
      responseBody = stubBodyStream(bodyStream);
    }
  } else {
    responseBody = nullStatus || answer[2].byteLength === 0 ? null : answer[2];
  }
  // As workerd's: a gzip or br body the callee sent compressed is decoded as it is read, unless
  // `init` asked for it as it was sent.
  return stubResponse(responseBody, {
    status,
    statusText: answer[3],
    headers: answer[4],
  }, init !== undefined && requestWantsManualBody(request));
}

// What `stub.x` gives for a name the stub does not have: calling it calls method `x`, awaiting it
// reads property `x` (rpc_values.js).
function methodCaller(className, idHex, name, method) {
  return stubMember(
    (member, args) => callWith(native.callObject, className, idHex, name, member, args), method);
}

// The stub's own properties are exactly `id` and `name`, as on Cloudflare; any other string
// property is an RPC method (see makeStub).
export class DurableObjectStub {
  constructor(token, id) {
    checkToken(token);
    // In workerd's order: Object.keys(stub) is ['name', 'id'].
    this.name = id.name;
    this.id = id;
  }
}

// Disposing a Durable Object stub releases nothing: it holds no capability of its own.
function disposeObjectStub() {}

function makeStub(className, id) {
  const idHex = objectIdHex(id);
  const name = id.name;
  const target = new DurableObjectStub(kRuntimeToken, id);
  const fetch = function fetch(input, init = undefined) {
    return fetchObject(className, idHex, name, input, init);
  };
  const stub = new ProxyCtor(target, {
    get(stub, property) {
      if (property === 'fetch') return fetch;
      if (property === SymbolDispose) return disposeObjectStub;
      if (typeof property !== 'string') return ReflectGet(stub, property);
      if (ObjectHasOwn(stub, property) || ReflectHas(stub, property)) {
        return ReflectGet(stub, property);
      }
      // Not a thenable: `await stub` gives the stub.
      if (property === 'then') return undefined;
      return methodCaller(className, idHex, name, property);
    },
  });
  registerObjectStub(stub, className, idHex, name);
  return stub;
}

// A Durable Object stub sent over RPC arrives as a stub of the same object.
setObjectStubMaker((className, idHex, name) => makeStub(className, makeObjectId(idHex, name)));

// As workerd, get() takes any DurableObjectId, even one another namespace made: it then names
// the object with that id in this namespace.
function checkIdFor(id, method) {
  if (!isObjectId(id)) {
    throw new TypeErrorCtor(
      `Failed to execute '${method}' on 'DurableObjectNamespace': parameter 1 is not of type 'DurableObjectId'.`);
  }
}

export class DurableObjectNamespace {
  #className;
  #jurisdiction;
  constructor(token, className, jurisdiction = undefined) {
    checkToken(token);
    this.#className = className;
    this.#jurisdiction = jurisdiction;
  }

  newUniqueId(options = undefined) {
    let jurisdiction = this.#jurisdiction;
    if (options !== undefined && options !== null && options.jurisdiction !== undefined &&
        options.jurisdiction !== null) {
      jurisdiction = StringCtor(options.jurisdiction);
    }
    return makeObjectId(native.newUniqueId(this.#className), undefined, jurisdiction);
  }

  idFromName(name) {
    if (arguments.length < 1) {
      throw new TypeErrorCtor(
        "Failed to execute 'idFromName' on 'DurableObjectNamespace': parameter 1 is not of type 'string'.");
    }
    const text = StringCtor(name);
    return makeObjectId(native.idFromName(this.#className, text), text, this.#jurisdiction);
  }

  idFromString(id) {
    if (arguments.length < 1) {
      throw new TypeErrorCtor(
        "Failed to execute 'idFromString' on 'DurableObjectNamespace': parameter 1 is not of type 'string'.");
    }
    const text = StringCtor(id);
    const check = native.checkObjectId(this.#className, text);
    if (check === 1) throw new TypeErrorCtor('Invalid Durable Object ID: must be 64 hex digits');
    if (check !== 0) throw new TypeErrorCtor('Durable Object ID is not valid for this namespace.');
    return makeObjectId(StringPrototypeToLowerCase(text), undefined, this.#jurisdiction);
  }

  get(id, options = undefined) {
    checkIdFor(id, 'get');
    return makeStub(this.#className, id);
  }

  getByName(name, options = undefined) {
    return makeStub(this.#className, this.idFromName(name));
  }

  // A namespace whose new ids carry `jurisdiction`. Dorm runs in one place: ids behave the same.
  jurisdiction(jurisdiction) {
    return new DurableObjectNamespace(kRuntimeToken, this.#className,
      jurisdiction === undefined || jurisdiction === null ? undefined : StringCtor(jurisdiction));
  }
}

export function createNamespace(className) {
  return new DurableObjectNamespace(kRuntimeToken, className);
}

// A service binding (`env.BINDING` of Wrangler's `services`) to one of the project's own Worker
// entrypoints: `fetch()` reaches its fetch handler, any other property is a JavaScript RPC method
// of the entrypoint class, as on Cloudflare. `index` is the binding's place in the app's list.
export class Fetcher {
  constructor(token) {
    checkToken(token);
  }
}

export function createService(index) {
  return makeFetcher(native.fetchService, native.callService, index);
}

// `ctx.exports.<name>` for an entrypoint of the project's module (runtime/env_object.h): a
// service binding to the export `name`, if it is the default export's handler or a class extending
// WorkerEntrypoint; undefined for any other export.
export function createEntrypoint(name, value) {
  const entrypoint = extendsWorkerEntrypoint(value) ||
    (name === 'default' && value !== null && typeof value === 'object');
  if (!entrypoint) return undefined;
  return makeFetcher(native.fetchEntrypoint, native.callEntrypoint, name);
}

// A Fetcher whose fetch() and RPC calls go through `fetchNative` and `callNative`, which name the
// entrypoint by `key` (a service binding's index, or an export's name).
function makeFetcher(fetchNative, callNative, key) {
  const target = new Fetcher(kRuntimeToken);
  const fetch = function fetch(input, init = undefined) {
    return fetchWith(fetchNative, key, undefined, undefined, input, init);
  };
  const call = (member, args) => callWith(callNative, key, undefined, undefined, member, args);
  return new ProxyCtor(target, {
    get(service, property) {
      if (property === 'fetch') return fetch;
      if (typeof property !== 'string') return ReflectGet(service, property);
      if (ReflectHas(service, property)) return ReflectGet(service, property);
      if (property === 'then') return undefined;
      return stubMember(call, property);
    },
  });
}
