import { CopiedObject } from './host_object.js';
import {
  BodyRecord, bodyStream, bodyStreamForHost, bufferBody, cloneBody, consumeBodyForHost, extractBody,
  inheritBody, isBodyUsed,
} from './body.js';
import { zlibPipe } from './compression_streams.js';
import { decodedBody, isKeptEncoding, takeEncoded } from './encoded_body.js';
import { Headers, combinedValue, hasHeader, headersInternals } from './headers.js';
import { fixedLengthOf } from './identity_stream.js';
import { structuredClone } from './structured_clone.js';
import { ReadableStream } from './streams.js';
import { knownLength } from './streams_inspect.js';
import {
  JSONStringify, MapCtor, MapPrototypeGet, ReflectApply, SetCtor, SetPrototypeHas, TypeErrorCtor,
  InternalList, TypedArrayByteLength, arrayFromList, listAppend, regExpMatches,
} from './primordials.js';
import { parseAbsoluteURL } from './url.js';
import { webSocketHooks } from './web_socket.js';
import {
  defineInterface, inspectCustom, isObject, requireArgs, toDictionary, toDOMString, toUSVString,
  toUnsignedShort,
} from './webidl.js';

const nullBodyStatuses = new SetCtor([101, 103, 204, 205, 304]);
const redirectStatuses = new SetCtor([301, 302, 303, 307, 308]);
const controlCharacterPattern = /[\0-\x1F]/;

// The status text of a Response made without one, as workerd gives it: the RFC's reason phrase
// for a registered code, else the name of the code's class ("Successful" for 299).
const defaultStatusTexts = new MapCtor([
  [100, 'Continue'], [101, 'Switching Protocols'], [102, 'Processing'], [103, 'Early Hints'],
  [200, 'OK'], [201, 'Created'], [202, 'Accepted'], [203, 'Non-Authoritative Information'],
  [204, 'No Content'], [205, 'Reset Content'], [206, 'Partial Content'], [207, 'Multi-Status'],
  [208, 'Already Reported'], [226, 'IM Used'], [300, 'Multiple Choices'],
  [301, 'Moved Permanently'], [302, 'Found'], [303, 'See Other'], [304, 'Not Modified'],
  [305, 'Use Proxy'], [307, 'Temporary Redirect'], [308, 'Permanent Redirect'],
  [400, 'Bad Request'], [401, 'Unauthorized'], [402, 'Payment Required'], [403, 'Forbidden'],
  [404, 'Not Found'], [405, 'Method Not Allowed'], [406, 'Not Acceptable'],
  [407, 'Proxy Authentication Required'], [408, 'Request Timeout'], [409, 'Conflict'],
  [410, 'Gone'], [411, 'Length Required'], [412, 'Precondition Failed'],
  [413, 'Payload Too Large'], [414, 'URI Too Long'], [415, 'Unsupported Media Type'],
  [416, 'Range Not Satisfiable'], [417, 'Expectation Failed'], [418, "I'm a teapot"],
  [421, 'Misdirected Request'], [422, 'Unprocessable Entity'], [423, 'Locked'],
  [424, 'Failed Dependency'], [426, 'Upgrade Required'], [428, 'Precondition Required'],
  [429, 'Too Many Requests'], [431, 'Request Header Fields Too Large'],
  [451, 'Unavailable For Legal Reasons'], [500, 'Internal Server Error'],
  [501, 'Not Implemented'], [502, 'Bad Gateway'], [503, 'Service Unavailable'],
  [504, 'Gateway Timeout'], [505, 'HTTP Version Not Supported'],
  [506, 'Variant Also Negotiates'], [507, 'Insufficient Storage'], [508, 'Loop Detected'],
  [510, 'Not Extended'], [511, 'Network Authentication Required'],
]);

function defaultStatusText(status) {
  const known = MapPrototypeGet(defaultStatusTexts, status);
  if (known !== undefined) return known;
  if (status >= 200 && status < 300) return 'Successful';
  if (status >= 300 && status < 400) return 'Redirection';
  if (status >= 400 && status < 500) return 'Client Error';
  if (status >= 500 && status < 600) return 'Server Error';
  return '';
}

