// The values JavaScript RPC carries between objects of an app, as on Cloudflare: everything
// structured clone takes goes by value; functions, RpcTarget instances and stubs go by reference.
//
// A function or an RpcTarget sent in a call is *exported* by the object whose turn sends it (its
// JavaScript instance keeps a table of what it exported) and arrives as a stub: calling the stub
// sends a call back to the exporting object, as an event through its input gate, where the
// function or the target's method runs. Stubs received as a call's arguments work until that call
// returns (then the caller releases its exports: an RpcTarget's Symbol.dispose runs, unless the
// callee kept a dup()); stubs received in a result work until the receiver
// disposes them (`stub[Symbol.dispose]()`, `using`, or disposing the result that holds them), as
// workerd's do. A stub that a callee returns from its arguments is a new reference that the
// caller holds until it disposes it, as on workerd: the export stays with its exporter (one holder
// more), and a stub the caller sent comes back sharing that stub's reference (as a dup()). A
// Durable Object stub sent over RPC arrives as a stub of the same object.
//
// A ReadableStream goes as a channel of its own (stub_bodies.js): the receiver reads what the
// sender's stream yields as it comes, with backpressure, during the call and after it.
//
// Wire format (structured clone): `[value]` when nothing goes by reference, else
// `[value, markers, refs]`: each marker is an empty object standing in the value for the reference
// described by refs[i] = [className, idHex, name, capId, kind] (kind 'f' a function, 't' an
// RpcTarget, 'd' a Durable Object stub, capId 0; kind 's' a ReadableStream, capId its place among
// the message's streams, whose channels travel beside the bytes: native.encodeRpc's `streams`). Structured clone keeps identity within one
// message, so the receiver finds the markers again by identity: no user value can pose as one.
//
// Across the nodes of a cluster a function or RpcTarget an object exports works as locally: the
// stub names its exporter's address, and a call on it is routed to the node that owns that object.
// A Worker's instance is named after the node it runs on (runtime/class_catalog.h), so a stub of
// what it exports reaches it there.
import { native } from './native.js';
import {
  ArrayIsArray, ErrorCtor, MapCtor, MapIteratorPrototypeNext, MapPrototypeDelete,
  MapPrototypeForEach, MapPrototypeGet, MapPrototypeGetSize, MapPrototypeHas, MapPrototypeKeys,
  MapPrototypeSet, MathFloor, MathRandom, NumberCtor, NumberIsSafeInteger, ObjectDefineProperty,
  ObjectGetPrototypeOf, ObjectHasOwn, ObjectKeys, PromisePrototypeThen, PromiseReject, PromiseResolve,
  ReflectApply, ReflectGetOwnPropertyDescriptor, SetCtor, SetPrototypeAdd, SetPrototypeDelete,
  SetPrototypeForEach, SetPrototypeHas, StringCtor, StringPrototypeIndexOf, StringPrototypeSlice,
  SymbolCtor, TypeErrorCtor, WeakMapCtor, WeakMapPrototypeGet, WeakMapPrototypeHas,
  WeakMapPrototypeSet, inheritsFrom, newList,
} from './primordials.js';
import { RpcTarget } from './base_classes.js';
import {
  domExceptionParts, requestGivenSignal, responseBodyEncoding, setStreamKnownLength, streamKnownLength,
} from './prelude_hooks.js';
import {
  abandonRpcSink, abandonRpcStream, drainRpcSink, isReadableStream, isWritableStream, lockRpcSink,
  lockRpcStream, rpcWritable, sendRpcStream, stubBodyStream,
} from './stub_bodies.js';

const ProxyCtor = Proxy;
// Captured before user code runs: the prelude's classes that RPC rebuilds on the other side.
const HeadersCtor = globalThis.Headers;
const RequestCtor = globalThis.Request;
const ResponseCtor = globalThis.Response;
const DOMExceptionCtor = globalThis.DOMException;
const makeDataCloneError = (message) => new DOMExceptionCtor(message, 'DataCloneError');
// The getter of attribute `name` of Ctor's instances, on its prototype or an ancestor of it (the
// body members are on Body.prototype).
const getterOf = (Ctor, name) => {
  for (let p = Ctor.prototype; p !== null; p = Object.getPrototypeOf(p)) {
    const desc = Object.getOwnPropertyDescriptor(p, name);
    if (desc !== undefined) return desc.get;
  }
  return undefined;
};
const RequestGetters = {
  __proto__: null, method: getterOf(RequestCtor, 'method'), url: getterOf(RequestCtor, 'url'),
  headers: getterOf(RequestCtor, 'headers'), body: getterOf(RequestCtor, 'body'),
  redirect: getterOf(RequestCtor, 'redirect'), cf: getterOf(RequestCtor, 'cf'),
  cache: getterOf(RequestCtor, 'cache'),
};
const ResponseGetters = {
  __proto__: null, status: getterOf(ResponseCtor, 'status'), statusText: getterOf(ResponseCtor, 'statusText'),
  headers: getterOf(ResponseCtor, 'headers'), body: getterOf(ResponseCtor, 'body'),
};
const HeadersEntries = HeadersCtor.prototype.entries;
const ObjectPrototype = Object.prototype;
const MapPrototype = Map.prototype;
const SetPrototype = Set.prototype;
const RpcTargetPrototype = RpcTarget.prototype;

