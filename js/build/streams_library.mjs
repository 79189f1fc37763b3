// Writes npm web-streams-polyfill's module with its objects made by the prelude
// (js/prelude/stream_objects.js) instead of by the library itself, so that streams, readers,
// writers and controllers are host objects that structured clone refuses by their class, and whose
// internal state is in non-enumerable properties (as workerd's streams show no own properties).
// The prelude bundle takes this file in place of the package (CMakeLists.txt,
// tests/prelude/harness.js). The rewrite is checked: should the library's code no longer have
// the expected shape, this fails rather than writing a module that would leave state visible.
//
//   node js/build/streams_library.mjs OUTPUT
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const jsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const input = path.join(jsDir, 'node_modules/web-streams-polyfill/dist/ponyfill.mjs');
const objects = path.join(jsDir, 'prelude/stream_objects.js');
const clone = path.join(jsDir, 'prelude/structured_clone.js');
const views = path.join(jsDir, 'prelude/stream_views.js');
const primordials = path.join(jsDir, 'prelude/primordials.js');

// The classes whose instances user code can reach. Those made with `new` get a base class whose
// constructor makes the object; the others (and these, inside the library) are made with
// Object.create(X.prototype).
const constructed = [
  'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'WritableStream',
  'WritableStreamDefaultWriter', 'TransformStream',
];
const created = [
  'ReadableStream', 'ReadableStreamDefaultController', 'ReadableByteStreamController',
  'ReadableStreamBYOBRequest', 'WritableStream', 'WritableStreamDefaultController',
  'TransformStreamDefaultController',
];

function fail(message) {
  process.stderr.write(`streams_library: ${message} (web-streams-polyfill changed?)\n`);
  process.exit(1);
}

// The index just past the parenthesised list that starts at `open` (an opening parenthesis).
function closeParen(source, open) {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
    else if (c === '"' || c === "'" || c === '`') fail('a string in a constructor\'s parameters');
  }
  return fail('an unterminated constructor parameter list');
}

const output = process.argv[2];
if (!output) fail('usage: streams_library.mjs OUTPUT');
let source = fs.readFileSync(input, 'utf8');

for (const name of constructed) {
  const head = `class ${name}{constructor(`;
  const at = source.indexOf(head);
  if (at < 0 || source.indexOf(head, at + 1) >= 0) fail(`no single "${head}"`);
  const paramsEnd = closeParen(source, at + head.length - 1);
  if (source[paramsEnd] !== '{') fail(`${name}'s constructor has no body`);
  source = `${source.slice(0, at)}class ${name} extends __dormStreamObject{constructor(`
    + `${source.slice(at + head.length, paramsEnd + 1)}super();${source.slice(paramsEnd + 1)}`;
}

for (const name of created) {
  const call = `Object.create(${name}.prototype)`;
  if (!source.includes(call)) fail(`no "${call}"`);
  source = source.split(call).join(`__dormNewStreamObject(${name}.prototype)`);
}
// The one other object the library hands out, a stream's async iterator, made from a prototype
// of its own (an object literal, its name minified): `n=Object.create(ge);return n._asyncIteratorImpl=o`.
const iterator = /([A-Za-z_$][\w$]*)=Object\.create\(([A-Za-z_$][\w$]*)\);return \1\._asyncIteratorImpl=/g;
const iterators = source.match(iterator) ?? [];
if (iterators.length !== 1) fail('no single async iterator made with Object.create');
source = source.replace(iterator, '$1=__dormNewStreamObject($2);return $1._asyncIteratorImpl=');
// Nothing else is made with Object.create but the library's own errors.
for (const call of source.match(/Object\.create\([^)]*\)/g) ?? []) {
  if (call !== 'Object.create(Error.prototype)') fail(`an unexpected ${call}`);
}

