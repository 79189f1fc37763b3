// The WHATWG Streams classes. The algorithms are those of npm `web-streams-polyfill` (a port of
// the specification's reference implementation, pinned to one version in js/package.json); this
// module adapts what user code can observe to workerd: the constructors' argument checks, the
// error texts of misuse, and the class strings.
//
// Every instance the library makes (including those it makes internally, e.g. by tee() or
// ReadableStream.from()) has the library's prototype, so the exported constructors share that
// prototype rather than subclass it: `instanceof`, the prototype's members and user subclasses
// all behave as for one class.
import {
  ByteLengthQueuingStrategy as LibByteLengthQueuingStrategy,
  CountQueuingStrategy as LibCountQueuingStrategy,
  ReadableByteStreamController,
  ReadableStream as LibReadableStream,
  ReadableStreamBYOBReader as LibReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader as LibReadableStreamDefaultReader,
  TransformStream as LibTransformStream,
  TransformStreamDefaultController,
  WritableStream as LibWritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter as LibWritableStreamDefaultWriter,
} from 'web-streams-polyfill';
import { illegalInvocation, isObject } from './webidl.js';
import { HOST_REFUSED, hideBase, newHostObject, refusalMessage } from './host_object.js';
import { declareStreamState } from './stream_objects.js';
import {
  MapCtor, MapPrototypeGet, PromiseCtor, PromisePrototypeThen, ReflectApply, ReflectConstruct,
  InternalList, TypeErrorCtor, WeakMapPrototypeGet, listAppend, regExpMatches, uncurryThis,
} from './primordials.js';

// The library's objects are made by stream_objects.js (its module is rewritten at build time,
// js/build/streams_library.mjs): these are the names of the state it keeps on each, hidden there.
const readerState = ['_ownerReadableStream', '_closedPromise_resolve', '_closedPromise_reject', '_closedPromise'];
const controllerState = ['_queue', '_queueTotalSize', '_started', '_closeRequested', '_pullAgain', '_pulling',
  '_strategyHWM', '_pullAlgorithm', '_cancelAlgorithm'];
declareStreamState(LibReadableStream,
  ['_state', '_reader', '_storedError', '_disturbed', '_readableStreamController']);
declareStreamState(LibReadableStreamDefaultReader, [...readerState, '_readRequests']);
declareStreamState(LibReadableStreamBYOBReader, [...readerState, '_readIntoRequests']);
declareStreamState(ReadableStreamDefaultController,
  ['_controlledReadableStream', ...controllerState, '_strategySizeAlgorithm']);
declareStreamState(ReadableByteStreamController,
  ['_controlledReadableByteStream', ...controllerState, '_byobRequest', '_autoAllocateChunkSize', '_pendingPullIntos']);
declareStreamState(ReadableStreamBYOBRequest, ['_associatedReadableByteStreamController', '_view']);
declareStreamState(LibWritableStream, ['_state', '_storedError', '_writer', '_writableStreamController',
  '_writeRequests', '_inFlightWriteRequest', '_closeRequest', '_inFlightCloseRequest', '_pendingAbortRequest',
  '_backpressure']);
declareStreamState(LibWritableStreamDefaultWriter, ['_ownerWritableStream', '_readyPromise_resolve',
  '_readyPromise_reject', '_readyPromise', '_readyPromiseState', '_closedPromise_resolve', '_closedPromise_reject',
  '_closedPromiseState', '_closedPromise']);
declareStreamState(WritableStreamDefaultController, ['_controlledWritableStream', '_queue', '_queueTotalSize',
  '_abortReason', '_abortController', '_started', '_strategySizeAlgorithm', '_strategyHWM', '_writeAlgorithm',
  '_closeAlgorithm', '_abortAlgorithm']);
declareStreamState(LibTransformStream, ['_writable', '_readable', '_backpressure', '_backpressureChangePromise',
  '_backpressureChangePromise_resolve', '_transformStreamController']);
