// fetch() to other hosts, as workerd behaves: one exchange per hop through the host's HTTP client
// (natives startFetch/cancelFetch), redirects followed here so that every hop passes the host's
// address check again, aborts through the request's signal.
import native from './native.js';
import { abortState, whenAborted } from './abort.js';
import { atob } from './base64.js';
import { bodyStreamForHost, consumeBody } from './body.js';
import { headersInternals } from './headers.js';
import {
  FinalizationRegistryCtor, FinalizationRegistryPrototypeRegister, InternalList, MapCtor, MapPrototypeGet,
  MapPrototypeHas, SetCtor, SetPrototypeHas, StringPrototypeToLowerCase, arrayFromList, listAppend, listSort,
} from './primordials.js';
import { Request, isRequest, requestForFetch } from './request.js';
import { fixedLengthOf } from './identity_stream.js';
import { createFetchedResponse } from './response.js';
import { ReadableStream } from './streams.js';
import { resolveURL, urlWithoutCredentials } from './url.js';
import { toUSVString } from './webidl.js';
import { fetchWebSocket } from './web_socket.js';

const MAX_REDIRECTS = 20;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
// Request headers the client sets itself, as workerd: a caller's values are not sent.
const connectionHeaders = new SetCtor([
  'host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'te', 'upgrade',
]);
// The header names workerd knows by number (headers.c++, the HPACK static table's names): it
// sends them first, in this order and title-cased, then the others by name.
const commonHeaders = [
  'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges', 'accept',
  'access-control-allow-origin', 'age', 'allow', 'authorization', 'cache-control',
  'content-disposition', 'content-encoding', 'content-language', 'content-length',
  'content-location', 'content-range', 'content-type', 'cookie', 'date', 'etag', 'expect',
  'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'link', 'location', 'max-forwards',
  'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'refresh', 'retry-after',
  'server', 'set-cookie', 'strict-transport-security', 'transfer-encoding', 'user-agent', 'vary',
  'via', 'www-authenticate',
];
const commonRank = new MapCtor(commonHeaders.map((name, index) => [name, index]));

function titleCase(name) {
  return name.replace(/(^|-)([a-z])/g, (_, dash, letter) => dash + letter.toUpperCase());
}

// The request's header list as it goes on the wire: flat (name, value, ...), without the
// connection's own headers, in workerd's order and case.
// `list` is a header list (an InternalList of [name, value]); the result is for the host.
function wireHeaders(list) {
  const entries = new InternalList();
  for (let i = 0; i < list.length; i++) {
    const name = list[i][0];
    // A header with an empty name (Headers takes one, as workerd's does) is not sent.
    if (name !== '' && !SetPrototypeHas(connectionHeaders, name)) {
      listAppend(entries, { name, value: list[i][1], index: entries.length });
    }
  }
  const rank = (entry) => MapPrototypeGet(commonRank, entry.name) ?? commonHeaders.length;
  listSort(entries, (a, b) => rank(a) - rank(b)
    || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || a.index - b.index);
  const flat = new InternalList();
  for (let i = 0; i < entries.length; i++) {
    const name = entries[i].name;
    listAppend(flat, MapPrototypeHas(commonRank, name) ? titleCase(name) : name);
    listAppend(flat, entries[i].value);
  }
  return arrayFromList(flat);
}

// Whether the header list `list` has a pair that `test(name, value)` accepts.
function listSome(list, test) {
  for (let i = 0; i < list.length; i++) if (test(list[i][0], list[i][1])) return true;
  return false;
}

// How the host's failure kinds (outbound::ExchangeError::Kind) become errors.
const KIND_REFUSED = 0;
const KIND_NETWORK = 1;
const KIND_TOO_LARGE = 4;
const KIND_BAD_ENCODING = 5;
const KIND_UPLOAD_FAILED = 7;
// Timeouts (3) become plain Errors.

// workerd's text for a redirect that would need a streamed body sent again.
const NOT_REWINDABLE = 'A request with a one-time-use body (it was initialized from a stream, not a buffer) encountered a redirect requiring the body to be retransmitted. To avoid this error in the future, construct this request from a buffer-like body initializer.';

function withoutFragment(url) {
  const hash = url.indexOf('#');
  return hash < 0 ? url : url.slice(0, hash);
}

function exchangeError([kind, message]) {
  if (kind === KIND_REFUSED || kind === KIND_TOO_LARGE || kind === KIND_BAD_ENCODING) {
    return new TypeError(message);
  }
  const error = new Error(message);
  // As workerd marks a lost connection: the same request may succeed if tried again.
  if (kind === KIND_NETWORK) error.retryable = true;
  return error;
}