// As workerd defines them where the engine does not: `using` (lowered by the bundler, which falls
// back to Symbol.for('Symbol.dispose')) and every runtime object agree on one symbol.
for (const name of ['dispose', 'asyncDispose']) {
  if (SymbolCtor[name] === undefined) {
    ObjectDefineProperty(SymbolCtor, name, { value: SymbolCtor.for(`Symbol.${name}`) });
  }
}
export const SymbolDispose = SymbolCtor.dispose;

const DISPOSED_MESSAGE = 'RPC stub used after being disposed.';
// Exports kept for results that their receiver never disposes: past this many, an object drops its
// oldest, so that a caller that never disposes cannot grow the callee's memory without bound.
const MAX_RESULT_EXPORTS = 10000;
// Method names with this prefix are the runtime's own calls to an object's exports.
const EXPORT_CALL = '\0';
const RELEASE_CALL = '\0release';
// A method name with this prefix reads the property that follows instead of calling a method.
export const GET_PROPERTY = '\u0001';

// ---------------------------------------------------------------------------------------------
// Exports: per exporting object (its JS instance), capId → { target, kind, result, holders }:
// `holders` counts the references received by others that each release the export once (a
// result's stub, each stub a callee retained or returned of a call's arguments).

const exportTables = new WeakMapCtor();

function exportTableOf(object) {
  let table = WeakMapPrototypeGet(exportTables, object);
  if (table === undefined) {
    table = { next: 1, entries: new MapCtor(), results: 0 };
    WeakMapPrototypeSet(exportTables, object, table);
  }
  return table;
}

function dropExport(table, capId) {
  const entry = MapPrototypeGet(table.entries, capId);
  if (entry === undefined) return undefined;
  MapPrototypeDelete(table.entries, capId);
  if (entry.result) table.results--;
  return entry;
}

// Disposes what the receiver disposed once no holder is left: an RpcTarget's own Symbol.dispose
// runs, as on Cloudflare.
function releaseExport(table, capId) {
  const held = MapPrototypeGet(table.entries, capId);
  if (held !== undefined && held.holders > 1) {
    held.holders--;
    return;
  }
  const entry = dropExport(table, capId);
  if (entry === undefined || entry.kind !== 't') return;
  try {
    const dispose = entry.target[SymbolDispose];
    if (typeof dispose === 'function') ReflectApply(dispose, entry.target, []);
  } catch {
    // A failing dispose() is the target's own business; the reference is gone either way.
  }
}

// ---------------------------------------------------------------------------------------------
// References held by this side.

// Stub (a proxy) → its reference { className, idHex, name, capId, kind, disposed }.
const stubRefs = new WeakMapCtor();
// Durable Object stub (namespace.js) → [className, idHex, name].
const objectStubs = new WeakMapCtor();
let makeObjectStub;

// Called by namespace.js: `stub` is a Durable Object stub; `make(className, idHex, name)` makes one.
export function registerObjectStub(stub, className, idHex, name) {
  WeakMapPrototypeSet(objectStubs, stub, [className, idHex, name]);
}
export function setObjectStubMaker(make) {
  makeObjectStub = make;
}

function isRpcTarget(value) {
  return inheritsFrom(value, RpcTargetPrototype);
}

// The containers the walk looks into: arrays, Maps, Sets and plain objects. Anything else
// (class instances, Dates, buffers, errors) is left to structured clone as it is.
const KIND_OTHER = 0;
const KIND_ARRAY = 1;
const KIND_MAP = 2;
const KIND_SET = 3;
const KIND_PLAIN = 4;
// Arrays up to this long are walked at every index. A longer one is walked at its own keys only
// when it is sparse: `a[2 ** 32 - 2] = x` has a length of 2^32-1 and one element, and walking
// every index took the sender's whole CPU limit (and on the receiving side filled the holes),
// where workerd's serializer visits the one element.
const DENSE_WALK = 1 << 16;
const SPARSE_SAMPLES = 32;

// null when the array `array` of `length` is to be walked at every index, else its own
// enumerable keys (its elements' indices, then any named properties). It is taken as sparse when
// fewer than half of SPARSE_SAMPLES random indices hold an element: either walk then costs about
// as much as the elements the array holds, and user code cannot choose the indices sampled.
function sparseKeys(array, length) {
  if (!(length > DENSE_WALK)) return null;
  let present = 0;
  for (let i = 0; i < SPARSE_SAMPLES; i++) {
    if (ObjectHasOwn(array, MathFloor(MathRandom() * length))) present++;
  }
  return present * 2 >= SPARSE_SAMPLES ? null : ObjectKeys(array);
}

// Whether `key` (a string) is an array index.
function isArrayIndex(key) {
  const n = NumberCtor(key);
  return n < 4294967295 && `${n}` === key;
}

function containerKind(value) {
  if (ArrayIsArray(value)) return KIND_ARRAY;
  const proto = ObjectGetPrototypeOf(value);
  if (proto === ObjectPrototype || proto === null) return KIND_PLAIN;
  if (proto === MapPrototype) return KIND_MAP;
  if (proto === SetPrototype) return KIND_SET;
  return KIND_OTHER;
}

// The Web API objects RPC carries by their contents, rebuilt on the other side (as workerd):
// 'h' Headers, 'q' Request, 'r' Response (their bodies as streams), 'x' DOMException.
function webApiKind(value) {
  if (inheritsFrom(value, HeadersCtor.prototype)) return 'h';
  if (inheritsFrom(value, RequestCtor.prototype)) return 'q';
  if (inheritsFrom(value, ResponseCtor.prototype)) return 'r';
  if (inheritsFrom(value, DOMExceptionCtor.prototype)) return 'x';
  return undefined;
}