declareStreamState(TransformStreamDefaultController, ['_controlledTransformStream', '_transformAlgorithm',
  '_flushAlgorithm', '_cancelAlgorithm', '_finishPromise', '_finishPromise_resolve', '_finishPromise_reject']);
// A stream's async iterator (its prototype is the library's own object, not a global's).
export const ReadableStreamAsyncIteratorPrototype = Object.getPrototypeOf(new LibReadableStream().values());
declareStreamState({ prototype: ReadableStreamAsyncIteratorPrototype }, ['_asyncIteratorImpl']);
// The classes made with `new` extend the library's base StreamObject: their prototypes inherit
// from Object.prototype, as workerd's.
for (const cls of [LibReadableStream, LibReadableStreamDefaultReader, LibReadableStreamBYOBReader,
  LibWritableStream, LibWritableStreamDefaultWriter, LibTransformStream]) {
  hideBase(cls);
}

const READER_LOCKED = 'This ReadableStream is currently locked to a reader.';
const WRITER_LOCKED = 'This WritableStream is currently locked to a writer.';
const READER_RELEASED = 'This ReadableStream reader has been released.';
const WRITER_RELEASED = 'This WritableStream writer has been released.';
const WRITABLE_CLOSED = 'This WritableStream has been closed.';

// The library's TypeError texts and workerd's for the same misuse. Texts that the library uses for
// several misuses that workerd tells apart are overridden per member below.
const messages = new MapCtor([
  ['This stream has already been locked for exclusive reading by another reader', READER_LOCKED],
  ['Cannot cancel a stream that already has a reader', READER_LOCKED],
  ['ReadableStream.prototype.pipeTo cannot be used on a locked ReadableStream', READER_LOCKED],
  ['ReadableStream.prototype.pipeThrough cannot be used on a locked ReadableStream', READER_LOCKED],
  // workerd's text for a locked destination has no final period.
  ['ReadableStream.prototype.pipeTo cannot be used on a locked WritableStream',
    'This WritableStream is currently locked to a writer'],
  ['ReadableStream.prototype.pipeThrough cannot be used on a locked WritableStream',
    'This WritableStream is currently locked to a writer'],
  ['ReadableStream.prototype.pipeTo\'s first argument must be a WritableStream',
    "Failed to execute 'pipeTo' on 'ReadableStream': parameter 1 is not of type 'WritableStream'."],
  ['Cannot read a stream using a released reader', READER_RELEASED],
  ['Cannot read from a stream using a released reader', READER_RELEASED],
  ['Cannot cancel a stream using a released reader', READER_RELEASED],
  ['Reader was released and can no longer be used to monitor the stream\'s closedness', READER_RELEASED],
  ['Reader was released', READER_RELEASED],
  ['Cannot construct a ReadableStreamBYOBReader for a stream not constructed with a byte source',
    'This ReadableStream does not support BYOB reads.'],
  ['view must have non-zero byteLength',
    'You must call read() on a "byob" reader with a positive-sized TypedArray object.'],
  ['view must be an array buffer view',
    "Failed to execute 'read' on 'ReadableStreamBYOBReader': parameter 1 is not of type 'ArrayBufferView'."],
  ['view\'s buffer has been detached', 'The underlying ArrayBuffer has been detached.'],
  ['This stream has already been locked for exclusive writing by another writer', WRITER_LOCKED],
  ['Cannot abort a stream that already has a writer', WRITER_LOCKED],
  ['Cannot close a stream that already has a writer', WRITER_LOCKED],
  ['The stream is closing or closed and cannot be written to', WRITABLE_CLOSED],
  ['Cannot close an already-closing stream', WRITABLE_CLOSED],
  ['Cannot write to a stream using a released writer', WRITER_RELEASED],
  ['Cannot close a stream using a released writer', WRITER_RELEASED],
  ['Cannot abort a stream using a released writer', WRITER_RELEASED],
  ['Cannot desiredSize a stream using a released writer', WRITER_RELEASED],
  ['Writer was released and can no longer be used to monitor the stream\'s closedness', WRITER_RELEASED],
  ['TransformStream terminated', 'The transform stream has been terminated'],
  ['autoAllocateChunkSize must be greater than 0', 'The autoAllocateChunkSize option cannot be zero.'],
  ['bytesWritten must be greater than 0 when calling respond() on a readable stream',
    'The bytesWritten must be more than zero while the stream is open.'],
  ['bytesWritten must be 0 when calling respond() on a closed stream',
    'The bytesWritten must be zero after the stream is closed.'],
  ['This BYOB request has been invalidated', 'This ReadableStreamBYOBRequest has been invalidated.'],
  ['chunk must have non-zero byteLength', 'Cannot enqueue a zero-length ArrayBuffer.'],
  ['chunk must be an array buffer view',
    "Failed to execute 'enqueue' on 'ReadableByteStreamController': parameter 1 is not of type 'BufferSource'."],
  ['chunk\'s buffer must have non-zero byteLength', 'Cannot enqueue a zero-length ArrayBuffer.'],
  ['The stream is not in a state that permits enqueue', 'This ReadableByteStreamController is closed.'],
]);