// The flat header list (name, value, ...) without the header `lowerName`.
function withoutHeader(list, lowerName) {
  const kept = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (list[i].toLowerCase() !== lowerName) kept.push(list[i], list[i + 1]);
  }
  return kept;
}

// A data: URL's response (RFC 2397), as fetch() gives it.
function dataResponse(url) {
  const comma = url.indexOf(',');
  if (comma < 0) throw new TypeError(`Fetch API cannot load: ${url}`);
  let type = url.slice(5, comma).trim();
  let payload = decodeURIComponent(url.slice(comma + 1));
  let bytes;
  if (/;\s*base64$/i.test(type)) {
    type = type.replace(/;\s*base64$/i, '');
    const binary = atob(payload.replace(/\s+/g, ''));
    bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  } else {
    bytes = new Uint8Array(payload.length);
    for (let i = 0; i < payload.length; i++) bytes[i] = payload.charCodeAt(i) & 0xff;
  }
  if (type === '' || type.startsWith(';')) type = `text/plain${type || ';charset=US-ASCII'}`;
  return createFetchedResponse(200, 'OK', ['content-type', type], bytes, url, false);
}

// Streamed bodies nobody reads any more end their exchange when they are collected.
const unreadBodies = FinalizationRegistryCtor !== null
  ? new FinalizationRegistryCtor((id) => native.cancelFetch(id)) : null;

// The body of a response as the host receives it: a byte stream read from the host only when
// its reader asks (no queue of its own: the host holds what arrived, and pauses the transfer
// when that is enough). Cancelling it, or aborting `signal`, ends the exchange.
function streamedBody(id, signal) {
  let finished = false;
  let controller = null;
  let stopAbort = () => {};
  const finish = () => {
    finished = true;
    stopAbort();
  };
  const stream = new ReadableStream({
    type: 'bytes',
    start(c) {
      controller = c;
    },
    pull(c) {
      return native.readFetchBody(id).then((chunk) => {
        if (finished) return;
        if (chunk === null) {
          finish();
          c.close();
        } else {
          c.enqueue(chunk);
        }
      }, (failure) => {
        if (finished) return;
        finish();
        c.error(Array.isArray(failure) ? exchangeError(failure) : failure);
      });
    },
    cancel() {
      if (finished) return;
      finish();
      native.cancelFetch(id);
    },
  }, { highWaterMark: 0 });
  stopAbort = whenAborted(signal, () => {
    if (finished) return;
    finish();
    native.cancelFetch(id);
    controller.error(abortState(signal).reason);
  });
  // The captured register(): an app may replace FinalizationRegistry's members.
  if (unreadBodies !== null) FinalizationRegistryPrototypeRegister(unreadBodies, stream, id);
  return stream;
}

function bytesOf(value) {
  if (ArrayBuffer.isView(value)) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return null;
}

// Writes `stream` as the body of fetch `id` as it is produced, at the pace the host takes it.
// Resolves with null, or with the stream's error when it failed (the exchange then fails).
async function sendBody(id, stream) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        native.endFetchBody(id, true);
        return null;
      }
      const view = bytesOf(value);
      if (view === null) throw new TypeError('This ReadableStream did not return bytes.');
      let more = native.writeFetchBody(id, view);
      if (more !== true && more !== false) more = await more;
      if (!more) {
        // The exchange is over (answered, failed or cancelled): nobody takes the rest.
        reader.cancel().catch(() => {});
        return null;
      }
    }
  } catch (error) {
    native.endFetchBody(id, false);
    reader.cancel(error).catch(() => {});
    return error;
  }
}

// One exchange: resolves with [status, statusText, headers, body, id] (body an ArrayBuffer, or a
// number when it is to be read with readFetchBody) or rejects with the error; an abort of
// `signal` before the head ends it and rejects with the signal's reason. `body` is an
// ArrayBuffer, null, or { stream } to send as it is produced. The response's body comes as it
// was received, never decoded by the host: a gzip or br body is decoded as it is read
// (createFetchedResponse), so that it can also be passed on as it came.
function exchange(method, url, headerList, body, signal) {
  return new Promise((resolve, reject) => {
    const streamed = body !== null && !(body instanceof ArrayBuffer);
    const wire = streamed ? (fixedLengthOf(body.stream) ?? -1) : body;
    const started = native.startFetch(method, urlWithoutCredentials(url), headerList, wire, false);
    const [id, promise] = started;
    const uploaded = streamed ? sendBody(id, body.stream) : null;
    const stop = whenAborted(signal, () => {
      native.cancelFetch(id);
      reject(abortState(signal).reason);
    });
    promise.then(
      (answer) => {
        stop();
        resolve([answer[0], answer[1], answer[2], answer[3], id]);
      },
      (failure) => {
        stop();
        if (failure[0] === KIND_UPLOAD_FAILED && uploaded !== null) {
          uploaded.then((error) => reject(error ?? exchangeError(failure)));
        } else {
          reject(exchangeError(failure));
        }
      },
    );
  });
}

