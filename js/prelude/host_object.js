// Instances of the classes that workerd implements natively and that structured clone treats
// specially (Blob is cloned, File and CryptoKey are refused) are host objects here: made by the
// native newHostObject() from a template with internal fields (src/js/host_objects.h), since
// V8's serializer asks the host about no other object. Their classes keep their state in private
// fields all the same, added to the host object by a FieldsOf subclass.
import native from './native.js';

export const HOST_UNCLONEABLE = 0;
export const HOST_BLOB = 1;
export const HOST_REFUSED = 2;
export const HOST_COPIED = 3;

// A constructor that returns its argument, so that `new (class extends FieldsOf { #x; })(object)`
// adds the subclass's private fields to an object that already exists.
export class FieldsOf {
  constructor(target) {
    return target;
  }
}

// A host object with prototype `prototype`: for HOST_BLOB, over the Uint8Array `bytes` with the
// type `type`, which structured clone copies; for HOST_UNCLONEABLE, one that structured clone
// refuses as an object of the class named `bytes`.
export function newHostObject(prototype, kind, bytes, type = undefined) {
  return native.newHostObject(prototype, kind, bytes, type);
}

// How structured clone refuses instances of the Web API classes, by the class's prototype: with
// workerd's message naming the instance's class (a user's subclass by its own name, as workerd
// names the constructor), or with a message of its own (AbortSignal, the streams).
const refusals = new WeakMap();
const getPrototypeOf = Object.getPrototypeOf;
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
// Captured: user code may replace the built-ins, and must not be handed the maps.
const apply = Reflect.apply;
const weakMapGet = WeakMap.prototype.get;
const weakMapSet = WeakMap.prototype.set;

// One pristine host object per prototype, never handed out, that the host objects with that
// prototype, kind and name are copied from (native.copyHostObject): a copy shares the exemplar's
// map and fields, so it costs an allocation, where making one from the template and setting its
// prototype costs a prototype-transition lookup and a map migration each time (a Request, a
// Response, their Headers, a URL and its URLSearchParams per request). The exemplar must stay out
// of user code's reach: properties given to it would appear on every copy. A prototype seen with
// another kind or name (a refusal names the constructor called) gets a new exemplar.
const exemplars = new WeakMap();

// A host object with prototype `prototype` (an object) of kind HOST_UNCLONEABLE, HOST_REFUSED or
// HOST_COPIED, with `name` (a string) as newHostObject's `bytes`.
export function newFieldlessHostObject(prototype, kind, name) {
  if (prototype === null || (typeof prototype !== 'object' && typeof prototype !== 'function')) {
    return native.newHostObject(prototype, kind, name, undefined);  // throws its TypeError
  }
  let entry = apply(weakMapGet, exemplars, [prototype]);
  if (entry === undefined || entry.kind !== kind || entry.name !== name) {
    entry = { __proto__: null, exemplar: native.newHostObject(prototype, kind, name, undefined), kind, name };
    apply(weakMapSet, exemplars, [prototype, entry]);
  }
  return native.copyHostObject(entry.exemplar);
}

export function refusalMessage(name) {
  return `Could not serialize object of type "${name}". This type does not support serialization.`;
}

// Registers `cls` (a built-in class) as refused by structured clone, as workerd refuses `name`,
// or with `message` when given (then for its subclasses too).
export function refuseClone(cls, name, message = undefined) {
  apply(weakMapSet, refusals, [cls.prototype, { __proto__: null, name, message }]);
}

// The name a constructor gives its instances' refusal: its own `name`, if it is a data property
// holding a non-empty string (no user code runs); else undefined.
function constructorName(ctor) {
  if (typeof ctor !== 'function') return undefined;
  const desc = getOwnPropertyDescriptor(ctor, 'name');
  return desc !== undefined && typeof desc.value === 'string' && desc.value !== '' ? desc.value : undefined;
}

// The refusal message for an object whose prototype is `prototype`, or undefined when no
// registered built-in prototype is among the first few of its chain.
function refusalFor(prototype, ctor) {
  let proto = prototype;
  for (let depth = 0; depth < 8 && proto !== null; depth++, proto = getPrototypeOf(proto)) {
    const refusal = apply(weakMapGet, refusals, [proto]);
    if (refusal === undefined) continue;
    if (refusal.message !== undefined) return refusal.message;
    // A built-in class goes by its registered name (the bundle may rename its functions).
    return refusalMessage(depth === 0 ? refusal.name : constructorName(ctor) ?? refusal.name);
  }
  return undefined;
}

// The base of the built-in classes that structured clone refuses (registered with refuseClone):
// its constructor makes `this` a host object, which V8's serializer hands to the host, so that
// instances are refused with workerd's message however deep in a value they are (V8 writes any
// other object, whatever its class, as a plain object). Subclasses keep their private fields:
// they are added to the object this constructor returns. The classes' prototypes are set back to
// inherit from Object.prototype (hideBase), as workerd's do.
export class Uncloneable {
  constructor() {
    return newRefusedObject(new.target.prototype, new.target);
  }
}

// A host object with prototype `target` (Object.prototype if that is not an object) that
// structured clone refuses as Uncloneable's instances are: by the registered class `target`
// inherits from, named by `ctor` (the constructor called, or undefined) for a user's subclass.
export function newRefusedObject(target, ctor) {
  const prototype = target !== null && (typeof target === 'object' || typeof target === 'function')
    ? target : Object.prototype;
  const message = refusalFor(prototype, ctor) ?? refusalMessage('Object');
  return newFieldlessHostObject(prototype, HOST_REFUSED, message);
}

// Makes `cls` (a class extending Uncloneable directly) look like a base class: its prototype
// inherits from Object.prototype.
export function hideBase(cls) {
  Object.setPrototypeOf(cls.prototype, Object.prototype);
}

// The host object that the next CopiedObject constructor returns (constructInto), or null.
let adoptionTarget = null;

// The base of the built-in classes that structured clone copies by their contents, as workerd
// does (Headers, Request, Response, DOMException; js/prelude/copied_clone.js says how): its
// constructor makes `this` a host object, which V8's serializer hands to the host wherever it is
// in a value. `className` names the class should the host have no way to copy it. The classes
// hide this base with hideBase(), and call super() before anything else.
export class CopiedObject {
  constructor(className) {
    if (adoptionTarget !== null) {
      const adopted = adoptionTarget;
      adoptionTarget = null;
      return adopted;
    }
    const target = new.target.prototype;
    const prototype = target !== null && (typeof target === 'object' || typeof target === 'function')
      ? target : Object.prototype;
    return newFieldlessHostObject(prototype, HOST_COPIED, className);
  }
}

// Runs `construct`, whose first CopiedObject constructor returns `target` (a host object of kind
// HOST_COPIED that structured clone read back, src/js/serializer.h): the class's constructor then
// gives `target` its private fields, as it would a new instance. Returns what `construct` returns.
export function constructInto(target, construct) {
  adoptionTarget = target;
  try {
    return construct();
  } finally {
    adoptionTarget = null;
  }
}
