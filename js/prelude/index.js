// Runs first, so that the host's native functions are captured and hidden before anything else.
import './native.js';
import { installGlobals } from './globals.js';
import { internals } from './internals.js';
import {
  bufferResponseBody, detachResponseStream, responseBodyEncoding, stubResponse,
} from './response.js';
import { formatLogArgs } from './console.js';
import { inspect } from './inspect.js';
import tr46 from 'tr46';
import { webSocketHooks } from './web_socket.js';
import {
  requestBodyStream, requestGivenSignal, requestWantsManualBody, stubRequestParts,
} from './request.js';
import { domExceptionParts } from './dom_exception.js';
import { enableNodeCompatFlags } from './cloudflare_global.js';
import { fixedLengthOf } from './identity_stream.js';
import { isReadableStream } from './streams.js';
import { knownLength, setKnownLength } from './streams_inspect.js';

installGlobals();

export const { makeDOMException, newRequest, responseParts, isResponse } = internals;
export default internals;

// The host reads `internals` from globalThis.__dormPrelude and deletes it. It is a plain property
// (the bundle is built without --global-name, which would make it an undeletable `var`). It
// carries the members directly and under `default`.
globalThis.__dormPrelude = { default: internals, ...internals };

// What the Durable Object runtime bundle (run next, in the same context) needs of the prelude's
// classes; it captures and deletes this property as it loads.
globalThis.__dormPreludeHooks = {
  webSocket: webSocketHooks,
  bufferResponseBody,
  detachResponseStream,
  requestBodyStream,
  requestGivenSignal,
  requestWantsManualBody,
  stubRequestParts,
  stubResponse,
  responseBodyEncoding,
  // A byte stream's length when known in advance (a body of bytes, a FixedLengthStream), else -1;
  // and the length of a stream received over RPC whose sender knew it.
  streamKnownLength: (stream) => knownLength(stream) ?? fixedLengthOf(stream) ?? -1,
  setStreamKnownLength: (stream, length) => {
    if (isReadableStream(stream)) setKnownLength(stream, length);
  },
  domExceptionParts,
  enableNodeCompatFlags,
  // node:util's format() and inspect() are console's.
  format: formatLogArgs,
  inspect,
  // node:url's domainToUnicode(): the IDNA decoding URL parsing itself uses.
  idnaToUnicode: (domain) => tr46.toUnicode(domain).domain,
};
