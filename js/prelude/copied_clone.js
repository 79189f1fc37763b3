// How structured clone (structuredClone(), storage, postMessage(), WebSocket attachments) copies
// the Web API objects that workerd copies by their contents: Headers, Request, Response and
// DOMException. Their instances are host objects (CopiedObject in host_object.js); V8's serializer
// hands each to the host, which writes what describeCopied() returns for it inside the value and,
// when the value is read, makes the object again with reviveCopied() (src/js/serializer.h).
//
// Description (plain data, written with V8's own encoding):
//   ['Headers', [name, value, name, value, ...]]
//   ['Request', method, url, headers (as above), redirect, cf[, cache]] (cache only when given)
//   ['Response', status, statusText, headers, type]
//   ['DOMException', message, name]
// As workerd, a Request or Response with a body is refused (its body is a stream, which only RPC
// carries), and so is a Request given an AbortSignal. What reviveCopied reads may come from a
// damaged or hostile database: anything but these shapes fails the read with an Error.
import { DOMException, domExceptionInternals, makeDOMException } from './dom_exception.js';
import { Headers, headersInternals } from './headers.js';
import { InternalList, arrayFromList, listAppend } from './primordials.js';
import { Request, requestInternals } from './request.js';
import { Response, responseInternals } from './response.js';
import { constructInto } from './host_object.js';

// Captured before user code runs: revival runs after a value is read, when user code may have
// replaced the globals.
const ArrayIsArray = Array.isArray;
const NumberIsInteger = Number.isInteger;
const ObjectSetPrototypeOf = Object.setPrototypeOf;

const DATA_CLONE = 'DataCloneError';
const STREAM_REFUSAL = 'ReadableStream can only be serialized for RPC.';
const SIGNAL_REFUSAL = 'AbortSignal serialization is not enabled.';
const WEBSOCKET_REFUSAL =
  'Could not serialize object of type "WebSocket". This type does not support serialization.';

function flatHeaders(headers) {
  const list = headersInternals.list(headers);
  const out = new InternalList();
  for (let i = 0; i < list.length; i++) {
    listAppend(out, list[i][0]);
    listAppend(out, list[i][1]);
  }
  return arrayFromList(out);
}

// The description of `object` (a host object of kind HOST_COPIED), or throws workerd's
// DataCloneError for one that cannot be copied.
export function describeCopied(object) {
  if (headersInternals.isHeaders(object)) return ['Headers', flatHeaders(object)];
  if (domExceptionInternals.isDOMException(object)) {
    return ['DOMException', domExceptionInternals.message(object), domExceptionInternals.name(object)];
  }
  const request = requestInternals.stateOf(object);
  if (request !== undefined) {
    if (request.body !== null) throw makeDOMException(STREAM_REFUSAL, DATA_CLONE);
    if (request.givenSignal === true) throw makeDOMException(SIGNAL_REFUSAL, DATA_CLONE);
    const described = ['Request', request.method, request.url,
      flatHeaders(requestInternals.headers(object)), request.redirect, request.cf];
    if (request.cache !== undefined) described.push(request.cache);
    return described;
  }
  const response = responseInternals.stateOf(object);
  if (response !== undefined) {
    if (response.body !== null) throw makeDOMException(STREAM_REFUSAL, DATA_CLONE);
    if (response.webSocket !== null) throw makeDOMException(WEBSOCKET_REFUSAL, DATA_CLONE);
    // The status text null: the status's default, as in the state.
    const described = ['Response', response.status, response.statusText, flatHeaders(response.headers),
      response.type];
    // encodeBody, as workerd's serialization carries it.
    if (response.bodyEncoding === 'manual') described.push('manual');
    return described;
  }
  // A host object of this kind that is none of the above (a bug): refused rather than lost.
  throw makeDOMException(
    'Could not serialize object of type "Object". This type does not support serialization.', DATA_CLONE);
}

function malformed() {
  return new Error('Unable to deserialize cloned data: a malformed Web API object.');
}

function isStringList(value) {
  if (!ArrayIsArray(value) || value.length % 2 !== 0) return false;
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') return false;
  }
  return true;
}

function headerPairs(flat) {
  const pairs = [];
  for (let i = 0; i < flat.length; i += 2) pairs[pairs.length] = [flat[i], flat[i + 1]];
  return pairs;
}

// Makes `target` (the host object that stood for a copied object while the value was read) the
// object `description` describes: its prototype, then its class's constructor run on it. Throws
// on a description it does not recognise (the whole read then fails).
export function reviveCopied(target, description) {
  if (!ArrayIsArray(description) || typeof description[0] !== 'string') throw malformed();
  const d = description;
  let prototype;
  let construct;
  switch (d[0]) {
    case 'Headers':
      if (d.length !== 2 || !isStringList(d[1])) throw malformed();
      prototype = Headers.prototype;
      construct = () => {
        const headers = new Headers();
        for (let i = 0; i < d[1].length; i += 2) headersInternals.appendRaw(headers, d[1][i], d[1][i + 1]);
        return headers;
      };
      break;
    case 'DOMException':
      if (d.length !== 3 || typeof d[1] !== 'string' || typeof d[2] !== 'string') throw malformed();
      prototype = DOMException.prototype;
      construct = () => new DOMException(d[1], d[2]);
      break;
    case 'Request': {
      if ((d.length !== 6 && d.length !== 7) || typeof d[1] !== 'string' || typeof d[2] !== 'string' ||
          !isStringList(d[3]) || typeof d[4] !== 'string' || (d.length === 7 && typeof d[6] !== 'string')) {
        throw malformed();
      }
      prototype = Request.prototype;
      // Through the constructor, which checks the method, URL and redirect mode again.
      const init = { method: d[1], headers: headerPairs(d[3]), redirect: d[4] };
      if (d[5] !== undefined) init.cf = d[5];
      if (d.length === 7) init.cache = d[6];
      construct = () => new Request(d[2], init);
      break;
    }
    case 'Response': {
      if ((d.length !== 5 && !(d.length === 6 && d[5] === 'manual')) || typeof d[1] !== 'number' ||
          (typeof d[2] !== 'string' && d[2] !== null) || !isStringList(d[3]) ||
          (d[4] !== 'default' && d[4] !== 'error') ||
          !(NumberIsInteger(d[1]) && d[1] >= 0 && d[1] <= 999)) {
        throw malformed();
      }
      prototype = Response.prototype;
      // Made before the Response, whose constructor must be the first to run in constructInto.
      const headers = new Headers();
      for (let i = 0; i < d[3].length; i += 2) headersInternals.appendRaw(headers, d[3][i], d[3][i + 1]);
      headersInternals.setGuard(headers, 'response');
      construct = () => responseInternals.make({
        type: d[4], url: '', status: d[1], statusText: d[2], headers, body: null, webSocket: null,
        bodyEncoding: d.length === 6 ? 'manual' : 'automatic',
      });
      break;
    }
    default:
      throw malformed();
  }
  ObjectSetPrototypeOf(target, prototype);
  let made;
  try {
    made = constructInto(target, construct);
  } catch {
    throw malformed();
  }
  if (made !== target) throw malformed();
}
