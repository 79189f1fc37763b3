import { AbortController, AbortSignal } from './abort.js';
import { atob, btoa } from './base64.js';
import { console } from './console.js';
import { Crypto, CryptoKey, SubtleCrypto, crypto } from './crypto.js';
import { DOMException } from './dom_exception.js';
import { fetch } from './fetch.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { CustomEvent, Event, EventTarget } from './event_target.js';
import { Headers } from './headers.js';
import { queueMicrotask } from './microtask.js';
import { Navigator, navigator } from './navigator.js';
import { reportError } from './report_error.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { structuredClone } from './structured_clone.js';
import { clearInterval, clearTimeout, setInterval, setTimeout } from './timers.js';
import { URL, URLSearchParams } from './url.js';
import {
  CloseEvent, ErrorEvent, MessageEvent, WebSocket, WebSocketPair, WebSocketRequestResponsePair,
} from './web_socket.js';

const globals = {
  AbortController,
  AbortSignal,
  CloseEvent,
  Crypto,
  CryptoKey,
  CustomEvent,
  DOMException,
  ErrorEvent,
  Event,
  EventTarget,
  Headers,
  MessageEvent,
  Navigator,
  Request,
  Response,
  SubtleCrypto,
  TextDecoder,
  TextEncoder,
  URL,
  URLSearchParams,
  WebSocket,
  WebSocketPair,
  WebSocketRequestResponsePair,
  atob,
  btoa,
  clearInterval,
  clearTimeout,
  console,
  crypto,
  fetch,
  navigator,
  queueMicrotask,
  reportError,
  setInterval,
  setTimeout,
  structuredClone,
};

// Installed like WebIDL installs interfaces and operations on the global object: writable,
// configurable and not enumerable.
export function installGlobals(target = globalThis) {
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true });
  }
  // Workers expose the global scope as `self` as well.
  Object.defineProperty(target, 'self', {
    value: target, writable: true, enumerable: false, configurable: true,
  });
}
