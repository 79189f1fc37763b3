// Writes npm whatwg-url, tr46, webidl-conversions and punycode with their calls of built-ins made
// through functions the prelude captures when it loads (js/prelude/url_builtins.js), so that a
// URL or URLSearchParams gives the same answers whatever user code replaced on Array.prototype,
// String.prototype, RegExp.prototype, Map, Set, the iterators or Function.prototype. Rewritten:
// `x.method(...)` for the method names below, `Array.from(...)` and the other static functions of
// the built-in namespaces, `for...of`, array destructuring and spreads, typed arrays' lengths, and
// every global the libraries name (`String(x)`, `parseInt`, `isNaN`, `new Set`, `new TypeError`):
// each becomes a constant read when the module loads, before user code runs, so that an app that
// replaced `globalThis.String` or `parseInt` does not change how a URL parses.
// The prelude bundle resolves the four packages to OUTPUT/<package> (CMakeLists.txt,
// tests/prelude/harness.js). The rewrite is checked: a call it cannot rewrite (a receiver it does
// not recognise, a spread it does not know) fails the build instead of being left as it was.
//
//   node js/build/url_library.mjs OUTPUT
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const jsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const helpers = path.join(jsDir, 'prelude/url_builtins.js');
const packages = ['whatwg-url', 'tr46', 'webidl-conversions', 'punycode'];

// Built-in methods the libraries call on strings, arrays, typed arrays, RegExps, numbers, Maps,
// Sets and functions.
const METHODS = new Set([
  'push', 'pop', 'splice', 'slice', 'join', 'map', 'some', 'includes', 'indexOf', 'lastIndexOf',
  'sort', 'forEach', 'entries', 'keys', 'split', 'substring', 'codePointAt', 'charCodeAt', 'charAt',
  'toLowerCase', 'toUpperCase', 'startsWith', 'endsWith', 'normalize', 'replace', 'search', 'test',
  'exec', 'toString', 'has', 'get', 'set', 'delete', 'add', 'call', 'apply', 'bind',
]);
const NAMESPACES = ['Array', 'Object', 'String', 'Reflect', 'Number', 'Math', 'JSON', 'Symbol'];
// The globals the libraries name, read once per module as it loads. Any other global name left in
// a rewritten module fails the build (see freeGlobals). `undefined`, `NaN` and `Infinity` cannot be
// replaced (non-writable, non-configurable).
const GLOBALS = [
  'Array', 'ArrayBuffer', 'BigInt', 'Boolean', 'DataView', 'Error', 'Float32Array', 'Float64Array',
  'Function', 'Int16Array', 'Int32Array', 'Int8Array', 'JSON', 'Map', 'Math', 'Number', 'Object',
  'Promise', 'RangeError', 'Reflect', 'Set', 'SharedArrayBuffer', 'String', 'Symbol', 'TextDecoder',
  'TextEncoder', 'TypeError', 'Uint16Array', 'Uint32Array', 'Uint8Array', 'Uint8ClampedArray', 'isNaN',
  'parseInt',
];
const UNREPLACEABLE = new Set(['undefined', 'NaN', 'Infinity']);

let current = '';
function fail(message) {
  process.stderr.write(`url_library: ${current}: ${message} (a library changed?)\n`);
  process.exit(1);
}

// The index of the bracket that opens the one closing at `close`.
function openOf(source, close) {
  const pairs = { ')': '(', ']': '[', '}': '{' };
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    const c = source[i];
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[' || c === '{') {
      if (--depth === 0) {
        if (pairs[source[close]] !== c) fail(`unbalanced ${source.slice(i, close + 1)}`);
        return i;
      }
    }
  }
  return fail('unbalanced brackets');
}

// The index just past the bracket that closes the one opening at `open`.
function closeOf(source, open) {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if ((c === ')' || c === ']' || c === '}') && --depth === 0) return i + 1;
  }
  return fail('unbalanced brackets');
}

// Where the receiver of the member access whose dot is at `dot` starts: identifiers, `a.b`,
// `a[b]`, calls and parenthesised expressions.
function receiverStart(source, dot) {
  let i = dot;
  for (;;) {
    let j = i;
    while (j > 0 && /[\w$]/.test(source[j - 1])) j--;
    if (j < i) {
      i = j;
    } else if (source[i - 1] === ']' || source[i - 1] === ')') {
      i = openOf(source, i - 1);
      continue;
    } else {
      break;
    }
    if (source[i - 1] === '.' && source[i - 2] !== '.') {
      i--;
      continue;
    }
    break;
  }
  if (i === dot) fail(`no receiver before "${source.slice(dot - 30, dot + 20)}"`);
  if (/\bnew\s+$/.test(source.slice(Math.max(0, i - 8), i))) fail(`a "new" receiver at ${source.slice(i, dot + 20)}`);
  return i;
}