function isReference(value) {
  if (typeof value === 'function') return true;
  return WeakMapPrototypeHas(stubRefs, value) || WeakMapPrototypeHas(objectStubs, value) ||
    isRpcTarget(value) || isReadableStream(value) || isWritableStream(value) ||
    webApiKind(value) !== undefined;
}

function headerList(headers) {
  const out = newList();
  const entries = ReflectApply(HeadersEntries, headers, []);
  for (let step = entries.next(); !step.done; step = entries.next()) {
    out[out.length] = [step.value[0], step.value[1]];
  }
  return out;
}

// Whether the argument list `list` holds nothing that goes by reference: at once when every
// element is a primitive (most calls), else as holdsReferences finds.
function argumentsHoldNoReferences(list) {
  const length = list.length;
  for (let i = 0; i < length; i++) {
    const item = list[i];
    if (item !== null && (typeof item === 'object' || typeof item === 'function')) {
      return !holdsReferences(list, undefined);
    }
  }
  return true;
}

// Whether `value` holds anything that goes by reference. Most RPC values hold nothing of the kind:
// they are serialized as they are.
function holdsReferences(value, seen) {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  if (isReference(value)) return true;
  const kind = containerKind(value);
  if (kind === KIND_OTHER) return false;
  if (seen === undefined) seen = new SetCtor();
  if (SetPrototypeHas(seen, value)) return false;
  SetPrototypeAdd(seen, value);
  if (kind === KIND_ARRAY) {
    const length = value.length;
    const keys = sparseKeys(value, length);
    if (keys !== null) {
      for (let i = 0; i < keys.length; i++) {
        if (holdsReferences(value[keys[i]], seen)) return true;
      }
      return false;
    }
    for (let i = 0; i < length; i++) {
      if (holdsReferences(value[i], seen)) return true;
    }
    return false;
  }
  let found = false;
  if (kind === KIND_MAP) {
    MapPrototypeForEach(value, (v, k) => {
      if (!found && (holdsReferences(k, seen) || holdsReferences(v, seen))) found = true;
    });
    return found;
  }
  if (kind === KIND_SET) {
    SetPrototypeForEach(value, (v) => {
      if (!found && holdsReferences(v, seen)) found = true;
    });
    return found;
  }
  // A plain object's properties are read by their descriptors: a getter is not run here but
  // makes the value copied (copy() runs it once, and the copy is serialized), so that it runs once
  // per call, as workerd's one serialization runs it (it ran here, then again when serialized).
  const keys = ObjectKeys(value);
  for (let i = 0; i < keys.length; i++) {
    const descriptor = ReflectGetOwnPropertyDescriptor(value, keys[i]);
    if (descriptor === undefined) continue;
    if (!ObjectHasOwn(descriptor, 'value')) return true;
    if (holdsReferences(descriptor.value, seen)) return true;
  }
  return false;
}

