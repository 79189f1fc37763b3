// How console.log shows streams, readers and writers: workerd's public view of them (their
// attributes and a few internal slots in brackets), not the library's internal fields.
import {
  ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader,
  ReadableStreamDefaultReader, TransformStream, WritableStream, WritableStreamDefaultWriter,
} from './streams.js';
import { inspectCustom } from './webidl.js';

// The byte length of streams whose length is known (a body made from bytes or a string).
const knownLengths = new WeakMap();

export function setKnownLength(stream, length) {
  knownLengths.set(stream, BigInt(length));
}

// The byte length set by setKnownLength, as a number; undefined when not known.
export function knownLength(stream) {
  const length = knownLengths.get(stream);
  return length === undefined ? undefined : Number(length);
}

// `Name { ... }` for `fields`, where keys written `[name]` are internal slots, shown unquoted.
function show(name, fields, options, inspect) {
  return `${name} ${inspect(fields, options).replace(/'(\[\w+\])':/g, '$1:')}`;
}

const views = [
  [ReadableStream, (stream) => ({
    locked: stream.locked,
    '[state]': stream._state,
    '[supportsBYOB]': stream._readableStreamController instanceof ReadableByteStreamController,
    '[length]': knownLengths.get(stream),
  })],
  [ReadableStreamDefaultReader, (reader) => ({ closed: reader.closed })],
  [ReadableStreamBYOBReader, (reader) => ({ closed: reader.closed })],
  [WritableStream, (stream) => ({
    locked: stream.locked,
    '[state]': stream._state,
    '[expectsBytes]': false,
  })],
  [WritableStreamDefaultWriter, (writer) => {
    const fields = { closed: writer.closed, ready: writer.ready };
    // A released writer has no size to give (the getter throws).
    try {
      fields.desiredSize = writer.desiredSize;
    } catch {
      fields.desiredSize = undefined;
    }
    return fields;
  }],
  [TransformStream, (stream) => ({ readable: stream.readable, writable: stream.writable })],
];

for (const [cls, view] of views) {
  Object.defineProperty(cls.prototype, inspectCustom, {
    value(depth, options, inspect) {
      return show(this.constructor.name, view(this), options, inspect);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
