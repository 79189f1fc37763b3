// workerd's DataCloneError for the streams: their objects are host objects made by
// stream_objects.js, which structured clone refuses by the class registered here, as workerd does
// ("ReadableStream can only be serialized for RPC.", or the class's name).
import { refuseClone } from './host_object.js';
import {
  ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader, ReadableStreamBYOBRequest,
  ReadableStreamDefaultController, ReadableStreamDefaultReader, TransformStream,
  TransformStreamDefaultController, WritableStream, WritableStreamDefaultController,
  WritableStreamDefaultWriter, ReadableStreamAsyncIteratorPrototype,
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
refuseClone({ prototype: ReadableStreamAsyncIteratorPrototype }, 'ReadableStreamAsyncIterator');