// Encodes `value` for a call (the argument list) or an answer (`forResult`, with `argStubs`, the
// stubs the call's arguments brought: see retainedCaps). Returns [token, exported, streams, sent]:
// the token of the encoded message (native.encodeRpc), to be handed to the call or the answer in
// the same turn; `exported` lists the [table, capId] this side exported for it (null when none);
// `streams` lists the [channelId, reader] of the ReadableStreams in it (null when none), to be
// started with startRpcStreams once the message is handed over (or given up with
// abandonRpcStreams if it was not); `sent` lists the stubs of exports this side holds that went in
// it (null when none: decodeRpcValue's `sent`). `forResult` marks exports that live until the
// receiver disposes them rather than until the call returns.
export function encodeRpcValue(value, forResult, argStubs = null) {
  // Most calls pass only primitives: their argument list (made by the runtime) needs no walk.
  const plain = forResult ? !holdsReferences(value, undefined) : argumentsHoldNoReferences(value);
  let retained = forResult ? retainedCaps(argStubs) : null;
  if (retained === null && plain) {
    return [native.encodeRpc([value], !forResult, false), null, null, null];
  }
  const markers = newList();
  const refs = newList();
  const exported = newList();
  const streams = newList();
  const channels = newList();
  let objectRefs = false;
  const copies = new MapCtor();
  let sent = null;
  // The stubs of the call's arguments, to find the ones the answer returns (made on first need).
  let received = null;
  // A stub received in the arguments and returned goes to the caller as a reference of its own:
  // its export gains a holder (`retained` names it once more), as workerd's returned capability.
  const returned = (stub) => {
    if (argStubs === null) return;
    if (received === null) {
      received = new SetCtor();
      for (let i = 0; i < argStubs.length; i++) SetPrototypeAdd(received, argStubs[i]);
    }
    if (!SetPrototypeHas(received, stub)) return;
    if (retained === null) retained = newList();
    retained[retained.length] = exportName(WeakMapPrototypeGet(stubRefs, stub));
  };
  // A stream's place among the message's channels, its channel opened and the stream locked.
  const channel = (stream) => {
    const reader = lockRpcStream(stream);
    const id = native.openRequestBody();
    streams[streams.length] = [id, reader, false];
    channels[channels.length] = id;
    return channels.length - 1;
  };
  let self;
  const reference = (thing) => {
    const known = WeakMapPrototypeGet(stubRefs, thing);
    let ref;
    if (known !== undefined) {
      if (known.disposed) throw new ErrorCtor(DISPOSED_MESSAGE);
      ref = [known.className, known.idHex, known.name, known.capId, known.kind];
      if (forResult) {
        returned(thing);
      } else {
        if (sent === null) sent = newList();
        sent[sent.length] = thing;
      }
    } else if (WeakMapPrototypeHas(objectStubs, thing)) {
      const address = WeakMapPrototypeGet(objectStubs, thing);
      ref = [address[0], address[1], address[2], 0, 'd'];
    } else if (typeof thing !== 'function' && isReadableStream(thing)) {
      ref = ['', '', undefined, channel(thing), 's'];
    } else if (typeof thing !== 'function' && isWritableStream(thing)) {
      const writer = lockRpcSink(thing);
      const id = native.openRpcSink();
      streams[streams.length] = [id, writer, true];
      channels[channels.length] = -id;
      ref = ['', '', undefined, channels.length - 1, 'w'];
    } else if (typeof thing !== 'function' && webApiKind(thing) !== undefined) {
      const kind = webApiKind(thing);
      let contents;
      if (kind === 'h') {
        contents = headerList(thing);
      } else if (kind === 'q') {
        if (requestGivenSignal(thing)) throw makeDataCloneError('AbortSignal serialization is not enabled.');
        const body = ReflectApply(RequestGetters.body, thing, []);
        contents = [ReflectApply(RequestGetters.method, thing, []), ReflectApply(RequestGetters.url, thing, []),
          headerList(ReflectApply(RequestGetters.headers, thing, [])),
          body === null ? -1 : channel(body), ReflectApply(RequestGetters.redirect, thing, []),
          ReflectApply(RequestGetters.cf, thing, [])];
        const cache = ReflectApply(RequestGetters.cache, thing, []);
        if (cache !== undefined) contents[contents.length] = cache;
      } else if (kind === 'r') {
        const body = ReflectApply(ResponseGetters.body, thing, []);
        contents = [ReflectApply(ResponseGetters.status, thing, []),
          ReflectApply(ResponseGetters.statusText, thing, []),
          headerList(ReflectApply(ResponseGetters.headers, thing, [])), body === null ? -1 : channel(body)];
        // A body sent as it is stays so, as workerd carries encodeBody; and a body's length known
        // in advance stays known (the receiver sends it with a Content-Length, as workerd does).
        const length = body === null ? -1 : streamKnownLength(body);
        contents[4] = responseBodyEncoding(thing) === 'manual' ? 'manual' : null;
        if (length >= 0) contents[5] = length;
      } else {
        contents = domExceptionParts(thing);
        if (contents === null) {
          // An object that only inherits from DOMException.prototype: refused as V8 refuses
          // reading the class's private state of it.
          throw new TypeErrorCtor('Cannot read private member #name from an object whose class did not declare it');
        }
      }
      ref = ['', '', undefined, contents, kind];
    } else {
      if (self === undefined) {
        self = native.currentObject();
        if (self === undefined) {
          throw new TypeErrorCtor('Functions and RpcTargets can only be passed over RPC by a ' +
            'Durable Object or a Worker while it handles an event.');
        }
      }
      const table = exportTableOf(self[0]);
      const capId = table.next++;
      const kind = typeof thing === 'function' ? 'f' : 't';
      MapPrototypeSet(table.entries, capId, { target: thing, kind, result: forResult, holders: 1 });
      if (forResult) {
        table.results++;
        trimResultExports(table);
      }
      exported[exported.length] = [table, capId, self];
      ref = [self[1], self[2], self[3], capId, kind];
    }
    if (ref[4] === 'f' || ref[4] === 't' || ref[4] === 'd') objectRefs = true;
    const marker = {};
    markers[markers.length] = marker;
    refs[refs.length] = ref;
    return marker;
  };
  const copy = (item) => {
    if (typeof item === 'function') return reference(item);
    if (item === null || typeof item !== 'object') return item;
    if (isReference(item)) {
      // A Web API object met twice arrives as one object, as structured clone keeps identity.
      if (webApiKind(item) === undefined) return reference(item);
      if (MapPrototypeHas(copies, item)) return MapPrototypeGet(copies, item);
      const marker = reference(item);
      MapPrototypeSet(copies, item, marker);
      return marker;
    }
    const kind = containerKind(item);
    if (kind === KIND_OTHER) return item;
    if (MapPrototypeHas(copies, item)) return MapPrototypeGet(copies, item);
    if (kind === KIND_ARRAY) {
      const out = newList();
      MapPrototypeSet(copies, item, out);
      const length = item.length;
      const keys = sparseKeys(item, length);
      // The holes are left holes, as V8 serializes an array (workerd's RPC keeps them).
      if (NumberIsSafeInteger(length) && length < 4294967296) out.length = length;
      if (keys === null) {
        for (let i = 0; i < length; i++) {
          if (ObjectHasOwn(item, i)) out[i] = copy(item[i]);
        }
        return out;
      }
      for (let i = 0; i < keys.length; i++) {
        if (!isArrayIndex(keys[i])) continue;
        ObjectDefineProperty(out, keys[i],
          { value: copy(item[keys[i]]), writable: true, enumerable: true, configurable: true });
      }
      return out;
    }
    if (kind === KIND_MAP) {
      const out = new MapCtor();
      MapPrototypeSet(copies, item, out);
      MapPrototypeForEach(item, (v, k) => MapPrototypeSet(out, copy(k), copy(v)));
      return out;
    }
    if (kind === KIND_SET) {
      const out = new SetCtor();
      MapPrototypeSet(copies, item, out);
      SetPrototypeForEach(item, (v) => SetPrototypeAdd(out, copy(v)));
      return out;
    }
    const out = {};
    MapPrototypeSet(copies, item, out);
    const keys = ObjectKeys(item);
    for (let i = 0; i < keys.length; i++) {
      ObjectDefineProperty(out, keys[i],
        { value: copy(item[keys[i]]), writable: true, enumerable: true, configurable: true });
    }
    return out;
  };
  try {
    const copied = copy(value);
    const message = retained === null
      ? [copied, markers, refs]
      : [copied, markers, refs, retained];
    const token = native.encodeRpc(message, false, objectRefs,
      channels.length === 0 ? undefined : channels);
    return [token, exported, streams.length === 0 ? null : streams, sent];
  } catch (error) {
    dropExported(exported);
    abandonRpcStreams(streams);
    throw error;
  }
}

