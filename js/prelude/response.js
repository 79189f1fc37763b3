import { CopiedObject, hideBase } from './host_object.js';
import {
  BodyRecord, bodyStreamForHost, bufferBody, cloneBody, consumeBodyForHost, extractBody, installBodyMixin,
} from './body.js';
import { Headers, hasHeader, headersInternals } from './headers.js';
import { fixedLengthOf } from './identity_stream.js';
import { knownLength } from './streams_inspect.js';
import { parseAbsoluteURL } from './url.js';
import {
  defineInterface, inspectCustom, isObject, requireArgs, toByteString, toDictionary, toUSVString,
  toUnsignedShort,
} from './webidl.js';

const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const reasonPhrasePattern = /^[\t\x20-\x7E\x80-\xFF]*$/;

// See Request: the token marks construction from internal state.
const internalToken = Symbol('Response');

let responseState;
// For structured clone (copied_clone.js): the private state of a Response, and a Response made
// from such a state.
export const responseInternals = {};
let isResponseObject;

// Reads a ResponseInit dictionary (members in lexicographic order) and validates it, including
// Cloudflare's `webSocket` member, which alone makes status 101 acceptable.
function readResponseInit(init, context) {
  const dict = toDictionary(init, context);
  const headersInit = dict.headers;
  const statusInit = dict.status;
  const statusTextInit = dict.statusText;
  const webSocketInit = dict.webSocket;
  const status = statusInit === undefined ? 200 : toUnsignedShort(statusInit);
  const statusText = statusTextInit === undefined ? '' : toByteString(statusTextInit, context);
  const webSocket = webSocketInit === undefined || webSocketInit === null ? null : webSocketInit;
  if (!(status === 101 && webSocket !== null) && (status < 200 || status > 599)) {
    throw new RangeError(`${context}: The status provided (${status}) is outside the range [200, 599].`);
  }
  if (!reasonPhrasePattern.test(statusText)) {
    throw new TypeError(`${context}: Invalid statusText.`);
  }
  return { headersInit, status, statusText, webSocket };
}

// Fetch's "initialize a response", for the constructor and Response.json().
function initializeResponse(init, body, context) {
  const { headersInit, status, statusText, webSocket } = readResponseInit(init, context);
  const headers = new Headers();
  headersInternals.setGuard(headers, 'response');
  if (headersInit !== undefined) headersInternals.fill(headers, headersInit, context);
  let record = null;
  if (body !== null) {
    const extracted = body();
    record = extracted.record;
    if (nullBodyStatuses.has(status)) {
      // As workerd: an empty body is no body; anything else (a stream too) is refused.
      const empty = record.stream === null
        && (record.text !== null ? record.text.length === 0 : record.encoded.byteLength === 0);
      if (!empty) {
        throw new TypeError('Response with null body status (101, 204, 205, or 304) cannot have a body.');
      }
      record = null;
    } else if (extracted.type !== null && !hasHeader(headers, 'content-type')) {
      headersInternals.appendRaw(headers, 'content-type', extracted.type);
    }
  }
  return {
    type: 'default',
    url: '',
    status,
    statusText,
    headers,
    body: record,
    webSocket,
  };
}

export class Response extends CopiedObject {
  #state;

  constructor(body = null, init = undefined) {
    super('Response');
    if (body === internalToken) {
      this.#state = init;
      return;
    }
    const context = "Failed to construct 'Response'";
    const source = body === null || body === undefined ? null : () => extractBody(body);
    this.#state = initializeResponse(init, source, context);
  }

