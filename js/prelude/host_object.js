// Instances of the classes that workerd implements natively and that structured clone treats
// specially (Blob is cloned, File and CryptoKey are refused) are host objects here: made by the
// native newHostObject() from a template with internal fields (src/js/host_objects.h), since
// V8's serializer asks the host about no other object. Their classes keep their state in private
// fields all the same, added to the host object by a FieldsOf subclass.
import native from './native.js';

export const HOST_UNCLONEABLE = 0;
export const HOST_BLOB = 1;

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