// Starts sending the streams of a message that was handed over (encodeRpcValue).
export function startRpcStreams(streams) {
  if (streams === null) return;
  for (let i = 0; i < streams.length; i++) {
    if (streams[i][2]) drainRpcSink(streams[i][0], streams[i][1]);
    else sendRpcStream(streams[i][0], streams[i][1]);
  }
}

// Gives up the streams of a message that could not be handed over: they are unlocked again.
export function abandonRpcStreams(streams) {
  if (streams === null) return;
  for (let i = 0; i < streams.length; i++) {
    if (streams[i][2]) abandonRpcSink(streams[i][0], streams[i][1]);
    else abandonRpcStream(streams[i][0], streams[i][1]);
  }
}

// Cancels the channels of received streams that no value holds (a message that could not be
// read, or an answer that is not a value).
export function cancelRpcStreams(ids) {
  if (!ArrayIsArray(ids)) return;
  for (let i = 0; i < ids.length; i++) {
    // A writable channel's id is negated (this side produces it): it fails.
    if (ids[i] < 0) native.requestBodyEnd(-ids[i], false);
    else native.stubBodyCancel(ids[i]);
  }
}

function trimResultExports(table) {
  if (table.results <= MAX_RESULT_EXPORTS) return;
  const keys = MapPrototypeKeys(table.entries);
  for (let step = MapIteratorPrototypeNext(keys); !step.done; step = MapIteratorPrototypeNext(keys)) {
    const entry = MapPrototypeGet(table.entries, step.value);
    if (entry.result) {
      dropExport(table, step.value);
      return;
    }
  }
}

// Releases what this side exported for a call that has returned or thrown, except those named in
// `retained` (what the callee dup()ed or returned: kept until each of those stubs is disposed,
// like a result's exports, one holder per time the export is named): an RpcTarget's own
// Symbol.dispose runs, as workerd disposes a call's parameters.
export function releaseExported(exported, retained = null) {
  if (exported === null) return;
  for (let i = 0; i < exported.length; i++) {
    const table = exported[i][0];
    const capId = exported[i][1];
    const holders = retained === null ? 0 : namedCount(retained, exported[i][2], capId);
    if (holders !== 0) {
      const entry = MapPrototypeGet(table.entries, capId);
      if (entry !== undefined && !entry.result) {
        entry.result = true;
        entry.holders = holders;
        table.results++;
        trimResultExports(table);
      }
      continue;
    }
    releaseExport(table, capId);
  }
}

// Drops what this side exported for a message that was never sent (its encoding failed).
export function dropExported(exported) {
  if (exported === null) return;
  for (let i = 0; i < exported.length; i++) dropExport(exported[i][0], exported[i][1]);
}

// [className, idHex, name, capId] of the export the stub reference `ref` refers to: what an
// answer's `retained` lists (the capId alone would also name another object's export that a
// stub the caller sent refers to).
function exportName(ref) {
  return [ref.className, ref.idHex, ref.name, ref.capId];
}

// How many entries of `retained` (from the wire: any shape) name export `capId` of the object
// at `self` (native.currentObject()).
function namedCount(retained, self, capId) {
  let count = 0;
  for (let i = 0; i < retained.length; i++) {
    const named = retained[i];
    if (ArrayIsArray(named) && named.length === 4 && named[3] === capId && named[0] === self[1] &&
        named[1] === self[2] && named[2] === self[3]) {
      count++;
    }
  }
  return count;
}

// The names (exportName) of the stubs received as a call's arguments (`stubs`) that the callee
// still holds dup()s of when the call returns; null when none.
function retainedCaps(stubs) {
  if (stubs === null) return null;
  let retained = null;
  for (let i = 0; i < stubs.length; i++) {
    const ref = WeakMapPrototypeGet(stubRefs, stubs[i]);
    if (ref === undefined || ref.shared.count - (ref.disposed ? 0 : 1) <= 0) continue;
    if (retained === null) retained = newList();
    retained[retained.length] = exportName(ref);
  }
  return retained;
}

