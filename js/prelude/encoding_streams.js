// TextEncoderStream and TextDecoderStream: TransformStreams over TextEncoder and a streaming
// TextDecoder, as workerd has them. Their transforms call the encoder's, the decoder's and the
// controller's methods as captured here, and strings' through primordials.js: workerd's are
// native, unchanged by what user code puts on the prototypes.
import { TextDecoder, TextEncoder } from './encoding.js';
import {
  ObjectDefineProperty, ReflectApply, StringPrototypeCharCodeAt, StringPrototypeSlice, Uint8ArrayCtor,
} from './primordials.js';
import { TransformStream, TransformStreamDefaultController } from './streams.js';
import { toDOMString } from './webidl.js';

const encoder = new TextEncoder();
const encode = TextEncoder.prototype.encode;
const decodeMethod = TextDecoder.prototype.decode;
const enqueue = TransformStreamDefaultController.prototype.enqueue;

export class TextEncoderStream extends TransformStream {
  constructor() {
    // A lone high surrogate at the end of a chunk waits for the next chunk, which may complete
    // the pair; at the end it becomes U+FFFD, as one string would.
    let held = '';
    super({
      transform(chunk, controller) {
        let text = held + toDOMString(chunk);
        held = '';
        const last = StringPrototypeCharCodeAt(text, text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          held = StringPrototypeSlice(text, -1);
          text = StringPrototypeSlice(text, 0, -1);
        }
        if (text.length > 0) ReflectApply(enqueue, controller, [ReflectApply(encode, encoder, [text])]);
      },
      flush(controller) {
        if (held !== '') {
          const replacement = new Uint8ArrayCtor(3);
          replacement[0] = 0xef;
          replacement[1] = 0xbf;
          replacement[2] = 0xbd;
          ReflectApply(enqueue, controller, [replacement]);
        }
      },
    });
  }

  get encoding() {
    return 'utf-8';
  }
}

export class TextDecoderStream extends TransformStream {
  #decoder;

  constructor(label = 'utf-8', options = undefined) {
    const decoder = new TextDecoder(label, options);
    // Invalid input (fatal mode) fails with TextDecoder's text, which is workerd's for both.
    const decode = (chunk, options) => ReflectApply(decodeMethod, decoder, [chunk, options]);
    super({
      transform(chunk, controller) {
        const text = decode(chunk, { stream: true });
        if (text.length > 0) ReflectApply(enqueue, controller, [text]);
      },
      flush(controller) {
        const text = decode(undefined, undefined);
        if (text.length > 0) ReflectApply(enqueue, controller, [text]);
      },
    });
    this.#decoder = decoder;
  }

  get encoding() {
    return this.#decoder.encoding;
  }

  get fatal() {
    return this.#decoder.fatal;
  }

  get ignoreBOM() {
    return this.#decoder.ignoreBOM;
  }
}

for (const cls of [TextEncoderStream, TextDecoderStream]) {
  ObjectDefineProperty(cls.prototype, Symbol.toStringTag, {
    value: cls.name, writable: true, configurable: true,
  });
}