// Texts of the library's with the value or state in them.
const patterns = [
  [/^First parameter has member 'mode' that /, "mode must be undefined or 'byob' in call to getReader()."],
  [/^The stream \(in \w+ state\) is not in the readable state and cannot be enqueued to$/,
    'This ReadableByteStreamController is closed.'],
  [/^The stream \(in \w+ state\) is not in the readable state and cannot be closed$/,
    'This ReadableStream is closed.'],
  [/^The stream \(in \w+ state\) is not in the writable state and cannot be closed$/, WRITABLE_CLOSED],
];

// Gives a TypeError of the library workerd's text, in place, so that an error the library keeps
// (a stream's stored error, a reader's rejected `closed`) reads the same wherever it surfaces.
function fixError(error, overrides) {
  if (error instanceof TypeErrorCtor) {
    const message = error.message;
    let text = (overrides !== undefined && MapPrototypeGet(overrides, message))
      || MapPrototypeGet(messages, message);
    if (text === undefined) {
      for (let i = 0; i < patterns.length; i++) {
        if (regExpMatches(patterns[i][0], message)) {
          text = patterns[i][1];
          break;
        }
      }
    }
    if (text !== undefined) error.message = text;
  }
  return error;
}

function fixRejection(result, overrides) {
  // A handler on the very promise returned (not a new one), run before any the caller attaches.
  if (result instanceof PromiseCtor) {
    PromisePrototypeThen(result, undefined, (error) => { fixError(error, overrides); });
  }
  return result;
}

// Wraps the prototype's member `name` (a method or a getter) so that its errors, thrown or as a
// rejection, read as workerd's. The wrapper keeps the member's name and length.
function adaptMember(proto, name, overrides = undefined) {
  const desc = Object.getOwnPropertyDescriptor(proto, name);
  const wrap = (fn) => {
    const wrapped = {
      [name](...args) {
        try {
          return fixRejection(ReflectApply(fn, this, args), overrides);
        } catch (error) {
          throw fixError(error, overrides);
        }
      },
    }[name];
    Object.defineProperty(wrapped, 'length', { value: fn.length });
    return wrapped;
  };
  if (desc.get !== undefined) {
    const get = wrap(desc.get);
    Object.defineProperty(get, 'name', { value: `get ${String(name)}` });
    desc.get = get;
  } else {
    desc.value = wrap(desc.value);
  }
  Object.defineProperty(proto, name, desc);
}

function adaptMembers(cls, overridesByName = {}) {
  const proto = cls.prototype;
  for (const name of Reflect.ownKeys(proto)) {
    if (name === 'constructor' || name === Symbol.toStringTag) continue;
    const overrides = overridesByName[name];
    adaptMember(proto, name, overrides === undefined ? undefined : new MapCtor(overrides));
  }
}

