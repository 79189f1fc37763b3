// What the runtime needs of the prelude's classes, captured once (the prelude leaves it on the
// global object for this bundle, which runs right after it) and hidden from user code.
const hooks = globalThis.__dormPreludeHooks;
delete globalThis.__dormPreludeHooks;

if (hooks === null || typeof hooks !== 'object') {
  throw new Error('Dorm runtime: globalThis.__dormPreludeHooks is missing');
}

export const webSocketHooks = hooks.webSocket;
// (value) => null | Promise: see bufferResponseBody in js/prelude/response.js.
export const bufferResponseBody = hooks.bufferResponseBody;
// (args, inspectOptions?) => string and (value, options) => string: node:util's format() and
// inspect().
export const formatValues = hooks.format;
export const inspectValue = hooks.inspect;
// (asciiDomain) => string: IDNA ToUnicode (tr46's, which URL parsing uses), for node:url.
export const idnaToUnicode = hooks.idnaToUnicode;
// (value) => null | [ReadableStream, length]: see detachResponseStream in js/prelude/response.js.
export const detachResponseStream = hooks.detachResponseStream;
// (value) => null | ReadableStream: see requestBodyStream in js/prelude/request.js.
export const requestBodyStream = hooks.requestBodyStream;
// (request, streamed) => [method, url, headers, bytes]: see stubRequestParts in js/prelude/request.js.
export const stubRequestParts = hooks.stubRequestParts;
// (value) => boolean: see requestWantsManualBody in js/prelude/request.js.
export const requestWantsManualBody = hooks.requestWantsManualBody;
// (body, init, manual) => Response: see stubResponse in js/prelude/response.js.
export const stubResponse = hooks.stubResponse;
// (value) => 'manual' | 'automatic': see responseBodyEncoding in js/prelude/response.js.
export const responseBodyEncoding = hooks.responseBodyEncoding;
// (stream) => number (-1 when not known) and (stream, length): see streamKnownLength and
// setStreamKnownLength in js/prelude/index.js.
export const streamKnownLength = hooks.streamKnownLength;
export const setStreamKnownLength = hooks.setStreamKnownLength;
// (value) => boolean: see requestGivenSignal in js/prelude/request.js.
export const requestGivenSignal = hooks.requestGivenSignal;
// (value) => null | [name, message]: see domExceptionParts in js/prelude/dom_exception.js.
export const domExceptionParts = hooks.domExceptionParts;
// () => void: turns on the nodejs_compat flags of `Cloudflare.compatibilityFlags`
// (js/prelude/cloudflare_global.js).
export const enableNodeCompatFlags = hooks.enableNodeCompatFlags;
