// TextEncoderStream and TextDecoderStream: TransformStreams over TextEncoder and a streaming
// TextDecoder, as workerd has them.
import { TextDecoder, TextEncoder } from './encoding.js';
import { TransformStream } from './streams.js';
import { toDOMString } from './webidl.js';

const encoder = new TextEncoder();

export class TextEncoderStream extends TransformStream {
  constructor() {
    // A lone high surrogate at the end of a chunk waits for the next chunk, which may complete
    // the pair; at the end it becomes U+FFFD, as one string would.
    let held = '';
    super({
      transform(chunk, controller) {
        let text = held + toDOMString(chunk);
        held = '';
        const last = text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          held = text.slice(-1);
          text = text.slice(0, -1);
        }
        if (text.length > 0) controller.enqueue(encoder.encode(text));
      },
      flush(controller) {
        if (held !== '') controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
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
    const decode = (chunk, options) => decoder.decode(chunk, options);
    super({
      transform(chunk, controller) {
        const text = decode(chunk, { stream: true });
        if (text.length > 0) controller.enqueue(text);
      },
      flush(controller) {
        const text = decode();
        if (text.length > 0) controller.enqueue(text);
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
  Object.defineProperty(cls.prototype, Symbol.toStringTag, {
    value: cls.name, writable: true, configurable: true,
  });
}
