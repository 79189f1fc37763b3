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
// The lazy bundles (compiled when an app first uses them, after user code ran) take the prelude's
// copy instead: ./captured_globals_lazy.js.
const g = globalThis;

const CapturedObject = g.Object;
const CapturedFunction = g.Function;
const CapturedArray = g.Array;
const CapturedNumber = g.Number;
const CapturedString = g.String;
const CapturedBoolean = g.Boolean;
const CapturedSymbol = g.Symbol;
const CapturedBigInt = g.BigInt;
const CapturedMath = g.Math;
const CapturedJSON = g.JSON;
const CapturedReflect = g.Reflect;
const CapturedProxy = g.Proxy;
const CapturedPromise = g.Promise;
const CapturedDate = g.Date;
const CapturedRegExp = g.RegExp;
const CapturedMap = g.Map;
const CapturedSet = g.Set;
const CapturedWeakMap = g.WeakMap;
const CapturedWeakSet = g.WeakSet;
const CapturedWeakRef = g.WeakRef;
const CapturedFinalizationRegistry = g.FinalizationRegistry;
const CapturedError = g.Error;
const CapturedTypeError = g.TypeError;
const CapturedRangeError = g.RangeError;
const CapturedSyntaxError = g.SyntaxError;
const CapturedReferenceError = g.ReferenceError;
const CapturedEvalError = g.EvalError;
const CapturedURIError = g.URIError;
const CapturedAggregateError = g.AggregateError;
const CapturedArrayBuffer = g.ArrayBuffer;
const CapturedSharedArrayBuffer = g.SharedArrayBuffer;
const CapturedDataView = g.DataView;
const CapturedInt8Array = g.Int8Array;
const CapturedUint8Array = g.Uint8Array;
const CapturedUint8ClampedArray = g.Uint8ClampedArray;
const CapturedInt16Array = g.Int16Array;
const CapturedUint16Array = g.Uint16Array;
const CapturedInt32Array = g.Int32Array;
const CapturedUint32Array = g.Uint32Array;
const CapturedFloat32Array = g.Float32Array;
const CapturedFloat64Array = g.Float64Array;
const CapturedBigInt64Array = g.BigInt64Array;
const CapturedBigUint64Array = g.BigUint64Array;
const capturedParseInt = g.parseInt;
const capturedParseFloat = g.parseFloat;
const capturedIsNaN = g.isNaN;
const capturedIsFinite = g.isFinite;
const capturedEncodeURIComponent = g.encodeURIComponent;
const capturedDecodeURIComponent = g.decodeURIComponent;
const capturedEncodeURI = g.encodeURI;
const capturedDecodeURI = g.decodeURI;

export {
  CapturedObject as Object, CapturedFunction as Function, CapturedArray as Array, CapturedNumber as Number,
  CapturedString as String, CapturedBoolean as Boolean, CapturedSymbol as Symbol, CapturedBigInt as BigInt,
  CapturedMath as Math, CapturedJSON as JSON, CapturedReflect as Reflect, CapturedProxy as Proxy,
  CapturedPromise as Promise, CapturedDate as Date, CapturedRegExp as RegExp, CapturedMap as Map, CapturedSet as Set,
  CapturedWeakMap as WeakMap, CapturedWeakSet as WeakSet, CapturedWeakRef as WeakRef,
  CapturedFinalizationRegistry as FinalizationRegistry, CapturedError as Error, CapturedTypeError as TypeError,
  CapturedRangeError as RangeError, CapturedSyntaxError as SyntaxError, CapturedReferenceError as ReferenceError,
  CapturedEvalError as EvalError, CapturedURIError as URIError, CapturedAggregateError as AggregateError,
  CapturedArrayBuffer as ArrayBuffer, CapturedSharedArrayBuffer as SharedArrayBuffer, CapturedDataView as DataView,
  CapturedInt8Array as Int8Array, CapturedUint8Array as Uint8Array, CapturedUint8ClampedArray as Uint8ClampedArray,
  CapturedInt16Array as Int16Array, CapturedUint16Array as Uint16Array, CapturedInt32Array as Int32Array,
  CapturedUint32Array as Uint32Array, CapturedFloat32Array as Float32Array, CapturedFloat64Array as Float64Array,
  CapturedBigInt64Array as BigInt64Array, CapturedBigUint64Array as BigUint64Array, capturedParseInt as parseInt,
  capturedParseFloat as parseFloat, capturedIsNaN as isNaN, capturedIsFinite as isFinite,
  capturedEncodeURIComponent as encodeURIComponent, capturedDecodeURIComponent as decodeURIComponent,
  capturedEncodeURI as encodeURI, capturedDecodeURI as decodeURI,
};
