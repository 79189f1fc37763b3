// Node's deep equality (util.isDeepStrictEqual, assert.deepStrictEqual and assert.deepEqual):
// strict compares primitives with Object.is and requires equal prototypes; loose uses == for
// primitives and ignores prototypes. Both compare own enumerable keys (symbols too in strict),
// Map and Set contents, Dates by time, RegExps by source and flags, boxed primitives by value,
// typed arrays and ArrayBuffers by bytes, Errors by name and message too; cycles are allowed.
const toStringTag = (value) => Object.prototype.toString.call(value);
const getPrototypeOf = Object.getPrototypeOf;
const objectIs = Object.is;

function ownKeys(value, strict) {
  const keys = Object.keys(value);
  if (!strict) return keys;
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) keys.push(symbol);
  }
  return keys;
}

function bytesOf(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

function setHasEqual(set, wanted, strict, memos) {
  for (const candidate of set) {
    if (innerEqual(candidate, wanted, strict, memos)) return true;
  }
  return false;
}

function innerEqual(a, b, strict, memos) {
  if (a === b) return a !== 0 || !strict || objectIs(a, b);
  if (strict) {
    if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
      if (typeof a === 'function' || typeof b === 'function') return false;
      return objectIs(a, b);
    }
    if (getPrototypeOf(a) !== getPrototypeOf(b)) return false;
  } else {
    if (a === null || typeof a !== 'object') {
      if (b === null || typeof b !== 'object') return a == b || (Number.isNaN(a) && Number.isNaN(b));
      return false;
    }
    if (b === null || typeof b !== 'object') return false;
  }
  const tag = toStringTag(a);
  if (tag !== toStringTag(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Date) {
    if (!(b instanceof Date) || a.getTime() !== b.getTime()) return false;
  } else if (a instanceof RegExp) {
    if (!(b instanceof RegExp) || a.source !== b.source || a.flags !== b.flags ||
        a.lastIndex !== b.lastIndex) return false;
  } else if (a instanceof Error) {
    if (!(b instanceof Error) || a.message !== b.message || a.name !== b.name) return false;
  } else if (ArrayBuffer.isView(a) || tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    if (!ArrayBuffer.isView(a) || !(a instanceof DataView)) {
      if (ArrayBuffer.isView(a) && !(a instanceof DataView) && !strict && a.length !== b.length) return false;
    }
    const x = bytesOf(a);
    const y = bytesOf(b);
    if (x.length !== y.length) return false;
    if (strict || !(a instanceof Float32Array || a instanceof Float64Array)) {
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    } else {
      for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
    }
  } else if (a instanceof Number || a instanceof String || a instanceof Boolean ||
             a instanceof BigInt || a instanceof Symbol) {
    if (!objectIs(a.valueOf(), b.valueOf())) return false;
  }
  // Cycles: a pair already being compared is taken as equal.
  let seen = memos.get(a);
  if (seen === undefined) {
    seen = new Set();
    memos.set(a, seen);
  } else if (seen.has(b)) {
    return true;
  }
  seen.add(b);
  const keysA = ownKeys(a, strict);
  const keysB = ownKeys(b, strict);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.propertyIsEnumerable.call(b, key)) return false;
    if (!innerEqual(a[key], b[key], strict, memos)) return false;
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [key, value] of a) {
      if (b.has(key)) {
        if (!innerEqual(value, b.get(key), strict, memos)) return false;
      } else {
        let found = false;
        for (const [otherKey, otherValue] of b) {
          if (innerEqual(key, otherKey, strict, memos) && innerEqual(value, otherValue, strict, memos)) {
            found = true;
            break;
          }
        }
        if (!found) return false;
      }
    }
  } else if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false;
    for (const value of a) {
      if (!b.has(value) && (typeof value !== 'object' || value === null || !setHasEqual(b, value, strict, memos))) {
        if (strict || typeof value === 'object') return false;
        if (!setHasEqual(b, value, strict, memos)) return false;
      }
    }
  }
  return true;
}

export function isDeepEqual(a, b, strict) {
  return innerEqual(a, b, strict, new Map());
}