  static {
    responseState = (response) => response.#state;
    responseInternals.stateOf = (value) => (isObject(value) && #state in value ? value.#state : undefined);
    responseInternals.make = (state) => new Response(internalToken, state);
    isResponseObject = (value) => isObject(value) && #state in value;
  }

  static error() {
    const headers = new Headers();
    headersInternals.setGuard(headers, 'immutable');
    return new Response(internalToken, {
      type: 'error', url: '', status: 0, statusText: '', headers, body: null, webSocket: null,
    });
  }

  static redirect(url, status = 302) {
    const context = "Failed to execute 'redirect' on 'Response'";
    requireArgs(arguments.length, 1, context);
    const text = toUSVString(url);
    const code = toUnsignedShort(status);
    const parsed = parseAbsoluteURL(text);
    if (parsed === null) throw new TypeError(`${context}: Invalid URL: ${text}`);
    if (!redirectStatuses.has(code)) throw new RangeError(`${context}: Invalid status code ${code}.`);
    const headers = new Headers();
    headersInternals.appendRaw(headers, 'location', parsed.href);
    headersInternals.setGuard(headers, 'immutable');
    return new Response(internalToken, {
      type: 'default', url: '', status: code, statusText: '', headers, body: null, webSocket: null,
    });
  }

  static json(data, init = undefined) {
    const context = "Failed to execute 'json' on 'Response'";
    requireArgs(arguments.length, 1, context);
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError(`${context}: The data is not JSON serializable.`);
    const body = () => ({ record: new BodyRecord(null, text), type: 'application/json' });
    return new Response(internalToken, initializeResponse(init, body, context));
  }

  get type() {
    return this.#state.type;
  }

  get url() {
    return this.#state.url;
  }

  get redirected() {
    return this.#state.redirected === true;
  }

  get status() {
    return this.#state.status;
  }

  get ok() {
    return this.#state.status >= 200 && this.#state.status <= 299;
  }

  get statusText() {
    return this.#state.statusText;
  }

  get headers() {
    return this.#state.headers;
  }

  // Cloudflare's WebSocket upgrade: the client end of a WebSocketPair, or null.
  get webSocket() {
    return this.#state.webSocket;
  }

  clone() {
    const state = this.#state;
    const body = state.body === null ? null : cloneBody(state.body);
    return new Response(internalToken, {
      ...state,
      headers: headersInternals.copy(state.headers),
      body,
    });
  }

  [inspectCustom](depth, options, inspect) {
    const fields = {
      status: this.status,
      statusText: this.statusText,
      ok: this.ok,
      headers: this.headers,
      bodyUsed: this.bodyUsed,
      url: this.url,
      redirected: this.redirected,
      webSocket: this.webSocket,
    };
    return `Response ${inspect(fields, options)}`;
  }
}

installBodyMixin(Response, (response) => responseState(response).body,
  (response) => responseState(response).headers);
defineInterface(Response, 'Response');
hideBase(Response);

// A response fetch() received from another host: `headerList` flat (name, value, ...), `body` a
// Uint8Array, a ReadableStream (a streamed body) or null, `url` the URL it was fetched from (the
// last one, after redirects),
// `webSocket` the socket of a 101 answer.
export function createFetchedResponse(status, statusText, headerList, body, url, redirected,
  webSocket = null) {
  const headers = new Headers();
  for (let i = 0; i + 1 < headerList.length; i += 2) {
    headersInternals.appendRaw(headers, headerList[i], headerList[i + 1]);
  }
  headersInternals.setGuard(headers, 'immutable');
  return new Response(internalToken, {
    type: 'default',
    url,
    status,
    statusText,
    headers,
    body: body === null ? null
      : body instanceof Uint8Array ? new BodyRecord(body) : new BodyRecord(null, null, body),
    webSocket,
    redirected,
  });
}

export function isResponse(value) {
  return isResponseObject(value);
}

// Null when `value` is not a Response or its body can go to the host as it is (responseParts);
// else a promise that settles once its stream has been read to the end and the body buffered
// (rejected with the stream's error). The runtime waits for it before it hands the response over.
export function bufferResponseBody(value) {
  if (!isResponseObject(value)) return null;
  return bufferBody(responseState(value).body);
}

// Null when `value` is not a Response or its body is not a stream; else its body's stream, which
// the response gives up (its body reads as null from then on) so that the runtime can write it to
// the client as it comes, and the body's length when known in advance (a FixedLengthStream, a
// stream of buffered bytes), else -1: [stream, length]. Throws the error workerd's server gives a
// body already used or locked.
export function detachResponseStream(value) {
  if (!isResponseObject(value)) return null;
  const state = responseState(value);
  const stream = bodyStreamForHost(state.body);
  if (stream === null) return null;
  state.body = null;
  const length = knownLength(stream) ?? fixedLengthOf(stream) ?? -1;
  return [stream, length];
}

// What the host sends: the status line, the header list in order, and the whole body, which must
// be buffered (see bufferResponseBody).
export function responseParts(response) {
  if (!isResponseObject(response)) {
    throw new TypeError('The value returned is not a Response.');
  }
  const state = responseState(response);
  const headers = [];
  for (const [name, value] of headersInternals.list(state.headers)) headers.push(name, value);
  return {
    status: state.status,
    statusText: state.statusText,
    headers,
    body: state.body === null ? null : consumeBodyForHost(state.body),
    webSocket: state.webSocket,
  };
}
