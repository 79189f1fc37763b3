import { TextDecoder, TextEncoder } from './encoding.js';

// whatwg-url creates its encoder and decoder from the global TextEncoder and TextDecoder while it
// loads, so they must be in place before url.js pulls it in. globals.js installs them again, with
// everything else.
for (const [name, value] of [['TextEncoder', TextEncoder], ['TextDecoder', TextDecoder]]) {
  Object.defineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
}