// The library looks built-ins up as it runs (Function.prototype.call, hasOwnProperty, an array's
// push and slice), where user code may have replaced them or put setters on Array.prototype's
// indices: its streams carry the runtime's own bodies, so those lookups become calls of functions
// captured when the prelude loads (stream_objects.js), and its queues' arrays have no prototype.
// Each rewrite must match exactly as often as shown, or the library changed shape.
function rewrite(pattern, replacement, count) {
  const found = source.match(pattern) ?? [];
  if (found.length !== count) fail(`${found.length} matches of ${pattern}, not ${count}`);
  source = source.replace(pattern, replacement);
}
// Brand checks: `Object.prototype.hasOwnProperty.call(e,"_x")`.
rewrite(/Object\.prototype\.hasOwnProperty\.call\(/g, '__dormHasOwn(', 14);
// Its calls of user callbacks and of the captured Promise.prototype.then.
rewrite(/Function\.prototype\.apply\.call\(e,t,r\)/g, '__dormApply(e,t,r)', 1);
rewrite(/function ([A-Za-z_$][\w$]*)\(e,t,r\)\{return ([A-Za-z_$][\w$]*)\.call\(e,t,r\)\}/g,
  'function $1(e,t,r){return __dormApply($2,e,[t,r])}', 1);
// SimpleQueue's chunks of elements, appended to by index.
rewrite(/_elements:\[\]/g, '_elements:__dormList()', 2);
rewrite(/([A-Za-z_$][\w$]*)\._elements\.push\(([A-Za-z_$][\w$]*)\)/g, '$1._elements[$1._elements.length]=$2', 1);
// TransferArrayBuffer and IsDetachedBuffer (an enqueued chunk's buffer), which it would do with
// the global structuredClone and the buffer's own members: the prelude's (structured_clone.js).
rewrite(new RegExp([
  /let ([A-Za-z_$][\w$]*)=e=>\(\1="function"==typeof e\.transfer\?e=>e\.transfer\(\):/.source,
  /"function"==typeof structuredClone\?e=>structuredClone\(e,\{transfer:\[e\]\}\):e=>e,\1\(e\)\),/.source,
  /([A-Za-z_$][\w$]*)=e=>\(\2="boolean"==typeof e\.detached\?e=>e\.detached:e=>0===e\.byteLength,\2\(e\)\)/.source,
].join(''), 'g'), 'let $1=__dormTransfer,$2=__dormIsDetached', 1);
// ArrayBufferSlice without the buffer's slice() (nor its species), and CopyDataBlockBytes with
// the captured %TypedArray%.prototype.set.
rewrite(/function ([A-Za-z_$][\w$]*)\(e,t,r\)\{if\(e\.slice\)return e\.slice\(t,r\);const o=r-t/g,
  'function $1(e,t,r){const o=r-t', 1);
rewrite(/function ([A-Za-z_$][\w$]*)\(e,t,r,o,n\)\{new Uint8Array\(e\)\.set\(new Uint8Array\(r,o,n\),t\)\}/g,
  'function $1(e,t,r,o,n){__dormTypedArraySet(new Uint8Array(e),new Uint8Array(r,o,n),t)}', 1);
// Its reads of views' and buffers' byteLength, byteOffset and buffer (stream_views.js), innermost
// last: `e.buffer.byteLength` becomes viewMember(viewMember(e, "buffer"), "byteLength").
// Assignments to them (the library's own records) are left. A read whose receiver is not a
// chain of names fails the build.
{
  const member = new RegExp(/(?<![\w$.])((?:this|[A-Za-z_$][\w$]*)(?:\.[A-Za-z_$][\w$]*)*)/.source
    + /\.(byteLength|byteOffset|buffer)\b(?!\s*(?:=(?!=)|\+=|-=|\+\+|--))/.source, 'g');
  let reads = 0;
  for (;;) {
    const before = source;
    source = source.replace(member, (all, receiver, name) => {
      reads++;
      return `__dormViewMember(${receiver},"${name}")`;
    });
    if (source === before) break;
  }
  if (reads !== 53) fail(`${reads} reads of byteLength, byteOffset or buffer, not 53`);
  // And in declarations' object patterns: `const{buffer:o,byteOffset:n}=t` becomes
  // `const o=viewMember(t,"buffer"),n=viewMember(t,"byteOffset")` (a space after `const`).
  rewrite(/\{((?:(?:buffer|byteOffset|byteLength):[A-Za-z_$][\w$]*,?)+)\}=([A-Za-z_$][\w$]*)(?=[,;])/g,
    (all, pattern, value) => ' ' + pattern.split(',').map((entry) => {
      const [name, binding] = entry.split(':');
      return `${binding}=__dormViewMember(${value},"${name}")`;
    }).join(","), 3);
  // A view's constructor, by its class (as the standard's [[TypedArrayName]]), not its members.
  rewrite(/\(([A-Za-z_$][\w$]*)\.constructor\)/g, '(__dormViewConstructor($1))', 2);
  const left = /[^\w$]\.(byteLength|byteOffset|buffer)\b(?!\s*(?:=(?!=)|\+=|-=))/.exec(source);
  if (left !== null) fail(`a read of ${left[1]} not rewritten`);
}
// The static functions it calls as it runs (its checks of chunks and views, its byte counts),
// which user code may replace on ArrayBuffer and Math themselves.
rewrite(/\bArrayBuffer\.isView\(/g, '__dormIsView(', 3);
rewrite(/\bMath\.(min|floor|ceil)\(/g, (all, name) => `__dormMath${name}(`, 4);
// tee()'s copy of its two branches.
rewrite(/function ([A-Za-z_$][\w$]*)\(e\)\{return e\.slice\(\)\}/g, 'function $1(e){return[e[0],e[1]]}', 1);

source = `import { StreamObject as __dormStreamObject, newStreamObject as __dormNewStreamObject, hasOwn as __dormHasOwn,
  apply as __dormApply, newList as __dormList } from ${JSON.stringify(objects)};\n`
  + `import { transferArrayBuffer as __dormTransfer, isDetachedArrayBuffer as __dormIsDetached } from ${
    JSON.stringify(clone)};\n`
  + `import { viewConstructor as __dormViewConstructor, viewMember as __dormViewMember } from ${
    JSON.stringify(views)};\n`
  + `import { TypedArrayPrototypeSet as __dormTypedArraySet, ArrayBufferIsView as __dormIsView, MathMin as __dormMathmin,
  MathFloor as __dormMathfloor, MathCeil as __dormMathceil } from ${JSON.stringify(primordials)};\n${source}`;
fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
fs.writeFileSync(output, source);
