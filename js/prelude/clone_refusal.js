// workerd's DataCloneError for the Web API objects that V8 itself refuses, for a reason of its
// own, before the host sees them: the streams of streams.js are the library's plain objects (not
// host objects: the library makes them with Object.create), which hold functions (their
// controllers' algorithms), so V8 stops at the first function inside with "... could not be
// cloned." workerd refuses the stream itself, by its class. Only when V8 has refused a value does
// the host call explainCloneRefusal (src/js/serializer.h): the common path costs nothing.
import { refuseClone, refusalOf } from './host_object.js';
import {
  ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader, ReadableStreamBYOBRequest,
  ReadableStreamDefaultController, ReadableStreamDefaultReader, TransformStream,
  TransformStreamDefaultController, WritableStream, WritableStreamDefaultController,
  WritableStreamDefaultWriter,
} from './streams.js';
import { TextDecoderStream, TextEncoderStream } from './encoding_streams.js';
import { FixedLengthStream, IdentityTransformStream } from './identity_stream.js';
import { CompressionStream, DecompressionStream } from './compression_streams.js';

refuseClone(ReadableStream, 'ReadableStream', 'ReadableStream can only be serialized for RPC.');
refuseClone(WritableStream, 'WritableStream', 'WritableStream can only be serialized for RPC.');
for (const [cls, name] of [
  [TransformStream, 'TransformStream'], [ReadableStreamDefaultReader, 'ReadableStreamDefaultReader'],
  [ReadableStreamBYOBReader, 'ReadableStreamBYOBReader'], [WritableStreamDefaultWriter, 'WritableStreamDefaultWriter'],
  [ReadableStreamDefaultController, 'ReadableStreamDefaultController'],
  [ReadableByteStreamController, 'ReadableByteStreamController'],
  [ReadableStreamBYOBRequest, 'ReadableStreamBYOBRequest'],
  [WritableStreamDefaultController, 'WritableStreamDefaultController'],
  [TransformStreamDefaultController, 'TransformStreamDefaultController'],
  [TextEncoderStream, 'TextEncoderStream'], [TextDecoderStream, 'TextDecoderStream'],
  [IdentityTransformStream, 'IdentityTransformStream'], [FixedLengthStream, 'FixedLengthStream'],
  [CompressionStream, 'CompressionStream'], [DecompressionStream, 'DecompressionStream'],
]) {
  refuseClone(cls, name);
}

const ObjectKeys = Object.keys;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const getPrototypeOf = Object.getPrototypeOf;
const isView = ArrayBuffer.isView;
const MapEntries = Function.prototype.call.bind(Map.prototype.entries);
const SetValues = Function.prototype.call.bind(Set.prototype.values);
const MapPrototype = Map.prototype;
const SetPrototype = Set.prototype;
const ErrorPrototype = Error.prototype;
// The walk stops (keeping V8's message) past this many objects: it runs only on a refusal, but
// a refused value may be large.
const MAX_VISITS = 100000;

function inherits(value, prototype) {
  for (let proto = getPrototypeOf(value); proto !== null; proto = getPrototypeOf(proto)) {
    if (proto === prototype) return true;
  }
  return false;
}

// The message for the first object refused by its class in `value`, in the order V8 writes it
// (array elements, then own enumerable properties; Map and Set entries), if that object comes
// before anything else V8 refuses (a function, a symbol); else undefined. Accessors are not
// called again: what they gave V8 is not looked at. Whatever goes wrong gives undefined.
export function explainCloneRefusal(value) {
  try {
    const seen = new Set();
    const stack = [value];
    let visits = 0;
    while (stack.length !== 0) {
      const item = stack.pop();
      if (typeof item === 'function' || typeof item === 'symbol') return undefined;
      if (item === null || typeof item !== 'object' || seen.has(item)) continue;
      if (++visits > MAX_VISITS) return undefined;
      seen.add(item);
      const refusal = refusalOf(item);
      if (refusal !== undefined) return refusal;
      if (isView(item) || inherits(item, ErrorPrototype)) continue;
      const children = [];
      if (inherits(item, MapPrototype)) {
        for (const [k, v] of MapEntries(item)) children.push(k, v);
      } else if (inherits(item, SetPrototype)) {
        for (const v of SetValues(item)) children.push(v);
      }
      const keys = ObjectKeys(item);
      for (let i = 0; i < keys.length; i++) {
        const desc = getOwnPropertyDescriptor(item, keys[i]);
        if (desc !== undefined && 'value' in desc) children.push(desc.value);
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  } catch {
    return undefined;
  }
  return undefined;
}
