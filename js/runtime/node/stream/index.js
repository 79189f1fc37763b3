// node:stream, node:stream/promises and node:stream/consumers: Node's own streams code as npm
// `readable-stream` publishes it for other runtimes, with what workerd adds to it (Readable's and
// Writable's toWeb()/fromWeb(), Duplex.toWeb(), duplexPair(), the consumers). A bundle of its own
// (src/runtime/bundle_natives.cc), built the first time an app imports one of them: `require` is
// the runtime's (modules.js), which gives Dorm's node:buffer, node:events, node:string_decoder
// and node:process to the package.
import Stream from 'readable-stream/lib/stream.js';
import streamPromises from 'readable-stream/lib/stream/promises.js';
import {
  readableToWeb, readableFromWeb, writableToWeb, writableFromWeb, duplexToWeb, duplexFromWeb,
} from './web_adapters.js';
import * as consumerFunctions from './consumers.js';
import { duplexPair } from './duplex_pair.js';
import { matchWorkerdChunks } from './chunk_types.js';

const { Readable } = Stream;
Readable.toWeb = readableToWeb;
Readable.fromWeb = readableFromWeb;
Stream.Writable.toWeb = writableToWeb;
Stream.Writable.fromWeb = writableFromWeb;
// Duplex inherits Readable's statics; its own toWeb() and fromWeb() take and give both halves.
Stream.Duplex.toWeb = duplexToWeb;
Stream.Duplex.fromWeb = duplexFromWeb;
Stream.duplexPair = duplexPair;
matchWorkerdChunks();
// workerd's default for byte streams is Node 22's 64 KiB; the package still has 16 KiB.
Stream.setDefaultHighWaterMark(false, 65536);

// The names node:stream exports on workerd, each also a property of the default export (Stream).
const STREAM_EXPORTS = [
  'Duplex', 'PassThrough', 'Readable', 'Stream', 'Transform', 'Writable', '_isArrayBufferView',
  '_isUint8Array', '_uint8ArrayToBuffer', 'addAbortSignal', 'compose', 'destroy', 'duplexPair',
  'finished',
  'getDefaultHighWaterMark', 'isDestroyed', 'isDisturbed', 'isErrored', 'isReadable',
  'isWritable', 'pipeline', 'promises', 'setDefaultHighWaterMark',
];

// workerd has _isArrayBufferView beside _isUint8Array; the package has only the latter.
if (typeof Stream._isArrayBufferView !== 'function') {
  Object.defineProperty(Stream, '_isArrayBufferView', {
    value: ArrayBuffer.isView, writable: true, configurable: true, enumerable: true,
  });
}

function moduleOf(names, source, defaultExport) {
  const exports = { default: defaultExport };
  for (const name of names) exports[name] = source[name];
  return exports;
}

export const stream = moduleOf(STREAM_EXPORTS, Stream, Stream);

const promises = { pipeline: streamPromises.pipeline, finished: streamPromises.finished };
export const promisesModule = { ...promises, promises, default: promises };

const consumers = { ...consumerFunctions };
export const consumersModule = { ...consumers, default: consumers };

// Node's legacy module names (node:_stream_readable and the others), as workerd has them: each
// gives its class (also as the default export) and the class's statics.
const { Writable, Duplex, Transform, PassThrough } = Stream;
export const legacyModules = {
  _stream_readable: {
    default: Readable, Readable, ReadableState: Readable.ReadableState, from: Readable.from,
    fromWeb: Readable.fromWeb, toWeb: Readable.toWeb, wrap: Readable.wrap,
  },
  _stream_writable: {
    default: Writable, Writable, WritableState: Writable.WritableState, fromWeb: Writable.fromWeb,
    toWeb: Writable.toWeb,
  },
  _stream_duplex: {
    default: Duplex, Duplex, from: Duplex.from, fromWeb: Duplex.fromWeb, toWeb: Duplex.toWeb,
  },
  _stream_transform: { default: Transform, Transform },
  _stream_passthrough: { default: PassThrough, PassThrough },
};