// Turns the message encodeRpcValue made, decoded by the runtime, back into the value. Returns
// [value, stubs, retained]: `stubs` lists the stubs made for the references in it (null when
// none), `retained` the names (exportName) of the exports that the callee keeps or returned of
// its arguments (an answer's).
// `channels` are the stub body ids of the streams that came with it (in marker order); those no
// marker claims, or all of them if the message cannot be read, are cancelled. `sent` (an answer's:
// encodeRpcValue's `sent` of its call) lists the stubs this side sent in the call: a reference
// that comes back as one of them still held shares its reference, as a dup() of it would.
export function decodeRpcValue(message, channels = undefined, sent = null) {
  const streamIds = ArrayIsArray(channels) && channels.length !== 0 ? channels : null;
  if (streamIds === null) return decodeMessage(message, sent, null);
  let claimed = 0;
  try {
    const decoded = decodeMessage(message, sent, (index, writable) => {
      if (typeof index !== 'number' || !(index >= 0 && index < streamIds.length) ||
          streamIds[index] === undefined) {
        throw new TypeErrorCtor('Malformed RPC message.');
      }
      const id = streamIds[index];
      if ((id < 0) !== (writable === true)) throw new TypeErrorCtor('Malformed RPC message.');
      streamIds[index] = undefined;
      claimed++;
      return writable ? rpcWritable(-id) : stubBodyStream(id, true);
    });
    if (claimed !== streamIds.length) cancelRpcStreams(unclaimed(streamIds));
    return decoded;
  } catch (error) {
    cancelRpcStreams(unclaimed(streamIds));
    throw error;
  }
}

function unclaimed(ids) {
  const out = newList();
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] !== undefined) out[out.length] = ids[i];
  }
  return out;
}

// The object a by-contents marker of kind `kind` stands for (see webApiKind; 's' a stream).
function rebuild(kind, contents, streamOf) {
  const bodyOf = (index) => {
    if (index === -1) return null;
    if (streamOf === null) throw new TypeErrorCtor('Malformed RPC message.');
    return streamOf(index);
  };
  if (kind === 's') return bodyOf(contents);
  if (kind === 'w') {
    if (streamOf === null) throw new TypeErrorCtor('Malformed RPC message.');
    return streamOf(contents, true);
  }
  if (kind === 'h') return new HeadersCtor(contents);
  if (!ArrayIsArray(contents)) throw new TypeErrorCtor('Malformed RPC message.');
  if (kind === 'x') return new DOMExceptionCtor(StringCtor(contents[1]), StringCtor(contents[0]));
  if (kind === 'q') {
    const body = bodyOf(contents[3]);
    const init = { method: StringCtor(contents[0]), headers: contents[2], body, redirect: StringCtor(contents[4]) };
    if (contents[5] !== undefined) init.cf = contents[5];
    if (contents[6] !== undefined) init.cache = StringCtor(contents[6]);
    return new RequestCtor(StringCtor(contents[1]), init);
  }
  const body = bodyOf(contents[3]);
  const length = contents[5];
  if (body !== null && typeof length === 'number' && NumberIsSafeInteger(length) && length >= 0) {
    setStreamKnownLength(body, length);
  }
  return new ResponseCtor(body, {
    status: contents[0], statusText: StringCtor(contents[1]), headers: contents[2],
    encodeBody: contents[4] === 'manual' ? 'manual' : undefined,
  });
}

