import native from './native.js';
import { zeroLengths } from './webidl.js';
import { AbortController, AbortSignal } from './abort.js';
import { atob, btoa } from './base64.js';
import { Blob, File } from './blob.js';
import { Body } from './body.js';
import { Cache, CacheStorage, caches } from './cache.js';
import { cloudflare } from './cloudflare_global.js';
import { CompressionStream, DecompressionStream } from './compression_streams.js';
import { console } from './console.js';
import { Crypto, CryptoKey, SubtleCrypto, crypto } from './crypto.js';
import { DOMException } from './dom_exception.js';
import { fetch } from './fetch.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { TextDecoderStream, TextEncoderStream } from './encoding_streams.js';
import { CustomEvent, Event, EventTarget } from './event_target.js';
import { FormData } from './form_data.js';
import { installGlobalScope } from './global_scope.js';
import { Headers } from './headers.js';
import { ExtendableEvent, FetchEvent, ScheduledEvent, TailEvent } from './handler_events.js';
import { HTMLRewriter } from './html_rewriter.js';
import { FixedLengthStream, IdentityTransformStream } from './identity_stream.js';
import { MessageChannel, MessagePort } from './message_channel.js';
import { queueMicrotask } from './microtask.js';
import { Navigator, navigator } from './navigator.js';
import { performance } from './performance.js';
import { PromiseRejectionEvent } from './promise_rejection_event.js';
import { reportError } from './report_error.js';
import { Request } from './request.js';
import { Response } from './response.js';
import {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableByteStreamController, ReadableStream,
  ReadableStreamBYOBReader, ReadableStreamBYOBRequest, ReadableStreamDefaultController,
  ReadableStreamDefaultReader, TransformStream, TransformStreamDefaultController, WritableStream,
  WritableStreamDefaultController, WritableStreamDefaultWriter,
} from './streams.js';
import { scheduler } from './scheduler.js';
import { structuredClone } from './structured_clone.js';
import { installWasmMemoryLimit } from './wasm_memory.js';
import { clearInterval, clearTimeout, setInterval, setTimeout } from './timers.js';
import { URL, URLSearchParams } from './url.js';
import { EventSource } from './event_source.js';
import { URLPattern } from './url_pattern.js';
import {
  CloseEvent, ErrorEvent, MessageEvent, WebSocket, WebSocketPair, WebSocketRequestResponsePair,
} from './web_socket.js';

const globals = {
  AbortController,
  AbortSignal,
  Blob,
  Body,
  ByteLengthQueuingStrategy,
  Cache,
  CacheStorage,
  CloseEvent,
  CompressionStream,
  CountQueuingStrategy,
  Crypto,
  CryptoKey,
  CustomEvent,
  DOMException,
  DecompressionStream,
  ErrorEvent,
  Event,
  EventSource,
  EventTarget,
  ExtendableEvent,
  FetchEvent,
  File,
  FixedLengthStream,
  FormData,
  HTMLRewriter,
  Headers,
  IdentityTransformStream,
  MessageChannel,
  MessageEvent,
  MessagePort,
  Navigator,
  PromiseRejectionEvent,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  Request,
  Response,
  ScheduledEvent,
  SubtleCrypto,
  TailEvent,
  TextDecoder,
  TextDecoderStream,
  TextEncoder,
  TextEncoderStream,
  TraceEvent: TailEvent,
  TransformStream,
  TransformStreamDefaultController,
  URL,
  URLPattern,
  URLSearchParams,
  WebSocket,
  WebSocketPair,
  WebSocketRequestResponsePair,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
  atob,
  btoa,
  caches,
  clearInterval,
  clearTimeout,
  console,
  crypto,
  fetch,
  navigator,
  performance,
  queueMicrotask,
  reportError,
  scheduler,
  setInterval,
  setTimeout,
  structuredClone,
};