// The interfaces' constructors, each a strict function (the bundle is not strict code: no own
// `arguments` or `caller`) named in its source: V8 names an object in its own messages ("Cannot
// assign to read only property 'locked' of object '#<ReadableStream>'") by that name, which a
// computed key (`{ [name]: function () {} }`) does not give. Each calls the work adaptConstructor
// set for its name in `constructBy`.
const constructBy = Object.create(null);
const constructorShells = {
  ReadableStream: function () { 'use strict'; return constructBy.ReadableStream(new.target, arguments); },
  WritableStream: function () { 'use strict'; return constructBy.WritableStream(new.target, arguments); },
  TransformStream: function () { 'use strict'; return constructBy.TransformStream(new.target, arguments); },
  ReadableStreamDefaultReader: function () { 'use strict'; return constructBy.ReadableStreamDefaultReader(new.target, arguments); },
  ReadableStreamBYOBReader: function () { 'use strict'; return constructBy.ReadableStreamBYOBReader(new.target, arguments); },
  WritableStreamDefaultWriter: function () { 'use strict'; return constructBy.WritableStreamDefaultWriter(new.target, arguments); },
  ByteLengthQueuingStrategy: function () { 'use strict'; return constructBy.ByteLengthQueuingStrategy(new.target, arguments); },
  CountQueuingStrategy: function () { 'use strict'; return constructBy.CountQueuingStrategy(new.target, arguments); },
};

// A constructor with the library class's prototype (see the top of this file) that converts its
// arguments as workerd does before the library sees them. `adapt(args)` returns the arguments to
// pass on.
function adaptConstructor(Lib, name, adapt) {
  const ctor = constructorShells[name];
  constructBy[name] = (newTarget, args) => {
    if (newTarget === undefined) {
      throw new TypeError(`Class constructor ${name} cannot be invoked without 'new'`);
    }
    try {
      const copied = new InternalList();
      for (let i = 0; i < args.length; i++) listAppend(copied, args[i]);
      return ReflectConstruct(Lib, adapt(copied), newTarget);
    } catch (error) {
      throw fixError(error);
    }
  };
  Object.defineProperty(ctor, 'length', { value: 0 });
  Object.defineProperty(ctor, 'prototype', { value: Lib.prototype, writable: false });
  Object.defineProperty(Lib.prototype, 'constructor', {
    value: ctor, writable: true, enumerable: false, configurable: true,
  });
  for (const key of Reflect.ownKeys(Lib)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue;
    Object.defineProperty(ctor, key, Object.getOwnPropertyDescriptor(Lib, key));
  }
  return ctor;
}

function constructError(name, message) {
  return new TypeError(`Failed to construct '${name}': ${message}`);
}

// workerd's checks of a QueuingStrategy dictionary (the library's would give other texts).
function adaptStrategy(strategy) {
  if (strategy === undefined || strategy === null) return strategy;
  if (!isObject(strategy)) return strategy;
  const { highWaterMark, size } = strategy;
  if (highWaterMark !== undefined && Number(highWaterMark) < 0) {
    throw new TypeError('The value cannot be converted because it is negative and this API expects a positive bigint.');
  }
  if (size !== undefined && typeof size !== 'function') {
    throw new TypeError("Incorrect type for the 'size' field on 'StreamQueuingStrategy': the provided value is not of type 'function'.");
  }
  return strategy;
}