// The bracket that encloses `index`: '(', '[' or '{'.
function enclosingBracket(source, index) {
  let depth = 0;
  for (let i = index - 1; i >= 0; i--) {
    const c = source[i];
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[' || c === '{') {
      if (depth === 0) return c;
      depth--;
    }
  }
  return fail('a spread outside brackets');
}

// `[a, b]` as the object pattern `{ 0: a, 1: b }`, which reads by index without an iterator.
function objectPattern(pattern) {
  const names = pattern.slice(1, -1).split(',').map((name) => name.trim());
  if (names.some((name) => !/^[\w$]+$/.test(name))) fail(`array pattern ${pattern}`);
  return `{ ${names.map((name, i) => `${i}: ${name}`).join(', ')} }`;
}

// `source` with `pattern` replaced, which must match exactly `count` times.
function exactly(source, pattern, replacement, count) {
  const found = source.match(pattern) ?? [];
  if (found.length !== count) fail(`${found.length} matches of ${pattern}, not ${count}`);
  return source.replace(pattern, replacement);
}

function rewrite(source, file) {
  const used = new Set();
  // Regular expression literals' methods: `/x/u.test(s)`.
  // A literal: after `(`, `!`, `=`, `&`, `|`, `,` or a space; escapes and classes may hold `/`.
  const literal = /(?<=[(!=&|,\s])(\/(?:\\.|\[(?:\\.|[^\]\\])*\]|[^/\\\n[*])(?:\\.|\[(?:\\.|[^\]\\])*\]|[^/\\\n[])*\/[a-z]*)/;
  source = source.replace(new RegExp(`${literal.source}\\.(test|exec)\\(`, 'g'),
    (all, re, name) => {
      used.add(name);
      return `__dormUrl.methods.${name}(${re}, `;
    });
  // Spreads the libraries make: `[...s]` and `String.fromCodePoint(...list)`.
  source = source.replace(/\[\.\.\.([\w$]+)\]/g, '__dormUrl.spread($1)');
  source = source.replace(/String\.fromCodePoint\(\.\.\.([\w$]+)\)/g, '__dormUrl.fromCodePoints($1)');
  // The URL parser's input as code points, read past its end (to undefined) by index: an object
  // without a prototype.
  if (file.endsWith('whatwg-url/lib/url-state-machine.js')) {
    source = exactly(source, /Array\.from\(((?:this\.)?input), c => c\.codePointAt\(0\)\)/g, '__dormUrl.codePointList($1)', 2);
  }
  // The list URLSearchParams iterates.
  if (file.endsWith('whatwg-url/lib/URLSearchParams-impl.js')) {
    source = exactly(source, /this\._list\[Symbol\.iterator\]\(\)/g, '__dormUrl.iterate(this._list)', 1);
  }
  // serializeHost tells an IPv6 address (an array) from a domain with `instanceof Array`, which an
  // app's Array[Symbol.hasInstance] would answer.
  if (file.endsWith('whatwg-url/lib/url-state-machine.js')) {
    source = exactly(source, /\bhost instanceof Array\b/g, 'Array.isArray(host)', 1);
  }
  // The encoder and decoder's methods, captured with them (an app may replace
  // TextEncoder.prototype.encode).
  if (file.endsWith('whatwg-url/lib/encoding.js')) {
    source = exactly(source, /\n(const utf8Decoder = [^\n]*\n)/g,
      '\n$1const __dormEncode = __dormUrl.uncurryThis(utf8Encoder.encode);\n'
      + 'const __dormDecode = __dormUrl.uncurryThis(utf8Decoder.decode);\n', 1);
    source = exactly(source, /utf8Encoder\.encode\(string\)/g, '__dormEncode(utf8Encoder, string)', 1);
    source = exactly(source, /utf8Decoder\.decode\(bytes\)/g, '__dormDecode(utf8Decoder, bytes)', 1);
  }
  // Any other `instanceof` a global: its Symbol.hasInstance may be an app's.
  const instance = new RegExp(`\\binstanceof\\s+(${GLOBALS.join('|')})\\b`).exec(source);
  if (instance !== null) fail(`"${instance[0]}"`);
  // Array patterns among parameters (the implementations' constructor arguments).
  source = source.replace(/(\(globalObject, )(\[[\w$, ]+\])\)/g, (all, head, pattern) => `${head}${objectPattern(pattern)})`);
  if (file.endsWith('whatwg-url/lib/utils.js')) {
    source = exactly(source, /function iteratorResult\(\[key, value\], kind\)/g, 'function iteratorResult({ 0: key, 1: value }, kind)', 1);
  }
  // Static functions of the namespaces.
  source = source.replace(new RegExp(`(?<![\\w$.])(${NAMESPACES.join('|')})\\.([\\w$]+)\\(`, 'g'), (all, ns, name) => {
    const value = globalThis[ns][name];
    if (typeof value !== 'function') fail(`${ns}.${name} is not a function`);
    return `__dormUrl.statics[${JSON.stringify(`${ns}.${name}`)}](`;
  });
  // for...of, its array patterns too.
  let at = 0;
  for (;;) {
    const match = /for \((const|let) (\[[^\]]*\]|[\w$]+) of /g;
    match.lastIndex = at;
    const found = match.exec(source);
    if (found === null) break;
    const open = found.index + 4;
    const close = closeOf(source, open) - 1;
    const iterable = source.slice(found.index + found[0].length, close);
    const pattern = found[2][0] === '[' ? objectPattern(found[2]) : found[2];
    const head = `for (${found[1]} ${pattern} of __dormUrl.iterate(${iterable}))`;
    source = source.slice(0, found.index) + head + source.slice(close + 1);
    at = found.index + head.length - iterable.length - 2;
  }
  // Array destructuring in declarations.
  // The value is copied to an object without a prototype first: an index it lacks reads undefined,
  // not a getter on Array.prototype or Object.prototype.
  source = source.replace(/\b(const|let) (\[[\w$, ]+\]) = ([^;\n]+);/g,
    (all, kind, pattern, value) => `${kind} ${objectPattern(pattern)} = __dormUrl.indices(${value});`);
  // A missing argument is read as undefined, not through Object.prototype's index.
  source = source.replace(/\barguments\[(\d+)\]/g, '(arguments.length > $1 ? arguments[$1] : undefined)');
  // Method calls, last first; a receiver's own calls are rewritten after it (they move inside the
  // new call, ahead of `cursor`).
  let cursor = source.length;
  for (;;) {
    let found = null;
    for (const match of source.matchAll(/(?<!\.)\.([\w$]+)\(/g)) {
      if (match.index >= cursor) break;
      if (METHODS.has(match[1])) found = match;
    }
    if (found === null) break;
    const dot = found.index;
    cursor = dot;
    const lineStart = source.lastIndexOf('\n', dot) + 1;
    if (/^\s*(\/\/|\*)/.test(source.slice(lineStart, dot))) continue;  // a comment
    if (source[dot - 1] === '?') fail('an optional call');
    const start = receiverStart(source, dot);
    const receiver = source.slice(start, dot);
    if (receiver === '__dormUrl' || receiver.startsWith('__dormUrl.')) continue;
    const argsStart = dot + found[0].length;
    const empty = source[argsStart] === ')';
    used.add(found[1]);
    const head = `__dormUrl.methods.${found[1]}(${receiver}`;
    source = `${source.slice(0, start)}${head}${empty ? '' : ', '}${source.slice(argsStart)}`;
    cursor = start + head.length;
  }
  // Typed arrays' lengths, read through getters user code may replace.
  source = source.replace(/(?<![\w$.])([\w$]+)\.byteLength\b/g, '__dormUrl.byteLengthOf($1)');
  if (file.endsWith('whatwg-url/lib/urlencoded.js')) {
    source = source.replace(/\b(bytes|buf)\.length\b/g, '__dormUrl.lengthOf($1)');
  }
  // Spreads left: in a call they iterate (and become spreads of a captured iteration), in an object
  // literal and as rest parameters they do not.
  for (const found of [...source.matchAll(/\.\.\.([\w$]+)/g)].reverse()) {
    const enclosing = enclosingBracket(source, found.index);
    const after = source.slice(found.index + found[0].length);
    if (enclosing === '{') continue;
    if (enclosing === '(' && /^\)\s*(=>|\{)/.test(after)) continue;
    if (enclosing !== '(') fail(`a spread at "${source.slice(found.index - 40, found.index + 20)}"`);
    source = `${source.slice(0, found.index)}...__dormUrl.iterate(${found[1]})${after}`;
  }
  const names = [...used].filter((name) => !['call', 'apply', 'bind', 'entries'].includes(name));
  // Each helper is read once, into a constant of the module (a call then costs no lookup).
  const constants = new Map();
  source = source.replace(/__dormUrl\.(?:methods\.([\w$]+)|statics\["([\w$.]+)"\]|([\w$]+))/g, (all, method, fn, helper) => {
    const name = method !== undefined ? `__dormMethod_${method}`
      : fn !== undefined ? `__dormStatic_${fn.replace('.', '_')}` : `__dorm_${helper}`;
    const [namespace, member] = fn === undefined ? [] : fn.split('.');
    constants.set(name, fn === undefined ? all : `__dormUrl.staticOf(${JSON.stringify(namespace)}, ${JSON.stringify(member)})`);
    return name;
  });
  const header = [...constants].map(([name, value]) => `const ${name} = ${value};`).join('\n');
  // After a "use strict" directive, which must stay first.
  const strict = /^("use strict"|'use strict');\n/.exec(source)?.[0] ?? '';
  source = `${strict}const __dormUrl = require(${JSON.stringify(helpers)}).urlBuiltins;\n`
    + `__dormUrl.defineMethods(${JSON.stringify(names)});\n${header}\n${source.slice(strict.length)}`;
  return replaceGlobals(source);
}

// Wraps a CommonJS module so that esbuild sees its free names as a module's body would have them;
// an ES module (punycode.es6.js) is left as it is.
const isModule = (source) => /^export /m.test(source);
const wrap = (source) => (isModule(source) ? source : `(function (require, module, exports) {\n${source}\n});`);
const transformOptions = (source) => ({ loader: 'js', format: isModule(source) ? 'esm' : undefined });

// The global names `source` refers to without declaring them. esbuild renames every name a module
// declares when it minifies identifiers and keeps the free ones: those that name a global of a
// clean realm are what remains.
function freeGlobals(source) {
  const { code } = transformSync(wrap(source), {
    ...transformOptions(source), minifyIdentifiers: true, minifyWhitespace: true,
  });
  const globals = new Set(Object.getOwnPropertyNames(globalThis));
  const found = new Set();
  // Identifiers not after a dot, outside strings (the minified code quotes with " or `), and not an
  // object literal's keys (`{URL:a,...}`).
  const unquoted = code.replace(/"(?:\\.|[^"\\])*"|`(?:\\.|[^`\\])*`/g, '""');
  for (const match of unquoted.matchAll(/([{,]?)(?<![\w$.])([A-Za-z_$][\w$]*)(?![\w$])(:?)/g)) {
    if (match[1] !== '' && match[3] !== '') continue;
    if (globals.has(match[2]) || GLOBALS.includes(match[2])) found.add(match[2]);
  }
  return found;
}

// Each global in GLOBALS the module names becomes a constant read as it loads (esbuild's `define`
// replaces free references only: not properties, keys, strings or names the module declares).
function replaceGlobals(source) {
  const used = [...freeGlobals(source)].filter((name) => !UNREPLACEABLE.has(name));
  const unknown = used.filter((name) => !GLOBALS.includes(name));
  if (unknown.length > 0) fail(`global ${unknown.join(', ')} not captured`);
  if (used.length === 0) return source;
  const define = Object.fromEntries(used.map((name) => [name, `__dormGlobal_${name}`]));
  const { code } = transformSync(wrap(source), { ...transformOptions(source), define, legalComments: 'none' });
  let out = code;
  if (!isModule(source)) {
    const body = /^\(function\(require, module, exports\) \{\n([^]*)\n\}\);\n$/.exec(code);
    if (body === null) fail('esbuild\'s output not in its wrapper');
    out = body[1].replace(/^ {2}/gm, '');
  }
  // After the directive and the helpers' module, before the module's own code.
  const head = /^(?:"use strict";\n)?(?:var|const) __dormUrl = [^\n]*\n/.exec(out);
  if (head === null) fail('no __dormUrl line after esbuild');
  const globals = used.map((name) => `const __dormGlobal_${name} = __dormUrl.globalOf(${JSON.stringify(name)});`);
  out = `${head[0]}${globals.join('\n')}\n${out.slice(head[0].length)}`;
  const left = [...freeGlobals(out)].filter((name) => !UNREPLACEABLE.has(name));
  if (left.length > 0) fail(`globals ${left.join(', ')} left after the rewrite`);
  return out;
}

const output = process.argv[2];
if (!output) fail('usage: url_library.mjs OUTPUT');
for (const name of packages) {
  const from = path.join(jsDir, 'node_modules', name);
  const to = path.join(output, name);
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
  for (const entry of fs.readdirSync(to, { recursive: true })) {
    const file = path.join(to, entry);
    if (!file.endsWith('.js') || !fs.statSync(file).isFile()) continue;
    current = path.relative(output, file);
    if (/\bnode_modules\b/.test(current)) continue;
    fs.writeFileSync(file, rewrite(fs.readFileSync(file, 'utf8'), file));
  }
}
