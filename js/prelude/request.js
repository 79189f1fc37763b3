import { CopiedObject } from './host_object.js';
import { createAbortSignal, followSignal, isAbortSignal } from './abort.js';
import {
  BodyRecord, bodyStreamForHost, cloneBody, consumeBody, extractBody, inheritBody, takeBody,
} from './body.js';
import { Headers, hasHeader, headersInternals } from './headers.js';
import {
  SetCtor, SetPrototypeHas, StringPrototypeToLowerCase, StringPrototypeToUpperCase, TypeErrorCtor,
  InternalList, TypedArrayBuffer, TypedArrayLength, arrayFromList, copyBytes, listAppend,
} from './primordials.js';
import { parseAbsoluteURL } from './url.js';
import { isReadableStream } from './streams.js';
import {
  defineInterface, inspectCustom, isObject, requireArgs, toDictionary, toDOMString,
  toUSVString,
} from './webidl.js';

// The methods workerd's HTTP client knows (any case; sent in upper case). Others are refused.
const knownMethods = new SetCtor([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'PURGE', 'OPTIONS', 'TRACE', 'COPY', 'LOCK',
  'MKCOL', 'MOVE', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'MSEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'QUERY',
]);
// workerd takes 'follow' and 'manual' in any case, and refuses 'error' with the other values.
const REDIRECT_REFUSED = 'Invalid redirect value, must be one of "follow" or "manual" ("error" won\'t be implemented since it does not make sense at the edge; use "manual" and check the response status code).';

function toRedirectMode(value) {
  const mode = StringPrototypeToLowerCase(value);
  if (mode !== 'follow' && mode !== 'manual') throw new TypeErrorCtor(REDIRECT_REFUSED);
  return mode;
}

// The `cache` modes workerd takes at the compatibility dates Dorm follows ('reload' is behind an
// experimental flag): fetch() sends `Cache-Control: no-cache` and `Pragma: no-cache` for them.
const cacheModes = new SetCtor(['no-store', 'no-cache']);

// A dictionary member that WebIDL converts to a DOMString when present.
function optionalString(value) {
  return value === undefined ? undefined : toDOMString(value);
}

// workerd's checks of `cf` against the cache options: `cacheControl` goes with neither
// `cacheTtl` nor the `cache` option.
function checkCfCacheOptions(cf, cache) {
  if (!isObject(cf) || !('cacheControl' in cf) || cf.cacheControl === undefined) return;
  if ('cacheTtl' in cf && cf.cacheTtl !== undefined) {
    throw new TypeErrorCtor("The 'cacheControl' and 'cacheTtl' options on cf are mutually exclusive. "
      + "Use 'cacheControl' for explicit Cache-Control header directives, or 'cacheTtl' for a "
      + 'simplified TTL, but not both.');
  }
  if (cache !== undefined) {
    throw new TypeErrorCtor("The 'cacheControl' option on cf cannot be used together with the 'cache' "
      + "request option. The 'cache' option ('no-store'/'no-cache') maps to cache TTL behavior "
      + 'internally, which conflicts with explicit Cache-Control directives.');
  }
}

// The constructor recognises this token as "build from internal state", which lets the host and
// clone() create requests without going through validation meant for user input.
const internalToken = Symbol('Request');

let requestState;
// For structured clone (copied_clone.js): the private state of a Request.
export const requestInternals = {};
let isRequestObject;

// An incoming request's Headers and AbortSignal are made on first use: many handlers read
// neither, and building them is a large share of delivering a request.
function stateHeaders(state) {
  if (state.headers === null) {
    const headers = new Headers();
    const list = state.headerList;
    for (let i = 0; i + 1 < list.length; i += 2) {
      headersInternals.appendRaw(headers, list[i], list[i + 1]);
    }
    headersInternals.setGuard(headers, 'immutable');
    state.headers = headers;
    state.headerList = null;
  }
  return state.headers;
}

function stateSignal(state) {
  if (state.signal === null) state.signal = createAbortSignal();
  return state.signal;
}

export class Request extends CopiedObject {
  #state;

