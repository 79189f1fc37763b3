// The ECMAScript globals as they are when a bundle loads, before any user code runs. Each bundle
// is built with this module injected (esbuild --inject, CMakeLists.txt): every reference in it to
// one of these names that the module does not declare itself (`new Set()`, `String(x)`,
// `Number.isNaN`, `new TypeError(...)`, `parseInt`, `x instanceof Error`) reads the constant below
// instead of the global object's property, which user code may replace. workerd's Web APIs are
// native and never see a replaced global; Dorm's JavaScript half must not either.
//
// Contract: only the bindings are captured. A static member (`Number.isNaN`) or a prototype's
// method is still looked up when it is called; the prelude's own paths call those through
// ./primordials.js. Evaluating this module reads globalThis only and cannot throw.
//
// The lazy bundles (compiled when an app first uses them, after user code ran) take the loading
// bundle's copy instead: ./captured_globals_lazy.js, which must list the same names.
export const {
  Object, Function, Array, Number, String, Boolean, Symbol, BigInt, Math, JSON, Reflect, Proxy, Promise, Date,
  RegExp, Map, Set, WeakMap, WeakSet, WeakRef, FinalizationRegistry, Error, TypeError, RangeError, SyntaxError,
  ReferenceError, EvalError, URIError, AggregateError, ArrayBuffer, SharedArrayBuffer, DataView, Int8Array,
  Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, parseInt, parseFloat, isNaN, isFinite, encodeURIComponent, decodeURIComponent,
  encodeURI, decodeURI,
} = globalThis;
