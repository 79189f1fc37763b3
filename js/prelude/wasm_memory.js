// WebAssembly memories count against the app's memory limit, like ArrayBuffers: V8 allocates
// their pages outside its heap, where the heap limit does not see them. Code cannot compile
// WebAssembly at run time (as on workerd), so constructing a WebAssembly.Memory and calling its
// grow() are the only ways to create or enlarge one; both report the memory's new size to the
// runtime, which resets the app's objects when the limit is passed.
import native from './native.js';

const { construct: reflectConstruct, apply: reflectApply } = Reflect;
const { defineProperty, getOwnPropertyDescriptor } = Object;

export function installWasmMemoryLimit(target = globalThis) {
  const wasm = target.WebAssembly;
  if (wasm === null || typeof wasm !== 'object' || typeof wasm.Memory !== 'function') return;
  const NativeMemory = wasm.Memory;
  const prototype = NativeMemory.prototype;
  const nativeGrow = prototype.grow;
  const chargeWasmMemory = native.chargeWasmMemory;

  // A Proxy keeps the constructor's name, length, prototype and subclassing (newTarget) as they are.
  const Memory = new Proxy(NativeMemory, {
    construct(constructor, args, newTarget) {
      const memory = reflectConstruct(constructor, args, newTarget);
      chargeWasmMemory(memory);
      return memory;
    },
  });
  const growDescriptor = getOwnPropertyDescriptor(prototype, 'grow');
  defineProperty(prototype, 'grow', {
    ...growDescriptor,
    value: {
      grow(delta) {
        const previousPages = reflectApply(nativeGrow, this, [delta]);
        chargeWasmMemory(this);
        return previousPages;
      },
    }.grow,
  });
  defineProperty(prototype, 'constructor', { ...getOwnPropertyDescriptor(prototype, 'constructor'), value: Memory });
  defineProperty(wasm, 'Memory', { ...getOwnPropertyDescriptor(wasm, 'Memory'), value: Memory });
}