  constructor(input, init = undefined) {
    super('Request');
    if (input === internalToken) {
      this.#state = init;
      return;
    }
    const context = "Failed to construct 'Request'";
    requireArgs(arguments.length, 1, context);

    const inputState = isRequestObject(input) ? input.#state : null;
    const inputText = inputState === null ? toUSVString(input) : null;

    // Dictionary members are read (and converted) in the order workerd's RequestInitializerDict
    // declares them, then checked as workerd checks them.
    const dict = toDictionary(init, context);
    const methodInit = optionalString(dict.method);
    const headersInit = dict.headers;
    if (headersInit !== undefined && !isObject(headersInit)) {
      throw new TypeErrorCtor("Incorrect type for the 'headers' field on 'RequestInitializerDict': the provided value is not of type 'Headers or Sequence or object'.");
    }
    const bodyInit = dict.body;
    const redirectInit = optionalString(dict.redirect);
    // workerd's Fetcher the request goes through; Dorm's requests have none (read for the order).
    void dict.fetcher;
    const cf = dict.cf;
    const cacheInit = optionalString(dict.cache);
    const integrityInit = optionalString(dict.integrity);
    const signalInit = dict.signal;
    if (signalInit !== undefined && signalInit !== null && !isAbortSignal(signalInit)) {
      throw new TypeErrorCtor("Incorrect type for the 'signal' field on 'RequestInitializerDict': the provided value is not of type 'AbortSignal'.");
    }
    // 'manual': fetch() gives the response's body as it came, compressed or not, and the
    // Response sends it so.
    const encodeResponseBody = optionalString(dict.encodeResponseBody);
    if (cacheInit !== undefined && !SetPrototypeHas(cacheModes, cacheInit)) {
      throw new TypeErrorCtor(`Unsupported cache mode: ${cacheInit}`);
    }
    checkCfCacheOptions(cf, cacheInit);

    // A URL with credentials is taken, as workerd takes it (fetch() does not send them).
    let url;
    if (inputState !== null) {
      url = inputState.url;
    } else {
      const parsed = parseAbsoluteURL(inputText);
      if (parsed === null) throw new TypeErrorCtor(`Invalid URL: ${inputText}`);
      url = parsed.href;
    }
    if (integrityInit !== undefined && integrityInit !== '') {
      throw new TypeErrorCtor('Subrequest integrity checking is not implemented. The integrity option must be either undefined or an empty string.');
    }

    let method = inputState === null ? 'GET' : inputState.method;
    if (methodInit !== undefined) {
      const upper = StringPrototypeToUpperCase(methodInit);
      if (!SetPrototypeHas(knownMethods, upper)) throw new TypeErrorCtor(`Invalid HTTP method string: ${methodInit}`);
      method = upper;
    }

    const headers = new Headers();
    headersInternals.setGuard(headers, 'request');
    if (headersInit !== undefined) {
      headersInternals.fill(headers, headersInit, context);
    } else if (inputState !== null) {
      const list = headersInternals.list(stateHeaders(inputState));
      for (let i = 0; i < list.length; i++) headersInternals.appendRaw(headers, list[i][0], list[i][1]);
    }

    // A body given in `init` (null too) replaces the input's, which is then left alone.
    let body = null;
    const inputBody = inputState === null || bodyInit !== undefined ? null : inputState.body;
    if (bodyInit !== undefined && bodyInit !== null) {
      const { record, type } = extractBody(bodyInit);
      if (method === 'GET' || method === 'HEAD') {
        throw new TypeErrorCtor('Request with a GET or HEAD method cannot have a body.');
      }
      body = record;
      if (type !== null && !hasHeader(headers, 'content-type')) {
        headersInternals.appendRaw(headers, 'content-type', type);
      }
    }
    // As workerd: a GET or HEAD request with a body (as it may arrive) passes through a new
    // Request unless the method or the body is given.
    if (inputBody !== null && (methodInit !== undefined || bodyInit !== undefined)
        && (method === 'GET' || method === 'HEAD')) {
      throw new TypeErrorCtor('Request with a GET or HEAD method cannot have a body.');
    }

    const redirect = redirectInit !== undefined
      ? toRedirectMode(redirectInit)
      : (inputState === null ? 'follow' : inputState.redirect);
    const cache = cacheInit !== undefined ? cacheInit : (inputState === null ? undefined : inputState.cache);
    if (encodeResponseBody !== undefined && encodeResponseBody !== 'manual'
        && encodeResponseBody !== 'automatic') {
      throw new TypeErrorCtor(`encodeResponseBody: unexpected value: ${encodeResponseBody}`);
    }
    // As workerd: taken from `init` when given, or from `init` when it is a Request; a Request
    // given as `input` passes its own on only through fetch() (without `init`) and clone().
    const initState = isRequestObject(init) ? init.#state : null;
    const responseBodyEncoding = encodeResponseBody !== undefined ? encodeResponseBody
      : (initState !== null ? initState.responseBodyEncoding : 'automatic');

    // The new request takes the input's body over; the input reads as used from now on.
    if (inputBody !== null) body = takeBody(inputBody);

    const signal = createAbortSignal();
    const parentSignal = signalInit !== undefined ? signalInit : (inputState === null ? null : stateSignal(inputState));
    if (parentSignal !== null) followSignal(signal, parentSignal);

    this.#state = {
      method,
      url,
      headers,
      body,
      redirect,
      cache,
      signal,
      cf: cf !== undefined ? cf : (inputState === null ? undefined : inputState.cf),
      responseBodyEncoding,
      // Whether the request follows a signal it was given (directly or through its input):
      // structured clone refuses it then, as workerd does.
      givenSignal: (signalInit !== undefined && signalInit !== null)
        || (inputState !== null && inputState.givenSignal === true),
    };
  }

  static {
    requestState = (request) => request.#state;
    requestInternals.stateOf = (value) => (isObject(value) && #state in value ? value.#state : undefined);
    requestInternals.headers = (request) => stateHeaders(request.#state);
    isRequestObject = (value) => isObject(value) && #state in value;
  }

  get method() {
    return this.#state.method;
  }

  get url() {
    return this.#state.url;
  }

  get headers() {
    return stateHeaders(this.#state);
  }

  // workerd's Fetcher the request goes through when made with one; Dorm's requests have none.
  get fetcher() {
    return null;
  }

  get redirect() {
    return this.#state.redirect;
  }

  get signal() {
    return stateSignal(this.#state);
  }

  // Cloudflare's request metadata; Dorm has none to give for incoming requests.
  get cf() {
    return this.#state.cf;
  }

  // The `cache` option given (or inherited from the input request), or undefined.
  get cache() {
    return this.#state.cache;
  }

  get integrity() {
    return '';
  }

  get keepalive() {
    return false;
  }

  clone() {
    const state = this.#state;
    const body = state.body === null ? null : cloneBody(state.body);
    const signal = createAbortSignal();
    followSignal(signal, stateSignal(state));
    return new Request(internalToken, {
      ...state,
      headers: headersInternals.copy(stateHeaders(state)),
      body,
      signal,
    });
  }

  [inspectCustom](depth, options, inspect) {
    const fields = {
      method: this.method,
      url: this.url,
      headers: this.headers,
      redirect: this.redirect,
      bodyUsed: this.bodyUsed,
    };
    return `Request ${inspect(fields, options)}`;
  }
}

defineInterface(Request, 'Request');
inheritBody(Request, (value) => isRequestObject(value), (request) => requestState(request).body,
  (request) => stateHeaders(requestState(request)));

// What fetch() sends: the request's method, URL, headers, body record (or null), redirect mode
// and signal.
export function requestForFetch(request) {
  const state = requestState(request);
  return {
    method: state.method,
    url: state.url,
    headers: stateHeaders(state),
    body: state.body,
    redirect: state.redirect,
    cache: state.cache,
    signal: stateSignal(state),
    // Incoming requests' states have none: 'automatic'.
    manualResponseBody: state.responseBodyEncoding === 'manual',
  };
}

// Null when `value` is not a Request or its body is not a stream (none, or bytes it holds); else
// the body's stream, for the runtime to send as it comes. Throws the error workerd gives a body
// already used or locked.
export function requestBodyStream(value) {
  if (!isRequestObject(value)) return null;
  return bodyStreamForHost(requestState(value).body);
}

// What a stub's fetch() sends of `value` (a Request the runtime made): [method, url, headers,
// bytes], read from the request's state rather than through its (replaceable) members.
// `headers` is an Array of [name, value] for the host, combined and sorted as iterating the
// Headers gives them, without those of an empty name (kept in the Headers, never sent), and with
// `Transfer-Encoding: chunked` when `streamed` (the body goes as a stream) and none is
// Content-Length. `bytes` is null when there is no body or it is a stream (requestBodyStream),
// else an ArrayBuffer of a copy of the body. Throws the error workerd gives a body already used.
export function stubRequestParts(value, streamed) {
  const state = requestState(value);
  const sorted = headersInternals.sorted(stateHeaders(state));
  const headers = new InternalList();
  let sized = false;
  for (let i = 0; i < sorted.length; i++) {
    const name = sorted[i][0];
    if (name === '') continue;
    listAppend(headers, [name, sorted[i][1]]);
    if (name === 'content-length') sized = true;
  }
  if (streamed && !sized) listAppend(headers, ['transfer-encoding', 'chunked']);
  let bytes = null;
  if (state.body !== null && state.body.stream === null) {
    bytes = TypedArrayBuffer(copyBytes(consumeBody(state.body)));
  }
  return [state.method, state.url, arrayFromList(headers), bytes];
}

// Whether `value` is a Request made with encodeResponseBody: 'manual' (a stub's fetch() then gives
// the callee's body as it was sent, not decoded).
export function requestWantsManualBody(value) {
  return isRequestObject(value) && requestState(value).responseBodyEncoding === 'manual';
}

// Whether `value` (a Request) follows an AbortSignal it was given: RPC and structured clone
// refuse it then, as workerd does ("AbortSignal serialization is not enabled.").
export function requestGivenSignal(value) {
  const state = requestInternals.stateOf(value);
  return state !== undefined && state.givenSignal === true;
}

export function isRequest(value) {
  return isRequestObject(value);
}

// A request as the host receives it. Its headers are immutable, as they are for requests that
// Workers hand to a fetch handler.
// `body`: null, the bytes (a Uint8Array), or a ReadableStream the runtime made for a body that is
// still arriving.
export function createIncomingRequest(method, url, headerList, body) {
  const isStream = isReadableStream(body);
  const noBody = body === null || body === undefined
    || (!isStream && (method === 'GET' || method === 'HEAD') && TypedArrayLength(body) === 0);
  return new Request(internalToken, {
    method,
    url,
    headers: null,
    headerList,
    body: noBody ? null : isStream ? new BodyRecord(null, null, body) : new BodyRecord(body),
    redirect: 'follow',
    cache: undefined,
    signal: null,
    cf: undefined,
  });
}
