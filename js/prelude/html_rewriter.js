// HTMLRewriter: rewrites an HTML Response body as it streams, with handlers for the elements
// matching CSS selectors and for the document's doctype, comments, text and end. The class is
// small; the tokenizer, the selector engine and the token classes (html_rewriter_engine.js,
// htmlparser2, css-what) are compiled and built on the first on()/onDocument()/transform() of an
// app that uses it, so apps that never do pay nothing for them.
//
// transform() answers at once with a Response whose body is made as it is read: each chunk of the
// source is decoded (the charset of the Content-Type, UTF-8 by default), tokenized, passed
// through the handlers (awaiting the promises they return, in order) and encoded back, one chunk
// at a time when the reader asks (so a client that does not read stops the source too).
import { isResponse, Response } from './response.js';
import { Headers } from './headers.js';
import { ReadableStream, ReadableStreamDefaultReader } from './streams.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import { Uncloneable, hideBase, refuseClone } from './host_object.js';
import native from './native.js';
import {
  ArrayBufferIsView, InternalList, MapPrototypeGet, MapPrototypeSet, ObjectGetOwnPropertyDescriptor,
  ObjectGetPrototypeOf, PromisePrototypeThen, RegExpPrototypeExec, StringPrototypeCharCodeAt, arrayFromList,
  listAppend, uncurryThis,
} from './primordials.js';
import { isArrayBuffer } from './webidl.js';
import * as capturedGlobals from '../shared/captured_globals.js';

// The members the glue below calls, as they were when the prelude loaded: an app may replace
// them on the prototypes (workerd's HTMLRewriter is native).
// The getter `name` of `proto` or of the first prototype on its chain that has it (a Response's
// body is its body mixin's).
function getter(proto, name) {
  let p = proto;
  while (ObjectGetOwnPropertyDescriptor(p, name) === undefined) p = ObjectGetPrototypeOf(p);
  return uncurryThis(ObjectGetOwnPropertyDescriptor(p, name).get);
}
const textEncoderEncode = uncurryThis(TextEncoder.prototype.encode);
const textDecoderDecode = uncurryThis(TextDecoder.prototype.decode);
const textDecoderEncoding = getter(TextDecoder.prototype, 'encoding');
const responseType = getter(Response.prototype, 'type');
const responseBody = getter(Response.prototype, 'body');
const responseHeaders = getter(Response.prototype, 'headers');
const responseStatus = getter(Response.prototype, 'status');
const responseStatusText = getter(Response.prototype, 'statusText');
const responseCf = getter(Response.prototype, 'cf');
const headersGet = uncurryThis(Headers.prototype.get);
const headersDelete = uncurryThis(Headers.prototype.delete);
const streamLocked = getter(ReadableStream.prototype, 'locked');
const streamGetReader = uncurryThis(ReadableStream.prototype.getReader);
const readerRead = uncurryThis(ReadableStreamDefaultReader.prototype.read);
const readerCancel = uncurryThis(ReadableStreamDefaultReader.prototype.cancel);
let controllerPrototype = null;
new ReadableStream({ start(controller) { controllerPrototype = ObjectGetPrototypeOf(controller); } });
const controllerEnqueue = uncurryThis(controllerPrototype.enqueue);
const controllerClose = uncurryThis(controllerPrototype.close);
const ignore = () => {};

// The engine is a bundle of its own (src/runtime/bundle_natives.cc), compiled only here: the
// prelude that every isolate compiles does not carry it. It is handed the globals the prelude
// captured when it loaded (js/shared/captured_globals_lazy.js): by its first use, user code may
// have replaced them.
const compileBundle = native.compileBundle;
const apply = Reflect.apply;
function engineRequire(specifier) {
  if (specifier === 'dorm:captured-globals') return capturedGlobals;
  throw new Error(`the HTMLRewriter engine requires an unknown module "${specifier}"`);
}

let engineModule = null;
function engine() {
  if (engineModule === null) {
    const module = { exports: {} };
    apply(compileBundle('html_rewriter_engine'), undefined, [module, module.exports, engineRequire]);
    engineModule = module.exports;
  }
  return engineModule;
}

// Handler `name` of the dictionary `handlers` (of WebIDL type `type`), or null.
function handlerOf(handlers, name, type) {
  if (handlers === null || handlers === undefined) return null;
  const fn = handlers[name];
  if (fn === undefined) return null;
  if (typeof fn !== 'function') {
    throw new TypeError(`Incorrect type for the '${name}' field on '${type}': the provided value is not of type 'function'.`);
  }
  return fn;
}

function checkHandlersObject(handlers, method, type, position) {
  if (handlers !== undefined && handlers !== null && typeof handlers !== 'object' && typeof handlers !== 'function') {
    throw new TypeError(`Failed to execute '${method}' on 'HTMLRewriter': parameter ${position} is not of type '${type}'.`);
  }
}

// The charset parameter of a Content-Type value, or null.
function charsetOf(contentType) {
  if (contentType === null) return null;
  const m = RegExpPrototypeExec(/;\s*charset\s*=\s*("([^"]*)"|[^;\s]*)/i, contentType);
  if (!m) return null;
  return m[2] ?? m[1];
}

