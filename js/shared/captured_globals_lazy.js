// The ECMAScript globals of js/shared/captured_globals.js for a bundle compiled only when an app
// first uses it (CMakeLists.txt's dorm_js_lazy_bundle): by then user code has run and may have
// replaced them, so the values are those the loading bundle captured when it loaded, handed over
// by the CommonJS `require` the bundle is called with (`require('dorm:captured-globals')`, the
// loading bundle's namespace of captured_globals.js). The names are the same.
//
// Contract: the bundle's require must answer 'dorm:captured-globals'; nothing here throws otherwise.
// eslint-disable-next-line no-undef
const captured = require('dorm:captured-globals');

export const {
  Object, Function, Array, Number, String, Boolean, Symbol, BigInt, Math, JSON, Reflect, Proxy, Promise, Date,
  RegExp, Map, Set, WeakMap, WeakSet, WeakRef, FinalizationRegistry, Error, TypeError, RangeError, SyntaxError,
  ReferenceError, EvalError, URIError, AggregateError, ArrayBuffer, SharedArrayBuffer, DataView, Int8Array,
  Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, parseInt, parseFloat, isNaN, isFinite, encodeURIComponent, decodeURIComponent,
  encodeURI, decodeURI,
} = captured;