// A state's status text: null in the state stands for the status's default.
function statusTextOf(state) {
  return state.statusText === null ? defaultStatusText(state.status) : state.statusText;
}

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
  // Read in the order workerd's InitializerDict declares the members.
  const dict = toDictionary(init, context);
  const statusInit = dict.status;
  const statusTextInit = dict.statusText;
  const headersInit = dict.headers;
  const cfInit = dict.cf;
  if (cfInit !== undefined && !isObject(cfInit)) {
    throw new TypeErrorCtor("Incorrect type for the 'cf' field on 'InitializerDict': the provided value is not of type 'Object'.");
  }
  const webSocketInit = dict.webSocket;
  const encodeBodyInit = dict.encodeBody;
  let bodyEncoding = 'automatic';
  if (encodeBodyInit !== undefined) {
    const encodeBody = toDOMString(encodeBodyInit);
    if (encodeBody !== 'manual' && encodeBody !== 'automatic') {
      throw new TypeErrorCtor(`encodeBody: unexpected value: ${encodeBody}`);
    }
    bodyEncoding = encodeBody;
  } else if (isResponseObject(init)) {
    // A Response as the dictionary passes its own on, as workerd's does.
    bodyEncoding = responseState(init).bodyEncoding === 'manual' ? 'manual' : 'automatic';
  }
  const status = statusInit === undefined ? 200 : toUnsignedShort(statusInit);
  // As workerd: any string without C0 control characters (which could split the status line);
  // the server leaves out of the status line what HTTP/1.1 cannot carry.
  const statusText = statusTextInit === undefined ? null : toDOMString(statusTextInit);
  const webSocket = webSocketInit === undefined || webSocketInit === null ? null : webSocketInit;
  // As workerd: anything but a WebSocket, and a WebSocket with another status, are refused here.
  // Either was accepted, and the server then answered the client's upgrade with a 503 saying
  // that it was shutting down.
  if (webSocket !== null) {
    if (!webSocketHooks.isWebSocket(webSocket)) {
      throw new TypeErrorCtor("Incorrect type for the 'webSocket' field on 'InitializerDict': the provided value is not of type 'WebSocket'.");
    }
    if (status !== 101) throw new RangeError('Responses with a WebSocket must have status code 101.');
  }
  if (!(status === 101 && webSocket !== null) && (status < 200 || status > 599)) {
    throw new RangeError('Responses may only be constructed with status codes in the range 200 to 599, inclusive.');
  }
  if (statusText !== null && regExpMatches(controlCharacterPattern, statusText)) {
    throw new TypeErrorCtor('Invalid statusText');
  }
  // A copy, as workerd keeps one (what the caller changes later is not seen).
  const cf = cfInit === undefined ? undefined : structuredClone(cfInit);
  return { headersInit, status, statusText, webSocket, cf, bodyEncoding };
}