function decodeMessage(message, sent, streamOf) {
  if (!ArrayIsArray(message)) throw new TypeErrorCtor('Malformed RPC message.');
  if (message.length === 1) return [message[0], null, null];
  const markers = message[1];
  const refs = message[2];
  const retained = message.length === 4 ? message[3] : null;
  if (!ArrayIsArray(markers) || !ArrayIsArray(refs) || markers.length !== refs.length ||
      (retained !== null && !ArrayIsArray(retained))) {
    throw new TypeErrorCtor('Malformed RPC message.');
  }
  const byMarker = new MapCtor();
  const stubs = newList();
  let shares = null;
  for (let i = 0; i < markers.length; i++) {
    const ref = refs[i];
    if (!ArrayIsArray(ref) || ref.length !== 5) throw new TypeErrorCtor('Malformed RPC message.');
    if (ref[4] === 's' || ref[4] === 'w' || ref[4] === 'h' || ref[4] === 'q' || ref[4] === 'r' ||
        ref[4] === 'x') {
      MapPrototypeSet(byMarker, markers[i], rebuild(ref[4], ref[3], streamOf));
      continue;
    }
    let stub;
    if (ref[4] === 'd') {
      stub = makeObjectStub(StringCtor(ref[0]), StringCtor(ref[1]), ref[2] === undefined ? undefined : StringCtor(ref[2]));
    } else {
      const made = {
        className: StringCtor(ref[0]),
        idHex: StringCtor(ref[1]),
        name: ref[2] === undefined ? undefined : StringCtor(ref[2]),
        capId: ref[3],
        kind: ref[4] === 'f' ? 'f' : 't',
        disposed: false,
      };
      // (A capId is a number this side's exporter chose; anything else is no stub it sent.)
      if (shares === null && sent !== null) shares = sentShares(sent);
      const shared = shares === null || typeof made.capId !== 'number' ? undefined
        : MapPrototypeGet(shares, exportKey(made));
      if (shared !== undefined) shared.count++;
      stub = makeExportStub(made, shared);
    }
    MapPrototypeSet(byMarker, markers[i], stub);
    if (ref[4] !== 'd') stubs[stubs.length] = stub;
  }
  const seen = new SetCtor();
  const restore = (item) => {
    if (item === null || typeof item !== 'object') return item;
    if (MapPrototypeHas(byMarker, item)) return MapPrototypeGet(byMarker, item);
    if (SetPrototypeHas(seen, item)) return item;
    SetPrototypeAdd(seen, item);
    const kind = containerKind(item);
    if (kind === KIND_ARRAY) {
      const keys = sparseKeys(item, item.length);
      if (keys === null) {
        for (let i = 0; i < item.length; i++) {
          if (ObjectHasOwn(item, i)) item[i] = restore(item[i]);
        }
      } else {
        for (let i = 0; i < keys.length; i++) {
          if (isArrayIndex(keys[i])) item[keys[i]] = restore(item[keys[i]]);
        }
      }
    } else if (kind === KIND_MAP) {
      const entries = newList();
      MapPrototypeForEach(item, (v, k) => { entries[entries.length] = [k, v]; });
      for (let i = 0; i < entries.length; i++) {
        const key = restore(entries[i][0]);
        if (key !== entries[i][0]) MapPrototypeDelete(item, entries[i][0]);
        MapPrototypeSet(item, key, restore(entries[i][1]));
      }
    } else if (kind === KIND_SET) {
      const values = newList();
      SetPrototypeForEach(item, (v) => { values[values.length] = v; });
      for (let i = 0; i < values.length; i++) {
        const value = restore(values[i]);
        if (value !== values[i]) {
          SetPrototypeDelete(item, values[i]);
          SetPrototypeAdd(item, value);
        }
      }
    } else if (kind === KIND_PLAIN) {
      const keys = ObjectKeys(item);
      for (let i = 0; i < keys.length; i++) item[keys[i]] = restore(item[keys[i]]);
    }
    return item;
  };
  const value = restore(message[0]);
  // As on Cloudflare: disposing a result disposes every stub in it.
  if (stubs.length !== 0 && value !== null && typeof value === 'object' &&
      !WeakMapPrototypeHas(stubRefs, value) && containerKind(value) !== KIND_OTHER) {
    try {
      ObjectDefineProperty(value, SymbolDispose, {
        value: () => disposeAll(stubs), writable: true, enumerable: false, configurable: true,
      });
    } catch {
      // A value that cannot take the property is disposed stub by stub.
    }
  }
  return [value, stubs.length === 0 ? null : stubs, retained];
}

// What names the export `ref` (a stub's reference) refers to.
const exportKey = (ref) => `${ref.className}\0${ref.idHex}\0${ref.name}\0${ref.capId}\0${ref.kind}`;

// exportKey → reference count of the stubs in `sent` not disposed.
function sentShares(sent) {
  const shares = new MapCtor();
  for (let i = 0; i < sent.length; i++) {
    const known = WeakMapPrototypeGet(stubRefs, sent[i]);
    if (known !== undefined && !known.disposed) MapPrototypeSet(shares, exportKey(known), known.shared);
  }
  return shares;
}

export function disposeAll(stubs) {
  if (stubs === null) return;
  for (let i = 0; i < stubs.length; i++) disposeStub(stubs[i], true);
}

// Marks the stubs received as a call's arguments disposed once the call returned: the caller has
// dropped what they refer to, so using one fails at once, with Cloudflare's message.
export function expireStubs(stubs) {
  if (stubs === null) return;
  for (let i = 0; i < stubs.length; i++) disposeStub(stubs[i], false);
}

function disposeStub(stub, notify) {
  const ref = WeakMapPrototypeGet(stubRefs, stub);
  if (ref === undefined || ref.disposed) return;
  ref.disposed = true;
  // dup()s of the stub keep the target; the last one disposed releases it (an expired argument's
  // export is dropped by its caller, unless the callee retained it: see retainedCaps).
  if (ref.shared.count-- > 1 || !notify) return;
  let sent;
  try {
    sent = native.callObject(ref.className, ref.idHex, ref.name, RELEASE_CALL,
      native.encodeRpc([[ref.capId]], true, false));  // [arguments]: see encodeRpcValue
  } catch {
    return;  // the exporter's class is gone: nothing is left to release
  }
  PromisePrototypeThen(sent, undefined, () => {});
}

// ---------------------------------------------------------------------------------------------
// Stubs of exports, and the promises RPC calls return.

let callExport;  // set by namespace.js: (ref, method, args) → promise of the result

export function setExportCaller(call) {
  callExport = call;
}

function makeExportStub(ref, shared = { count: 1 }) {
  ref.shared = shared;
  const call = (method, args) => callExport(ref, method, args);
  // A function target, so that a stub of a function can be called.
  const target = function rpcStub() {};
  const dup = () => {
    if (ref.disposed) throw new ErrorCtor(DISPOSED_MESSAGE);
    shared.count++;
    return makeExportStub({ ...ref, disposed: false }, shared);
  };
  const dispose = () => disposeStub(stub, true);
  const stub = new ProxyCtor(target, {
    apply(_, thisArg, args) {
      return rpcPromise(call('', args));
    },
    get(_, property) {
      if (property === 'dup') return dup;
      if (property === SymbolDispose) return dispose;
      if (typeof property !== 'string' || property === 'then') return undefined;
      return stubMember(call, property);
    },
    has(_, property) {
      return property === 'dup' || property === SymbolDispose;
    },
    set() {
      return false;
    },
  });
  WeakMapPrototypeSet(stubRefs, stub, ref);
  return stub;
}

