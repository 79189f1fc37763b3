import { CopiedObject, hideBase } from './host_object.js';
import { createAbortSignal, followSignal, isAbortSignal } from './abort.js';
import {
  BodyRecord, bodyStreamForHost, cloneBody, extractBody, installBodyMixin, takeBody,
} from './body.js';
import { Headers, hasHeader, headersInternals } from './headers.js';
import { parseAbsoluteURL } from './url.js';
import { isReadableStream } from './streams.js';
import {
  defineInterface, inspectCustom, isObject, requireArgs, toByteString, toDictionary, toDOMString,
  toUSVString,
} from './webidl.js';

// The methods workerd's HTTP client knows (any case; sent in upper case). Others are refused.
const knownMethods = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'PURGE', 'OPTIONS', 'TRACE', 'COPY', 'LOCK',
  'MKCOL', 'MOVE', 'PROPFIND', 'PROPPATCH', 'SEARCH', 'UNLOCK', 'ACL', 'REPORT', 'MKACTIVITY',
  'CHECKOUT', 'MERGE', 'MSEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'QUERY',
]);
// workerd takes 'follow' and 'manual' in any case, and refuses 'error' with the other values.
const REDIRECT_REFUSED = 'Invalid redirect value, must be one of "follow" or "manual" ("error" won\'t be implemented since it does not make sense at the edge; use "manual" and check the response status code).';

function toRedirectMode(value) {
  const mode = toDOMString(value).toLowerCase();
  if (mode !== 'follow' && mode !== 'manual') throw new TypeError(REDIRECT_REFUSED);
  return mode;
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

    let inputState = null;
    let url;
    if (isRequestObject(input)) {
      inputState = input.#state;
      url = inputState.url;
    } else {
      const text = toUSVString(input);
      const parsed = parseAbsoluteURL(text);
      if (parsed === null) throw new TypeError(`Invalid URL: ${text}`);
      if (parsed.hasCredentials) {
        throw new TypeError(`${context}: Request cannot be constructed from a URL that includes credentials: ${text}`);
      }
      url = parsed.href;
    }

    // Dictionary members are read in lexicographic order, as WebIDL converts them.
    const dict = toDictionary(init, context);
    const bodyInit = dict.body;
    const cf = dict.cf;
    const headersInit = dict.headers;
    const integrityInit = dict.integrity;
    const methodInit = dict.method;
    const redirectInit = dict.redirect;
    const signalInit = dict.signal;
    if (signalInit !== undefined && signalInit !== null && !isAbortSignal(signalInit)) {
      throw new TypeError("Incorrect type for the 'signal' field on 'RequestInitializerDict': the provided value is not of type 'AbortSignal'.");
    }
    if (integrityInit !== undefined && toDOMString(integrityInit) !== '') {
      throw new TypeError('Subrequest integrity checking is not implemented. The integrity option must be either undefined or an empty string.');
    }

    let method = inputState === null ? 'GET' : inputState.method;
    if (methodInit !== undefined) {
      const m = toByteString(methodInit, context);
      const upper = m.toUpperCase();
      if (!knownMethods.has(upper)) throw new TypeError(`Invalid HTTP method string: ${m}`);
      method = upper;
    }

    const redirect = redirectInit !== undefined
      ? toRedirectMode(redirectInit)
      : (inputState === null ? 'follow' : inputState.redirect);

    const headers = new Headers();
    headersInternals.setGuard(headers, 'request');
    if (headersInit !== undefined) {
      headersInternals.fill(headers, headersInit, context);
    } else if (inputState !== null) {
      for (const [name, value] of headersInternals.list(stateHeaders(inputState))) {
        headersInternals.appendRaw(headers, name, value);
      }
    }

    const inputBody = inputState === null ? null : inputState.body;
    const hasInitBody = bodyInit !== undefined && bodyInit !== null;
    if ((hasInitBody || inputBody !== null) && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError('Request with a GET or HEAD method cannot have a body.');
    }

    let body = null;
    if (hasInitBody) {
      const { record, type } = extractBody(bodyInit);
      body = record;
      if (type !== null && !hasHeader(headers, 'content-type')) {
        headersInternals.appendRaw(headers, 'content-type', type);
      }
    } else if (inputBody !== null) {
      // The new request takes the body over; the input reads as used from now on.
      body = takeBody(inputBody);
    }

    const signal = createAbortSignal();
    const parentSignal = signalInit !== undefined ? signalInit : (inputState === null ? null : stateSignal(inputState));
    if (parentSignal !== null) followSignal(signal, parentSignal);

    this.#state = {
      method,
      url,
      headers,
      body,
      redirect,
      signal,
      cf: cf !== undefined ? cf : (inputState === null ? undefined : inputState.cf),
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

installBodyMixin(Request, (request) => requestState(request).body,
  (request) => stateHeaders(requestState(request)));
defineInterface(Request, 'Request');
hideBase(Request);

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
    signal: stateSignal(state),
  };
}

// Null when `value` is not a Request or its body is not a stream (none, or bytes it holds); else
// the body's stream, for the runtime to send as it comes. Throws the error workerd gives a body
// already used or locked.
export function requestBodyStream(value) {
  if (!isRequestObject(value)) return null;
  return bodyStreamForHost(requestState(value).body);
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
    || (!isStream && (method === 'GET' || method === 'HEAD') && body.length === 0);
  return new Request(internalToken, {
    method,
    url,
    headers: null,
    headerList,
    body: noBody ? null : isStream ? new BodyRecord(null, null, body) : new BodyRecord(body),
    redirect: 'follow',
    signal: null,
    cf: undefined,
  });
}