// workerd's order of the members of ServiceWorkerGlobalScope.prototype (those Dorm has).
const prototypeOrder = [
  'DOMException', 'btoa', 'atob', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
  'queueMicrotask', 'structuredClone', 'reportError', 'fetch', 'Event', 'ExtendableEvent',
  'CustomEvent', 'PromiseRejectionEvent', 'FetchEvent', 'TailEvent', 'TraceEvent', 'ScheduledEvent',
  'MessageEvent', 'CloseEvent', 'ReadableStreamDefaultReader',
  'ReadableStreamBYOBReader', 'ReadableStream', 'WritableStream', 'WritableStreamDefaultWriter',
  'TransformStream', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy', 'ErrorEvent',
  'MessageChannel', 'MessagePort', 'EventSource', 'ReadableStreamBYOBRequest',
  'ReadableStreamDefaultController', 'ReadableByteStreamController',
  'WritableStreamDefaultController', 'TransformStreamDefaultController', 'CompressionStream',
  'DecompressionStream', 'TextEncoderStream', 'TextDecoderStream', 'Headers', 'Body', 'Request',
  'Response', 'WebSocket', 'WebSocketPair', 'WebSocketRequestResponsePair', 'AbortController',
  'AbortSignal', 'TextDecoder', 'TextEncoder', 'Navigator', 'URL', 'URLSearchParams', 'URLPattern',
  'Blob', 'File', 'FormData', 'Crypto', 'SubtleCrypto', 'CryptoKey', 'CacheStorage', 'Cache',
  'FixedLengthStream', 'IdentityTransformStream', 'HTMLRewriter',
];
// The globals that are the global object's own properties on workerd (the others are on its
// prototypes, global_scope.js), in workerd's order; all but `console` enumerable.
const ownOrder = ['navigator', 'performance', 'scheduler', 'caches', 'crypto'];
// Interfaces also installed under a second name.
const aliases = new Set(['TraceEvent']);

// Installs the globals as workerd has them: `console`, the objects of ownOrder, `origin`,
// `Cloudflare`, `self` and `ServiceWorkerGlobalScope` on the global object itself, the rest on its prototypes
// (global_scope.js).
export function installGlobals(target = globalThis) {
  for (const [name, value] of Object.entries(globals)) {
    // The bundler renames a class whose name another module also uses (`URL3`); an interface's
    // `name` is its global's, as on workerd.
    // (`TraceEvent` is another name of `TailEvent`, whose name it keeps, as on workerd.)
    if (typeof value === 'function' && value.name !== name && /^[A-Z]/.test(name) && !aliases.has(name)) {
      Object.defineProperty(value, 'name', { value: name, writable: false, enumerable: false, configurable: true });
    }
    // Also the interfaces that libraries make (URL, the streams) or that skip defineInterface.
    if (typeof value === 'function' && /^[A-Z]/.test(name)) zeroLengths(value);
    // And the global functions.
    if (typeof value === 'function' && value.length !== 0) Object.defineProperty(value, 'length', { value: 0 });
  }
  const own = new Set([...ownOrder, 'console', 'EventTarget']);
  const onPrototype = prototypeOrder.filter((name) => name in globals);
  for (const name of Object.keys(globals)) {
    if (!own.has(name) && !onPrototype.includes(name)) onPrototype.push(name);
  }
  // Installed before, for the prelude's modules that need them while they load.
  for (const name of onPrototype) delete target[name];
  const ServiceWorkerGlobalScope = installGlobalScope(
    target, onPrototype.map((name) => [name, globals[name]]), globals.EventTarget);
  const define = (name, value, enumerable = true, writable = true) => {
    Object.defineProperty(target, name, { value, writable, enumerable, configurable: true });
  };
  define('console', globals.console, false);
  define(ownOrder[0], globals[ownOrder[0]]);
  // The origin of a Worker, which has none.
  define('origin', 'null', true, false);
  define('Cloudflare', cloudflare);
  for (const name of ownOrder.slice(1)) define(name, globals[name]);
  define('self', target);
  define('ServiceWorkerGlobalScope', ServiceWorkerGlobalScope);
  installWasmMemoryLimit(target);
  // workerd's read-only attributes are read-only accessors: assigning one throws "Cannot assign
  // to read only property ...", not V8's "... which has only a getter".
  for (const value of Object.values(globals)) {
    if (typeof value !== 'function' || value.prototype === null || typeof value.prototype !== 'object') continue;
    const proto = value.prototype;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      if (typeof desc.get === 'function' && desc.set === undefined && desc.configurable) native.markReadOnly(proto, key);
    }
  }
}