// What `stub.name` gives, as workerd's JsRpcProperty: calling it calls the method `name`
// (`call(name, args)`), awaiting it reads the property `name` over RPC. `call` returns a promise.
export function stubMember(call, name) {
  return pipelined(() => call(GET_PROPERTY + name, []), (args) => rpcPromise(call(name, args)));
}

// The promise a call on a disposed stub gives.
export function disposedCall() {
  return PromiseReject(new ErrorCtor(DISPOSED_MESSAGE));
}

// What an RPC call returns, as workerd's JsRpcPromise: a promise of the result that also
// pipelines: `stub.a().b()` calls `b` on what `a` returns once it has, `await stub.a().x` gives its
// property `x`, and disposing it disposes the result.
export function rpcPromise(promise) {
  return pipelined(() => promise,
    (args) => rpcPromise(PromisePrototypeThen(promise, (value) => callValue(value, args))));
}

// `valueOf()` gives the promise of the value (made on first use); `call(args)` calls it.
function pipelined(valueOf, call) {
  let promise;
  const settled = () => (promise === undefined ? (promise = valueOf()) : promise);
  return new ProxyCtor(function rpcPromise() {}, {
    apply(_, thisArg, args) {
      return call(args);
    },
    get(_, property) {
      if (property === 'then') {
        return (onFulfilled, onRejected) => PromisePrototypeThen(settled(), onFulfilled, onRejected);
      }
      if (property === 'catch') return (onRejected) => PromisePrototypeThen(settled(), undefined, onRejected);
      if (property === 'finally') return (onFinally) => finallyOf(settled(), onFinally);
      if (property === SymbolDispose) return () => disposeWhenSettled(settled());
      if (typeof property !== 'string') return undefined;
      return pipelined(
        () => PromisePrototypeThen(settled(), (value) => memberOf(value, property)),
        (args) => rpcPromise(PromisePrototypeThen(settled(),
          (value) => callValue(memberOf(value, property), args, value, property))));
    },
  });
}

function memberOf(value, property) {
  if (value === null || value === undefined) {
    throw new TypeErrorCtor(`Cannot read properties of ${value} (reading '${property}')`);
  }
  return value[property];
}

function callValue(fn, args, self = undefined, property = undefined) {
  if (typeof fn !== 'function') {
    throw new TypeErrorCtor(property === undefined ? 'The RPC result is not a function.'
      : `"${property}" is not a function.`);
  }
  return ReflectApply(fn, self, args);
}

function finallyOf(promise, onFinally) {
  const run = () => {
    if (typeof onFinally !== 'function') return undefined;
    return onFinally();
  };
  return PromisePrototypeThen(promise,
    (value) => PromisePrototypeThen(PromiseResolve(run()), () => value),
    (error) => PromisePrototypeThen(PromiseResolve(run()), () => { throw error; }));
}

function disposeWhenSettled(promise) {
  PromisePrototypeThen(promise, (value) => {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
      const dispose = value[SymbolDispose];
      if (typeof dispose === 'function') ReflectApply(dispose, value, []);
    }
  }, () => {});
}

// ---------------------------------------------------------------------------------------------
// The exporting side: calls to one of this object's exports arrive as RPC events (deliver.js)
// whose method name starts with EXPORT_CALL: exportMethod() makes them, isExportCall() tells them
// from the object's own methods.

export function isExportCall(method) {
  return method.length !== 0 && method[0] === EXPORT_CALL;
}

// Runs an export call on `object` (the exporter's instance): the release of disposed exports, or a
// call of an exported function, or a call (or property read) of an exported RpcTarget through
// `runMember(target, method, args)`. Throws as workerd does.
export function runExportCall(object, method, args, runMember) {
  const table = WeakMapPrototypeGet(exportTables, object);
  if (method === RELEASE_CALL) {
    // The arguments are the ids released.
    const ids = args;
    if (table !== undefined && ArrayIsArray(ids)) {
      for (let i = 0; i < ids.length; i++) releaseExport(table, ids[i]);
    }
    return undefined;
  }
  const separator = StringPrototypeIndexOf(method, EXPORT_CALL, 1);
  const capId = NumberCtor(StringPrototypeSlice(method, 1, separator));
  const name = StringPrototypeSlice(method, separator + 1);
  const entry = table === undefined ? undefined : MapPrototypeGet(table.entries, capId);
  if (entry === undefined) throw new ErrorCtor(DISPOSED_MESSAGE);
  if (entry.kind === 't') return runMember(entry.target, name, args);
  if (name === '') return ReflectApply(entry.target, undefined, args);
  // A function's own properties are its members, as on Cloudflare.
  const get = name[0] === GET_PROPERTY;
  const key = get ? StringPrototypeSlice(name, 1) : name;
  if (!ObjectHasOwn(entry.target, key)) {
    throw new TypeErrorCtor(`The RPC receiver does not implement the method "${key}".`);
  }
  const member = entry.target[key];
  if (get) return member;
  if (typeof member !== 'function') throw new TypeErrorCtor(`"${key}" is not a function.`);
  return ReflectApply(member, entry.target, args);
}

// The method name a stub sends for `name` of export `capId` ('' calls the exported function).
export function exportMethod(capId, name) {
  return EXPORT_CALL + capId + EXPORT_CALL + name;
}
