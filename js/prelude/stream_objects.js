// The making of the streams library's objects (streams, readers, writers, controllers, BYOB
// requests): npm web-streams-polyfill is bundled rewritten (js/build/streams_library.mjs) so that
// its classes made with `new` extend StreamObject and those it makes itself come from
// newStreamObject. Both give a host object that structured clone refuses as workerd does (by the
// class, host_object.js), on which the library's internal state, declared beforehand by
// declareStreamState, lives in non-enumerable properties: Object.keys(), JSON.stringify(),
// for...in and spreading show nothing of it, as for workerd's streams. The library assigns its
// state with plain assignments, which keep a property's attributes.
import { newRefusedObject } from './host_object.js';

const defineProperties = Object.defineProperties;
const getPrototypeOf = Object.getPrototypeOf;
// Captured: user code may replace the built-ins, and must not be handed the maps.
const apply = Reflect.apply;
const weakMapGet = WeakMap.prototype.get;
const weakMapSet = WeakMap.prototype.set;
const setPrototypeOf = Object.setPrototypeOf;

// For the library's rewritten lookups (js/build/streams_library.mjs): Object.hasOwn and
// Reflect.apply as they were at load, and an array without a prototype for its queues, which it
// appends to by index (so no setter user code puts on Array.prototype runs).
export const hasOwn = Object.hasOwn;
export { apply };
export function newList() {
  const list = [];
  setPrototypeOf(list, null);
  return list;
}

// A class's prototype → the descriptors of its instances' internal state.
const stateNames = new WeakMap();

// Declares the names of the state that the library gives instances of `cls` (a class of the
// library's). A name it assigns but that is not declared would be enumerable: tests/prelude
// streams.test.js checks that every object the library hands out shows no own keys.
export function declareStreamState(cls, names) {
  // One descriptor map, given to defineProperties for each new object.
  const descriptors = { __proto__: null };
  for (const name of names) {
    descriptors[name] = { __proto__: null, value: undefined, writable: true, enumerable: false, configurable: true };
  }
  apply(weakMapSet, stateNames, [cls.prototype, descriptors]);
}

// The descriptors of the declared state for an object whose prototype is `prototype` (a user's
// subclass inherits its class's), or undefined.
function stateFor(prototype) {
  let proto = prototype;
  for (let depth = 0; depth < 8 && proto !== null && typeof proto === 'object'; depth++) {
    const descriptors = apply(weakMapGet, stateNames, [proto]);
    if (descriptors !== undefined) return descriptors;
    proto = getPrototypeOf(proto);
  }
  return undefined;
}

// A new object of the class whose prototype is `prototype`; `ctor` is the constructor called (a
// user's subclass names its instances' refusal), if any.
export function newStreamObject(prototype, ctor = undefined) {
  const object = newRefusedObject(prototype, ctor);
  const descriptors = stateFor(prototype);
  if (descriptors !== undefined) defineProperties(object, descriptors);
  return object;
}

// The base of the library's classes made with `new`: `this` is the object newStreamObject makes.
// streams.js sets their prototypes back to inherit from Object.prototype.
export class StreamObject {
  constructor() {
    return newStreamObject(new.target.prototype, new.target);
  }
}