// An encoder back to the document's encoding: UTF-8, or windows-1252 (what the Encoding standard
// makes of latin1 and ascii labels). Other encodings are written as UTF-8.
function encoderFor(encoding) {
  const utf8 = new TextEncoder();
  if (encoding !== 'windows-1252') return (s) => textEncoderEncode(utf8, s);
  const table = new Map();
  const bytes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  const decoded = textDecoderDecode(new TextDecoder('windows-1252'), bytes);
  for (let i = 0; i < 256; i++) MapPrototypeSet(table, StringPrototypeCharCodeAt(decoded, i), i);
  return (s) => {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = MapPrototypeGet(table, StringPrototypeCharCodeAt(s, i)) ?? 0x3f;
    return out;
  };
}

export class HTMLRewriter extends Uncloneable {
  #handlers = new InternalList();

  on(selector, handlers) {
    if (selector === undefined) throw new TypeError("Failed to execute 'on' on 'HTMLRewriter': parameter 1 is not of type 'string'.");
    const text = `${selector}`;
    checkHandlersObject(handlers, 'on', 'ElementContentHandlers', 2);
    const type = 'ElementContentHandlers';
    const element = handlerOf(handlers, 'element', type);
    const comments = handlerOf(handlers, 'comments', type);
    const textHandler = handlerOf(handlers, 'text', type);
    const compiled = engine().compileHandlerSelector(text);
    listAppend(this.#handlers, { kind: 'element', compiled, receiver: handlers, element, comments, text: textHandler });
    return this;
  }

  onDocument(handlers) {
    checkHandlersObject(handlers, 'onDocument', 'DocumentContentHandlers', 1);
    const type = 'DocumentContentHandlers';
    const doctype = handlerOf(handlers, 'doctype', type);
    const comments = handlerOf(handlers, 'comments', type);
    const text = handlerOf(handlers, 'text', type);
    const end = handlerOf(handlers, 'end', type);
    engine();
    listAppend(this.#handlers, { kind: 'document', receiver: handlers, doctype, comments, text, end });
    return this;
  }

  transform(response) {
    if (!isResponse(response)) {
      throw new TypeError("Failed to execute 'transform' on 'HTMLRewriter': parameter 1 is not of type 'Response'.");
    }
    if (responseType(response) === 'error') throw new TypeError('HTMLRewriter cannot transform an error response');
    const body = responseBody(response);
    if (body === null) return response;
    const charset = charsetOf(headersGet(responseHeaders(response), 'content-type'));
    let decoder;
    try {
      decoder = new TextDecoder(charset ?? 'utf-8');
    } catch {
      throw new TypeError('Parser error: Unknown character encoding has been provided.');
    }
    if (streamLocked(body)) throw new TypeError('The ReadableStream has been locked to a reader.');
    const { RewriterRun } = engine();
    const run = new RewriterRun(arrayFromList(this.#handlers));
    const encode = encoderFor(textDecoderEncoding(decoder));
    const reader = streamGetReader(body);
    // The first read starts at once, as workerd starts pumping the body (bodyUsed is then true).
    let first = readerRead(reader);
    PromisePrototypeThen(first, undefined, ignore);
    let finished = false;
    const output = new ReadableStream({
      async pull(controller) {
        try {
          while (!finished) {
            const next = first ?? readerRead(reader);
            first = null;
            const { done, value } = await next;
            let out;
            if (done) {
              finished = true;
              const tail = textDecoderDecode(decoder);
              out = (tail === '' ? '' : await run.write(tail)) + await run.end();
            } else {
              if (!ArrayBufferIsView(value) && !isArrayBuffer(value)) {
                throw new TypeError('This TransformStream is being used as a byte stream, but received an object of ' +
                  'non-ArrayBuffer/ArrayBufferView type on its writable side.');
              }
              out = await run.write(textDecoderDecode(decoder, value, { stream: true }));
            }
            if (out !== '') controllerEnqueue(controller, encode(out));
            if (finished) controllerClose(controller);
            if (out !== '' || finished) return;
          }
        } catch (e) {
          finished = true;
          PromisePrototypeThen(readerCancel(reader, e), undefined, ignore);
          throw e;
        }
      },
      cancel(reason) {
        finished = true;
        return readerCancel(reader, reason);
      },
    }, { highWaterMark: 0 });
    // The source's status and headers read with the captured getters (as workerd's native
    // reading of a Response given as init).
    const result = new Response(output, {
      status: responseStatus(response),
      statusText: responseStatusText(response),
      headers: responseHeaders(response),
      cf: responseCf(response),
    });
    // The source's length is not the output's: workerd sends the rewritten body chunked (its
    // header list still shows the old Content-Length; Dorm's server would send under it, so the
    // header goes).
    headersDelete(responseHeaders(result), 'content-length');
    return result;
  }
}
hideBase(HTMLRewriter);
refuseClone(HTMLRewriter, 'HTMLRewriter');

Object.defineProperty(HTMLRewriter.prototype, Symbol.toStringTag, { value: 'HTMLRewriter', configurable: true });
