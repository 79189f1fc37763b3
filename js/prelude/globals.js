import { zeroLengths } from './webidl.js';
import { AbortController, AbortSignal } from './abort.js';
import { atob, btoa } from './base64.js';
import { Blob, File } from './blob.js';
import { Body } from './body.js';
import { Cache, CacheStorage, caches } from './cache.js';
import { CompressionStream, DecompressionStream } from './compression_streams.js';
import { console } from './console.js';
import { Crypto, CryptoKey, SubtleCrypto, crypto } from './crypto.js';
import { DOMException } from './dom_exception.js';
import { fetch } from './fetch.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { TextDecoderStream, TextEncoderStream } from './encoding_streams.js';
import { CustomEvent, Event, EventTarget } from './event_target.js';
import { FormData } from './form_data.js';
import { installGlobalEventTarget } from './global_scope.js';
import { Headers } from './headers.js';
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
  SubtleCrypto,
  TextDecoder,
  TextDecoderStream,
  TextEncoder,
  TextEncoderStream,
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

// Installed like WebIDL installs interfaces and operations on the global object: writable,
// configurable and not enumerable.
export function installGlobals(target = globalThis) {
  for (const [name, value] of Object.entries(globals)) {
    // The bundler renames a class whose name another module also uses (`URL3`); an interface's
    // `name` is its global's, as on workerd.
    if (typeof value === 'function' && value.name !== name && /^[A-Z]/.test(name)) {
      Object.defineProperty(value, 'name', { value: name, writable: false, enumerable: false, configurable: true });
    }
    // Also the interfaces that libraries make (URL, the streams) or that skip defineInterface.
    if (typeof value === 'function' && /^[A-Z]/.test(name)) zeroLengths(value);
    Object.defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true });
  }
  installWasmMemoryLimit(target);
  installGlobalEventTarget(target);
  // Workers expose the global scope as `self` as well.
  Object.defineProperty(target, 'self', {
    value: target, writable: true, enumerable: false, configurable: true,
  });
}