// `manual`: the response's body is given as it came (encodeResponseBody: 'manual').
async function run(request, manual) {
  const { redirect, signal } = request;
  let { method, url } = request;
  url = withoutFragment(url);
  let requestHeaders = headersInternals.list(request.headers);
  // A `cache` mode asks caches on the way to revalidate, as workerd's fetch() asks them.
  if (request.cache !== undefined) {
    const withCache = new InternalList();
    for (let i = 0; i < requestHeaders.length; i++) listAppend(withCache, requestHeaders[i]);
    if (!listSome(requestHeaders, (name) => name === 'cache-control')) listAppend(withCache, ['cache-control', 'no-cache']);
    if (!listSome(requestHeaders, (name) => name === 'pragma')) listAppend(withCache, ['pragma', 'no-cache']);
    requestHeaders = withCache;
  }
  let headerList = wireHeaders(requestHeaders);
  // As workerd: `Upgrade: websocket` opens a WebSocket (a 101 Response with its webSocket).
  if (listSome(requestHeaders, (name, value) => name === 'upgrade' && StringPrototypeToLowerCase(value) === 'websocket')
      && (url.startsWith('http:') || url.startsWith('https:'))) {
    return fetchWebSocket(url, headerList);
  }
  let body = null;
  if (request.body !== null) {
    const stream = bodyStreamForHost(request.body);
    if (stream !== null) {
      // Sent as it is produced: chunked, or under its length for a FixedLengthStream.
      body = { stream };
    } else {
      const bytes = consumeBody(request.body);
      body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
  }
  const urls = [url];
  let origin = resolveURL(url, url)?.origin ?? '';
  for (;;) {
    if (url.startsWith('data:')) return dataResponse(url);
    if (!url.startsWith('http:') && !url.startsWith('https:')) {
      throw new TypeError(`Fetch API cannot load: ${url}`);
    }
    const [status, statusText, responseHeaders, responseBody, id] =
      await exchange(method, url, headerList, body, signal);
    const streamedResponse = typeof responseBody === 'number';
    let location = null;
    for (let i = 0; i + 1 < responseHeaders.length; i += 2) {
      if (responseHeaders[i].toLowerCase() === 'location') location = responseHeaders[i + 1];
    }
    const follow = redirect === 'follow' && redirectStatuses.has(status) && location !== null;
    if (!follow || location === '') {
      // An empty Location is dropped, as workerd drops it.
      const kept = location === '' ? withoutHeader(responseHeaders, 'location') : responseHeaders;
      const noBody = method === 'HEAD' || nullBodyStatuses.has(status);
      let responseStream = null;
      if (noBody) {
        if (streamedResponse) native.cancelFetch(id);
      } else if (streamedResponse) {
        responseStream = streamedBody(id, signal);
      } else {
        responseStream = new Uint8Array(responseBody);
      }
      return createFetchedResponse(status, statusText, kept, responseStream, url, urls.length > 1,
        null, manual);
    }
    // The redirect's own body is not read: its exchange ends here.
    if (streamedResponse) native.cancelFetch(id);
    const next = resolveURL(location, url);
    if (next === null || (next.scheme !== 'http' && next.scheme !== 'https')) {
      throw new TypeError('Invalid Location header; unable to follow redirect.');
    }
    if (urls.length > MAX_REDIRECTS) throw new TypeError(`Too many redirects.${urls.join(', ')}`);
    if (status !== 303 && body !== null && !(body instanceof ArrayBuffer)) {
      throw new TypeError(NOT_REWINDABLE);
    }
    const nextUrl = withoutFragment(next.href);
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      if (method !== 'HEAD') method = 'GET';
      body = null;
    }
    // Credentials for one origin are not handed to another.
    if (next.origin !== origin) headerList = withoutHeader(headerList, 'authorization');
    if (body === null) headerList = withoutHeader(headerList, 'content-length');
    url = nextUrl;
    origin = next.origin;
    urls.push(url);
  }
}

export function fetch(input, init = undefined) {
  try {
    let request;
    if (isRequest(input) && init === undefined) {
      request = input;
    } else {
      // The input is converted once; the Request checks it after `init`, as workerd's does.
      request = new Request(isRequest(input) ? input : toUSVString(input), init);
    }
    const parts = requestForFetch(request);
    const aborted = abortState(parts.signal);
    if (aborted.aborted) return Promise.reject(aborted.reason);
    // As workerd: the encoding comes from `init` (or a Request given as `init`); a Request given
    // alone is made again from its parts, which leave it out.
    return run(parts, init !== undefined && parts.manualResponseBody);
  } catch (error) {
    return Promise.reject(error);
  }
}