// A start() that throws errors the stream in workerd instead of failing its constructor; the
// library rethrows, so a throw becomes a rejection, which the library treats as an error of the
// stream. The other members are called on the caller's object, as the specification says.
function guardedStart(underlying) {
  const start = underlying.start;
  if (typeof start !== 'function') return start;
  return (controller) => {
    try {
      return ReflectApply(start, underlying, [controller]);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

function bound(underlying, key) {
  const fn = underlying[key];
  if (typeof fn !== 'function') return fn;
  return (...args) => ReflectApply(fn, underlying, args);
}

export const ReadableStream = adaptConstructor(LibReadableStream, 'ReadableStream', (args) => {
  const source = args[0];
  const strategy = args[1];
  if (source === undefined || source === null || !isObject(source)) return [source, adaptStrategy(strategy)];
  const type = source.type;
  if (type !== undefined && `${type}` !== 'bytes') {
    throw new TypeError(`"${type}" is not a valid type of ReadableStream.`);
  }
  const adapted = {
    type: type === undefined ? undefined : 'bytes',
    autoAllocateChunkSize: source.autoAllocateChunkSize,
    start: guardedStart(source),
    pull: bound(source, 'pull'),
    cancel: bound(source, 'cancel'),
  };
  if (adapted.autoAllocateChunkSize === 0) {
    throw new TypeError('The autoAllocateChunkSize option cannot be zero.');
  }
  return [adapted, adaptStrategy(strategy)];
});

export const WritableStream = adaptConstructor(LibWritableStream, 'WritableStream', (args) => {
  const sink = args[0];
  const strategy = args[1];
  if (sink === undefined || sink === null || !isObject(sink)) return [sink, adaptStrategy(strategy)];
  // workerd ignores a `type` member, which the library refuses.
  const adapted = {
    start: guardedStart(sink),
    write: bound(sink, 'write'),
    close: bound(sink, 'close'),
    abort: bound(sink, 'abort'),
  };
  return [adapted, adaptStrategy(strategy)];
});

export const TransformStream = adaptConstructor(LibTransformStream, 'TransformStream',
  (args) => {
    const transformer = args[0];
    const writableStrategy = args[1];
    const readableStrategy = args[2];
    if (isObject(transformer)) {
      if (transformer.readableType !== undefined) {
        throw new TypeError('transformer.readableType must be undefined.');
      }
      if (transformer.writableType !== undefined) {
        throw new TypeError('transformer.writableType must be undefined.');
      }
    }
    return [transformer, adaptStrategy(writableStrategy), adaptStrategy(readableStrategy)];
  });

function readerConstructor(Lib, name) {
  return adaptConstructor(Lib, name, (args) => {
    if (!(args[0] instanceof LibReadableStream)) {
      throw constructError(name, "constructor parameter 1 is not of type 'ReadableStream'.");
    }
    return args;
  });
}

export const ReadableStreamDefaultReader =
  readerConstructor(LibReadableStreamDefaultReader, 'ReadableStreamDefaultReader');
export const ReadableStreamBYOBReader =
  readerConstructor(LibReadableStreamBYOBReader, 'ReadableStreamBYOBReader');

export const WritableStreamDefaultWriter = adaptConstructor(LibWritableStreamDefaultWriter,
  'WritableStreamDefaultWriter', (args) => {
    if (!(args[0] instanceof LibWritableStream)) {
      throw constructError('WritableStreamDefaultWriter', "constructor parameter 1 is not of type 'WritableStream'.");
    }
    return args;
  });

// A queuing strategy is a host object that structured clone refuses, as workerd does: the
// library's object (its state is one own property) is moved onto one.
function strategyConstructor(Lib, name) {
  const message = refusalMessage(name);
  const HostLib = function (...args) {
    const made = Reflect.construct(Lib, args, new.target);
    const host = newHostObject(Object.getPrototypeOf(made), HOST_REFUSED, message);
    // Its state hidden, as for the streams (stream_objects.js).
    for (const key of Reflect.ownKeys(made)) {
      Object.defineProperty(host, key, { ...Object.getOwnPropertyDescriptor(made, key), enumerable: false });
    }
    return host;
  };
  HostLib.prototype = Lib.prototype;
  const ctor = adaptConstructor(HostLib, name, (args) => {
    if (!isObject(args[0])) {
      throw constructError(name, "constructor parameter 1 is not of type 'QueuingStrategyInit'.");
    }
    return args;
  });
  for (const key of Reflect.ownKeys(Lib)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue;
    Object.defineProperty(ctor, key, Object.getOwnPropertyDescriptor(Lib, key));
  }
  return ctor;
}

export const ByteLengthQueuingStrategy = strategyConstructor(LibByteLengthQueuingStrategy, 'ByteLengthQueuingStrategy');
export const CountQueuingStrategy = strategyConstructor(LibCountQueuingStrategy, 'CountQueuingStrategy');

// ReadableStream.from() takes what workerd takes: a sync or async iterable.
{
  const from = LibReadableStream.from;
  Object.defineProperty(ReadableStream, 'from', {
    value: {
      from(iterable) {
        if (typeof iterable !== 'string' && (!isObject(iterable)
          || (typeof iterable[Symbol.asyncIterator] !== 'function' && typeof iterable[Symbol.iterator] !== 'function'))) {
          throw new TypeError("Failed to execute 'from' on 'ReadableStream': parameter 1 is not of type 'AsyncGenerator'.");
        }
        return Reflect.apply(from, LibReadableStream, [iterable]);
      },
    }.from,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

const lockedComma = [['This stream has already been locked for exclusive reading by another reader',
  'This ReadableStream is currently locked to a reader,']];
adaptMembers(LibReadableStream, { tee: lockedComma });

// Streams whose tee() their maker gives (setCustomTee): a function that returns the two branches,
// or null to let the stream be teed as any other.
const customTees = new WeakMap();
{
  const desc = Object.getOwnPropertyDescriptor(LibReadableStream.prototype, 'tee');
  const teeAny = desc.value;
  desc.value = {
    tee() {
      const custom = isObject(this) ? WeakMapPrototypeGet(customTees, this) : undefined;
      const branches = custom === undefined ? null : custom();
      return branches === null ? ReflectApply(teeAny, this, []) : branches;
    },
  }.tee;
  Object.defineProperty(desc.value, 'length', { value: teeAny.length });
  Object.defineProperty(LibReadableStream.prototype, 'tee', desc);
}

// Makes `tee` (see customTees) give the branches of `stream`'s tee().
export function setCustomTee(stream, tee) {
  customTees.set(stream, tee);
}
adaptMembers(LibReadableStreamDefaultReader);
adaptMembers(LibReadableStreamBYOBReader);
adaptMembers(ReadableStreamDefaultController, {
  enqueue: [['The stream is not in a state that permits enqueue', 'Unable to enqueue']],
  close: [['The stream is not in a state that permits close', 'This ReadableStream is closed.']],
});
adaptMembers(ReadableByteStreamController, {
  close: [['The stream is closing or closed and cannot be closed', 'This ReadableByteStreamController is closed.']],
});
adaptMembers(ReadableStreamBYOBRequest);
adaptMembers(LibWritableStream);
adaptMembers(LibWritableStreamDefaultWriter);
adaptMembers(WritableStreamDefaultController);
adaptMembers(LibTransformStream);

// workerd's BYOB members beyond the specification: ReadableStreamBYOBReader's
// readAtLeast(minElements, view), a read(view, { min }) with its own argument conversion and
// texts, and ReadableStreamBYOBRequest's `atLeast` (the bytes still needed by the read it is
// for, null once answered). WritableStreamDefaultController has no `abortReason` on workerd.
function isBYOBReader(value) {
  return isObject(value) && Object.prototype.hasOwnProperty.call(value, '_readIntoRequests')
    && value instanceof LibReadableStreamBYOBReader;
}

// workerd's conversion of an `int` argument: a number truncated towards zero, NaN as 0, and a
// value outside 32 bits refused.
function toInt32Argument(value) {
  const number = Math.trunc(Number(value));
  if (Number.isNaN(number)) return 0;
  if (number < -2147483648 || number > 2147483647) {
    throw new TypeError('Value out of range. Must be between -2147483648 and 2147483647 (inclusive).');
  }
  return number;
}

{
  const read = LibReadableStreamBYOBReader.prototype.read;
  const readAtLeast = {
    readAtLeast(minElements, view) {
      if (!isBYOBReader(this)) return Promise.reject(illegalInvocation());
      const context = "Failed to execute 'readAtLeast' on 'ReadableStreamBYOBReader'";
      let min;
      try {
        if (minElements === undefined) throw new TypeError(`${context}: parameter 1 is not of type 'integer'.`);
        min = toInt32Argument(minElements);
      } catch (error) {
        return Promise.reject(error);
      }
      if (!ArrayBuffer.isView(view)) {
        return Promise.reject(new TypeError(`${context}: parameter 2 is not of type 'ArrayBufferView'.`));
      }
      if (this._ownerReadableStream === undefined) return Promise.reject(new TypeError(READER_RELEASED));
      const byteLength = view.byteLength;
      if (byteLength === 0) {
        return Promise.reject(new TypeError(
          'You must call read() on a "byob" reader with a positive-sized TypedArray object.'));
      }
      if (min === 0) return Promise.reject(new TypeError('Requested invalid minimum number of bytes to read (0).'));
      // A negative count is taken as the unsigned 64-bit number it would be in workerd.
      const unsigned = min < 0 ? BigInt.asUintN(64, BigInt(min)) : min;
      if (unsigned > byteLength) {
        return Promise.reject(new TypeError(
          `Minimum bytes to read (${unsigned}) exceeds size of buffer (${byteLength}).`));
      }
      const elementSize = view instanceof DataView ? 1 : view.BYTES_PER_ELEMENT;
      if (min * elementSize > byteLength) {
        return Promise.reject(new TypeError(
          `Minimum bytes to read (${min * elementSize}) exceeds size of buffer (${byteLength}).`));
      }
      return ReflectApply(read, this, [view, { min }]);
    },
  }.readAtLeast;
  Object.defineProperty(readAtLeast, 'length', { value: 0 });
  Object.defineProperty(LibReadableStreamBYOBReader.prototype, 'readAtLeast', {
    value: readAtLeast, writable: true, enumerable: true, configurable: true,
  });

  const atLeast = {
    get atLeast() {
      if (!isObject(this) || !Object.prototype.hasOwnProperty.call(this, '_associatedReadableByteStreamController')
        || !(this instanceof ReadableStreamBYOBRequest)) {
        throw illegalInvocation();
      }
      const controller = this._associatedReadableByteStreamController;
      if (controller === undefined) return null;
      const pullInto = controller._pendingPullIntos.peek();
      return pullInto === undefined ? null : pullInto.minimumFill - pullInto.bytesFilled;
    },
  };
  const desc = Object.getOwnPropertyDescriptor(atLeast, 'atLeast');
  desc.enumerable = true;
  Object.defineProperty(ReadableStreamBYOBRequest.prototype, 'atLeast', desc);

  delete WritableStreamDefaultController.prototype.abortReason;
}

// workerd rejects close() of an errored WritableStream with the error it holds (the library, as
// the specification, with a TypeError saying the stream cannot be closed). The checks the library
// makes first (the receiver's type, a released writer, a locked stream) are left to it.
function rejectCloseOfErrored(proto, streamOf) {
  const close = proto.close;
  Object.defineProperty(proto, 'close', {
    value: {
      close() {
        const stream = streamOf(this);
        if (stream !== undefined && stream !== null && stream._state === 'errored') {
          return Promise.reject(stream._storedError);
        }
        return ReflectApply(close, this, []);
      },
    }.close,
    writable: true, enumerable: true, configurable: true,
  });
}
rejectCloseOfErrored(LibWritableStreamDefaultWriter.prototype,
  (writer) => (writer instanceof LibWritableStreamDefaultWriter ? writer._ownerWritableStream : undefined));
rejectCloseOfErrored(LibWritableStream.prototype,
  (stream) => (stream instanceof LibWritableStream && stream._writer === undefined ? stream : undefined));

// The ends of TransformStreams whose two sides are not the library's transform (workerd's
// IdentityTransformStream): TransformStream's own `readable` and `writable` give them, so that
// such a stream has the prototype members of any other.
const transformEnds = new WeakMap();
for (const key of ['readable', 'writable']) {
  const desc = Object.getOwnPropertyDescriptor(LibTransformStream.prototype, key);
  const original = desc.get;
  desc.get = {
    [key]() {
      const ends = WeakMapPrototypeGet(transformEnds, this);
      return ends === undefined ? ReflectApply(original, this, []) : ends[key];
    },
  }[key];
  Object.defineProperty(desc.get, 'name', { value: `get ${key}` });
  Object.defineProperty(LibTransformStream.prototype, key, desc);
}

export function setTransformEnds(stream, readable, writable) {
  transformEnds.set(stream, { readable, writable });
}
adaptMembers(TransformStreamDefaultController);

// workerd's order of WritableStreamDefaultWriter's members (what for...in shows).
for (const name of ['closed', 'ready', 'desiredSize', 'abort', 'close', 'write', 'releaseLock']) {
  const desc = Object.getOwnPropertyDescriptor(LibWritableStreamDefaultWriter.prototype, name);
  delete LibWritableStreamDefaultWriter.prototype[name];
  Object.defineProperty(LibWritableStreamDefaultWriter.prototype, name, desc);
}

// workerd's class strings are writable, as for its other interfaces.
for (const cls of [
  LibReadableStream, LibReadableStreamDefaultReader, LibReadableStreamBYOBReader,
  ReadableStreamDefaultController, ReadableByteStreamController, ReadableStreamBYOBRequest,
  LibWritableStream, LibWritableStreamDefaultWriter, WritableStreamDefaultController,
  LibTransformStream, TransformStreamDefaultController, LibByteLengthQueuingStrategy,
  LibCountQueuingStrategy,
]) {
  const tag = cls.prototype[Symbol.toStringTag];
  Object.defineProperty(cls.prototype, Symbol.toStringTag, {
    value: tag, writable: true, enumerable: false, configurable: true,
  });
}

export {
  ReadableByteStreamController,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  TransformStreamDefaultController,
  WritableStreamDefaultController,
};

// Whether `value` is a ReadableStream (made by user code or by the prelude).
export function isReadableStream(value) {
  return value instanceof LibReadableStream;
}

// Whether a read has been requested or the stream was cancelled (the specification's
// [[disturbed]], which `bodyUsed` reports). The library keeps it as `_disturbed`.
export function isDisturbed(stream) {
  return stream._disturbed === true;
}

// The streams' members as the prelude and the runtime call them: captured here, once adapted and
// before user code runs, so that a method user code puts on a stream or on the prototypes (a
// `tee` of its own, a throwing `locked` getter) is never what reads a body, clones it or sends it.
const readableProto = LibReadableStream.prototype;
const defaultReaderProto = LibReadableStreamDefaultReader.prototype;
const getterOf = (proto, name) => uncurryThis(Object.getOwnPropertyDescriptor(proto, name).get);
export const ReadableStreamGetReader = uncurryThis(readableProto.getReader);
export const ReadableStreamTee = uncurryThis(readableProto.tee);
export const ReadableStreamPipeTo = uncurryThis(readableProto.pipeTo);
export const ReadableStreamPipeThrough = uncurryThis(readableProto.pipeThrough);
export const ReadableStreamCancel = uncurryThis(readableProto.cancel);
export const ReadableStreamLocked = getterOf(readableProto, 'locked');
export const ReaderRead = uncurryThis(defaultReaderProto.read);
export const ReaderReleaseLock = uncurryThis(defaultReaderProto.releaseLock);
export const ReaderCancel = uncurryThis(defaultReaderProto.cancel);