// Fetch's "initialize a response", for the constructor and Response.json().
function initializeResponse(init, body, context) {
  const {
    headersInit, status, statusText, webSocket, cf, bodyEncoding,
  } = readResponseInit(init, context);
  const headers = new Headers();
  headersInternals.setGuard(headers, 'response');
  if (headersInit !== undefined) headersInternals.fill(headers, headersInit, context);
  let record = null;
  if (body !== null) {
    const extracted = body();
    record = extracted.record;
    if (SetPrototypeHas(nullBodyStatuses, status)) {
      // As workerd: an empty body is no body; anything else (a stream too) is refused.
      const empty = record.stream === null
        && (record.text !== null ? record.text.length === 0 : TypedArrayByteLength(record.encoded) === 0);
      if (!empty) {
        throw new TypeErrorCtor('Response with null body status (101, 204, 205, or 304) cannot have a body.');
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
    cf,
    // 'manual': the body is sent as it is, already encoded as its Content-Encoding says;
    // 'automatic': a body whose Content-Encoding is gzip or br is compressed on its way out.
    bodyEncoding,
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
    if (init !== undefined && init !== null && !isObject(init)) {
      throw new TypeErrorCtor(`${context}: constructor parameter 2 is not of type 'InitializerDict or Response'.`);
    }
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
      type: 'error', url: '', status: 0, statusText: null, headers, body: null, webSocket: null,
    });
  }

  static redirect(url, status = 302) {
    const context = "Failed to execute 'redirect' on 'Response'";
    requireArgs(arguments.length, 1, context);
    const text = toUSVString(url);
    const code = toUnsignedShort(status);
    const parsed = parseAbsoluteURL(text);
    if (parsed === null) throw new TypeErrorCtor(`Unable to parse URL: ${text}`);
    if (!SetPrototypeHas(redirectStatuses, code)) {
      throw new RangeError(`${code} is not a redirect status code. It must be one of: 301, 302, 303, 307, or 308.`);
    }
    const headers = new Headers();
    headersInternals.appendRaw(headers, 'location', parsed.href);
    headersInternals.setGuard(headers, 'immutable');
    return new Response(internalToken, {
      type: 'default', url: '', status: code, statusText: null, headers, body: null, webSocket: null,
    });
  }

  static json(data, init = undefined) {
    const context = "Failed to execute 'json' on 'Response'";
    requireArgs(arguments.length, 1, context);
    const text = JSONStringify(data);
    if (text === undefined) throw new TypeErrorCtor(`${context}: The data is not JSON serializable.`);
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
    return statusTextOf(this.#state);
  }

  get headers() {
    return this.#state.headers;
  }

  // The `cf` object given to the constructor (a copy), or undefined.
  get cf() {
    return this.#state.cf;
  }

  // Cloudflare's WebSocket upgrade: the client end of a WebSocketPair, or null.
  get webSocket() {
    return this.#state.webSocket;
  }

  clone() {
    const state = this.#state;
    const body = state.body === null ? null : cloneBody(state.body);
    // As workerd's clone(), the copy encodes its body automatically whatever the original did.
    return new Response(internalToken, {
      ...state,
      headers: headersInternals.copy(state.headers),
      body,
      bodyEncoding: 'automatic',
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

defineInterface(Response, 'Response');
inheritBody(Response, (value) => isResponseObject(value), (response) => responseState(response).body,
  (response) => responseState(response).headers);

// A response fetch() received from another host: `headerList` flat (name, value, ...), `body` a
// Uint8Array, a ReadableStream (a streamed body) or null, as received, `url` the URL it was
// fetched from (the last one, after redirects), `webSocket` the socket of a 101 answer, `manual`
// whether the body is given as it came (encodeResponseBody: 'manual': it is then sent as it is
// too). Otherwise a body whose Content-Encoding is exactly gzip or br is decoded as it is read
// (encoded_body.js), as workerd's fetch() gives it.
export function createFetchedResponse(status, statusText, headerList, body, url, redirected,
  webSocket = null, manual = false) {
  const headers = new Headers();
  for (let i = 0; i + 1 < headerList.length; i += 2) {
    headersInternals.appendRaw(headers, headerList[i], headerList[i + 1]);
  }
  headersInternals.setGuard(headers, 'immutable');
  let record = null;
  if (body !== null) {
    const encoding = manual ? null : contentEncodingOf(headers);
    if (isKeptEncoding(encoding)) {
      const raw = body instanceof Uint8Array ? bodyStream(new BodyRecord(body)) : body;
      record = new BodyRecord(null, null, decodedBody(raw, encoding));
    } else {
      record = body instanceof Uint8Array ? new BodyRecord(body) : new BodyRecord(null, null, body);
    }
  }
  return new Response(internalToken, {
    type: 'default',
    url,
    status,
    statusText,
    headers,
    body: record,
    webSocket,
    redirected,
    bodyEncoding: manual ? 'manual' : 'automatic',
  });
}

// A stub's fetch() answer as its caller gets it (js/runtime/namespace.js): a Response made from
// `body` and `init` as by the constructor. The callee sent a body whose Content-Encoding is
// exactly gzip or br compressed (encodeForClient); unless `manual` (the caller's
// encodeResponseBody), it is decoded as it is read, as workerd's caller decodes it.
export function stubResponse(body, init, manual) {
  // The callee's headers ([name, value] pairs the host made, valid as its Headers held them) are
  // added as they are, not iterated as a sequence would be (through members user code may have
  // replaced).
  const response = new Response(body, { status: init.status, statusText: init.statusText });
  const state = responseState(response);
  const pairs = init.headers;
  for (let i = 0; i < pairs.length; i++) headersInternals.appendRaw(state.headers, pairs[i][0], pairs[i][1]);
  const encoding = manual ? null : contentEncodingOf(state.headers);
  if (state.body !== null && isKeptEncoding(encoding)) {
    state.body = new BodyRecord(null, null, decodedBody(bodyStream(state.body), encoding));
  }
  return response;
}

// 'manual' when `value` is a Response whose body is sent as it is (encodeBody), else
// 'automatic': RPC carries it, as workerd's serialization of a Response does.
export function responseBodyEncoding(value) {
  return isResponseObject(value) && responseState(value).bodyEncoding === 'manual' ? 'manual' : 'automatic';
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
  encodeForClient(state);
  const stream = bodyStreamForHost(state.body);
  if (stream === null) return null;
  state.body = null;
  const length = state.encodedForClient === true ? -1
    : (knownLength(stream) ?? fixedLengthOf(stream) ?? -1);
  return [stream, length];
}

// Captured before user code runs.
const pipeThrough = ReadableStream.prototype.pipeThrough;

// The Content-Encoding header's value (all values combined), or null.
function contentEncodingOf(headers) {
  return combinedValue(headersInternals.list(headers), 'content-encoding');
}

// As workerd sends a Response to a client: unless its body is 'manual', a body whose
// Content-Encoding is exactly "gzip" or "br" is compressed on its way out (so a handler gives the
// plain bytes), gzip as CompressionStream does, Brotli at workerd's quality 5 and window of 2^19
// bytes. The body becomes the compressed stream, of a length not known in advance: its
// Content-Length is not sent. A fetched body of that same encoding that nobody has read yet is
// sent as it came instead, under the Content-Length it came with (encoded_body.js).
function encodeForClient(state) {
  if (state.body === null || state.bodyEncoding === 'manual' || state.encodedForClient === true
      || state.passedAsReceived === true) return;
  const encoding = contentEncodingOf(state.headers);
  if (!isKeptEncoding(encoding)) return;
  // A used or locked body fails as it would unencoded (bodyStreamForHost, below).
  if (isBodyUsed(state.body) || (state.body.stream !== null && state.body.stream.locked)) return;
  const record = state.body;
  const received = takeEncoded(record.stream, encoding);
  if (received !== null) {
    state.body = new BodyRecord(null, null, received);
    state.passedAsReceived = true;
    return;
  }
  const empty = record.stream === null
    && (record.text !== null ? record.text.length === 0 : TypedArrayByteLength(record.encoded) === 0);
  const source = bodyStream(record);
  // workerd's encoders write nothing for a body without bytes: such a body stays empty.
  const sent = empty ? source : ReflectApply(pipeThrough, source, [zlibPipe(true, encoding)]);
  state.body = new BodyRecord(null, null, sent);
  state.encodedForClient = true;
}

// Above this many headers, responseParts hands them to the sink as one array: an argument list
// is bounded by the stack.
const SPREAD_HEADERS_LIMIT = 1024;

// What the host sends, handed to `sink` as its arguments: status, statusText, the whole body
// (which must be buffered, see bufferResponseBody), webSocket, then each header's name and value
// in order (or, for more than SPREAD_HEADERS_LIMIT headers, one array of them: five arguments);
// returns what `sink` returns. The host's sink is a native function that reads its arguments
// directly, a fraction of the cost of reading an array's elements through V8's API (seven reads
// for a response with one header). The arguments go through an array made by arrayFromList, so
// no index of Array.prototype is consulted.
export function responseParts(response, sink) {
  if (!isResponseObject(response)) {
    throw new TypeErrorCtor('The value returned is not a Response.');
  }
  const state = responseState(response);
  const parts = new InternalList();
  listAppend(parts, state.status);
  listAppend(parts, statusTextOf(state));
  listAppend(parts, state.body === null ? null : consumeBodyForHost(state.body));
  listAppend(parts, state.webSocket);
  const list = headersInternals.list(state.headers);
  const headers = list.length > SPREAD_HEADERS_LIMIT ? new InternalList() : parts;
  const encoded = state.encodedForClient === true;
  // A header with an empty name (Headers takes one, as workerd's does) is not sent.
  for (let i = 0; i < list.length; i++) {
    const name = list[i][0];
    // A body compressed on its way out (encodeForClient) has another length than the one given.
    if (name !== '' && !(encoded && name === 'content-length')) {
      listAppend(headers, name);
      listAppend(headers, list[i][1]);
    }
  }
  if (headers !== parts) listAppend(parts, arrayFromList(headers));
  return ReflectApply(sink, undefined, arrayFromList(parts));
}
