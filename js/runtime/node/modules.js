// The Node.js modules of the nodejs_compat compatibility flag, by bare name. The host
// (AppIsolate::BuiltinModule) asks for one the first time an app imports it, as "node:<name>" or
// by the bare name; its exports become the module's named exports and the object itself its
// default export. Each module is built on first use and then shared by both specifiers, so that
// apps that never import one pay nothing for it. The host builds the imported ones while it
// links the app's module, before any of its code runs, so what they capture of the globals is
// the original; one first reached through process.getBuiltinModule() captures the globals as
// the app left them, which can only mislead the app itself (no native trusts what they hold).
import { installNodeGlobals } from './globals.js';
import { enableNodeCompatFlags } from '../prelude_hooks.js';
import { native } from '../native.js';
import * as capturedGlobals from '../../shared/captured_globals.js';

// The Web streams that node:stream/web re-exports, as they were before any app code ran.
const WEB_STREAM_NAMES = [
  'ByteLengthQueuingStrategy', 'CompressionStream', 'CountQueuingStrategy', 'DecompressionStream',
  'ReadableByteStreamController',
  'ReadableStream', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest',
  'ReadableStreamDefaultController', 'ReadableStreamDefaultReader', 'TextDecoderStream',
  'TextEncoderStream', 'TransformStream', 'TransformStreamDefaultController', 'WritableStream',
  'WritableStreamDefaultController', 'WritableStreamDefaultWriter',
];
const webStreams = {};
for (const name of WEB_STREAM_NAMES) webStreams[name] = globalThis[name];
const compileBundle = native.compileBundle;
const AbortControllerClass = globalThis.AbortController;
const AbortSignalClass = globalThis.AbortSignal;
const apply = Reflect.apply;

// The modules the stream bundle require()s: Dorm's own, by the specifiers npm readable-stream
// uses.
function streamBundleRequire(specifier) {
  switch (specifier) {
    case 'buffer': return builtinNodeModule('buffer');
    case 'events': return builtinNodeModule('events');
    case 'string_decoder/': return builtinNodeModule('string_decoder');
    case 'process/': return builtinNodeModule('process');
    case 'abort-controller': return { AbortController: AbortControllerClass, AbortSignal: AbortSignalClass };
    // The globals the runtime captured when it loaded (js/shared/captured_globals_lazy.js).
    case 'dorm:captured-globals': return capturedGlobals;
    default: throw new Error(`node:stream requires an unknown module "${specifier}"`);
  }
}

// The exports of the node:stream bundle (js/runtime/node/stream), compiled and run on first use.
let streamBundle = null;
function streams() {
  if (streamBundle === null) {
    const module = { exports: {} };
    apply(compileBundle('node_stream'), undefined, [module, module.exports, streamBundleRequire]);
    streamBundle = module.exports;
  }
  return streamBundle;
}

const factories = {
  assert: () => require('./assert.js').default,
  async_hooks: () => require('./async_hooks.js').default,
  buffer: () => require('./buffer.js').default,
  crypto: () => require('./crypto.js').default,
  events: () => require('./events.js').default,
  path: () => require('./path.js').default,
  process: () => require('./process.js').default,
  stream: () => streams().stream,
  'stream/consumers': () => streams().consumersModule,
  'stream/promises': () => streams().promisesModule,
  'stream/web': () => ({ ...webStreams, default: { ...webStreams } }),
  _stream_duplex: () => streams().legacyModules._stream_duplex,
  _stream_passthrough: () => streams().legacyModules._stream_passthrough,
  _stream_readable: () => streams().legacyModules._stream_readable,
  _stream_transform: () => streams().legacyModules._stream_transform,
  _stream_writable: () => streams().legacyModules._stream_writable,
  string_decoder: () => require('./string_decoder.js').default,
  url: () => require('./url.js').default,
  util: () => require('./util.js').default,
};

const built = new Map();

// The exports object of module `name`, building it if needed; undefined for an unknown name.
export function builtinNodeModule(name) {
  let exports = built.get(name);
  if (exports === undefined) {
    const factory = Object.hasOwn(factories, name) ? factories[name] : undefined;
    if (factory === undefined) return undefined;
    exports = factory();
    built.set(name, exports);
  }
  return exports;
}

// The exports object of module `name` (a bare name from the host's list), or, for
// "dorm:nodejs_compat", an empty object after installing the flag's globals. `env` is the app's
// env object, for process.env.
export function nodeModule(name, env) {
  if (name === 'process' || name === 'dorm:nodejs_compat') require('./process.js').fillProcessEnv(env);
  if (name === 'dorm:nodejs_compat') {
    installNodeGlobals();
    enableNodeCompatFlags();
    return {};
  }
  const exports = builtinNodeModule(name);
  if (exports === undefined) throw new Error(`No such module "node:${name}".`);
  return exports;
}
