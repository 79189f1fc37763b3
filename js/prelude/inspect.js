import { inspectCustom, typedArrayName } from './webidl.js';

// A value formatter for console output whose results match Node's util.inspect for the common
// cases (primitives, plain objects, arrays, Map, Set, errors, functions, typed arrays, circular
// references, depth limits and line breaking at 80 columns).

const breakLength = 80;
const maxArrayLength = 100;
const maxBufferBytes = 50;
// An object is written on one line only if it nests fewer than this many object levels below it.
const compactLevels = 3;

const identifierPattern = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

const escapes = {
  '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '\v': '\\x0B', '\\': '\\\\',
};

function quoteString(s) {
  let quote = "'";
  if (s.includes("'")) {
    if (!s.includes('"')) quote = '"';
    else if (!s.includes('`') && !s.includes('${')) quote = '`';
  }
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch === quote) out += `\\${ch}`;
    else if (escapes[ch] !== undefined) out += escapes[ch];
    else if (code < 0x20 || code === 0x7F) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}

export function formatNumber(n) {
  return Object.is(n, -0) ? '-0' : `${n}`;
}

function formatPrimitive(value) {
  switch (typeof value) {
    case 'string': return quoteString(value);
    case 'number': return formatNumber(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.toString();
    case 'undefined': return 'undefined';
    default: return `${value}`;
  }
}

function tryCall(fn, value) {
  try {
    fn.call(value);
    return true;
  } catch {
    return false;
  }
}

const mapSize = Object.getOwnPropertyDescriptor(Map.prototype, 'size').get;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
const dataViewByteLength = Object.getOwnPropertyDescriptor(DataView.prototype, 'byteLength').get;
const regExpSource = Object.getOwnPropertyDescriptor(RegExp.prototype, 'source').get;

const isMap = (v) => tryCall(mapSize, v);
const isSet = (v) => tryCall(setSize, v);
const isArrayBuffer = (v) => tryCall(arrayBufferByteLength, v);
const isDataView = (v) => tryCall(dataViewByteLength, v);
const isDate = (v) => tryCall(Date.prototype.getTime, v);
const isRegExp = (v) => v !== RegExp.prototype && tryCall(regExpSource, v);
const isWeakMap = (v) => {
  try {
    WeakMap.prototype.has.call(v, {});
    return true;
  } catch {
    return false;
  }
};
const isWeakSet = (v) => {
  try {
    WeakSet.prototype.has.call(v, {});
    return true;
  } catch {
    return false;
  }
};

function isError(value) {
  return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
}

function boxedPrimitive(value) {
  const probes = [
    ['Number', Number.prototype.valueOf],
    ['String', String.prototype.valueOf],
    ['Boolean', Boolean.prototype.valueOf],
    ['BigInt', BigInt.prototype.valueOf],
    ['Symbol', Symbol.prototype.valueOf],
  ];
  for (const [type, valueOf] of probes) {
    try {
      return { type, primitive: valueOf.call(value) };
    } catch {
      // not this kind of wrapper
    }
  }
  return null;
}

// The name of the nearest constructor on the prototype chain, or null for null-prototype objects.
function constructorName(value) {
  let obj = value;
  while (obj !== null) {
    const desc = Object.getOwnPropertyDescriptor(obj, 'constructor');
    if (desc !== undefined && typeof desc.value === 'function' && desc.value.name !== '') {
      return desc.value.name;
    }
    obj = Object.getPrototypeOf(obj);
  }
  return null;
}

function formatKey(key) {
  if (typeof key === 'symbol') return `[${key.toString()}]`;
  return identifierPattern.test(key) ? key : quoteString(key);
}

function functionBase(fn) {
  let source = '';
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    // not inspectable
  }
  const name = typeof fn.name === 'string' ? fn.name : '';
  if (source.startsWith('class') && /^class\b/.test(source)) {
    const parent = Object.getPrototypeOf(fn);
    const extendsPart = parent !== Function.prototype && parent !== null && parent.name
      ? ` extends ${parent.name}` : '';
    return `[class ${name || '(anonymous)'}${extendsPart}]`;
  }
  const tag = fn[Symbol.toStringTag];
  const kind = typeof tag === 'string' && tag.endsWith('Function') ? tag : 'Function';
  return name ? `[${kind}: ${name}]` : `[${kind} (anonymous)]`;
}

function indentLines(text, indentation) {
  return indentation > 0 ? text.replace(/\n/g, `\n${' '.repeat(indentation)}`) : text;
}

function errorBase(ctx, error) {
  let stack;
  try {
    stack = error.stack;
  } catch {
    stack = undefined;
  }
  let text;
  if (typeof stack === 'string' && stack !== '') {
    text = stack;
  } else {
    try {
      text = Error.prototype.toString.call(error);
    } catch {
      text = 'Error';
    }
  }
  if (!/\n\s+at /.test(text)) text = `[${text}]`;
  return indentLines(text, ctx.indentation);
}

function hexBytes(bytes) {
  const shown = Math.min(bytes.length, maxBufferBytes);
  const parts = [];
  for (let i = 0; i < shown; i++) parts.push(bytes[i].toString(16).padStart(2, '0'));
  let text = parts.join(' ');
  if (bytes.length > shown) text += ` ... ${bytes.length - shown} more byte${bytes.length - shown === 1 ? '' : 's'}`;
  return `<${text}>`;
}

function moreItems(count) {
  return `... ${count} more item${count === 1 ? '' : 's'}`;
}

function formatProperty(ctx, obj, key, level) {
  const desc = Object.getOwnPropertyDescriptor(obj, key);
  // A non-enumerable key shown anyway (an error's cause) is bracketed, as Node does.
  const keyText = desc !== undefined && !desc.enumerable ? `[${String(key)}]` : formatKey(key);
  let valueText;
  if (desc === undefined) {
    valueText = 'undefined';
  } else if (desc.get !== undefined || desc.set !== undefined) {
    if (desc.get !== undefined) valueText = desc.set !== undefined ? '[Getter/Setter]' : '[Getter]';
    else valueText = '[Setter]';
  } else {
    ctx.indentation += 2;
    valueText = formatValue(ctx, desc.value, level + 1);
    ctx.indentation -= 2;
  }
  return `${keyText}: ${valueText}`;
}

function ownEnumerableKeys(obj, skipIndices) {
  const keys = [];
  for (const key of Object.keys(obj)) {
    if (skipIndices && /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1) continue;
    keys.push(key);
  }
  for (const symbol of Object.getOwnPropertySymbols(obj)) {
    const desc = Object.getOwnPropertyDescriptor(obj, symbol);
    if (desc !== undefined && desc.enumerable) keys.push(symbol);
  }
  return keys;
}

function formatArrayItems(ctx, array, level) {
  const out = [];
  const length = array.length;
  let i = 0;
  while (i < length && out.length < maxArrayLength) {
    if (!Object.prototype.hasOwnProperty.call(array, i)) {
      let holes = 0;
      while (i < length && !Object.prototype.hasOwnProperty.call(array, i)) {
        holes++;
        i++;
      }
      out.push(`<${holes} empty item${holes === 1 ? '' : 's'}>`);
      continue;
    }
    ctx.indentation += 2;
    out.push(formatValue(ctx, array[i], level + 1));
    ctx.indentation -= 2;
    i++;
  }
  if (i < length) out.push(moreItems(length - i));
  return out;
}

function formatTypedArrayItems(array) {
  const out = [];
  const shown = Math.min(array.length, maxArrayLength);
  for (let i = 0; i < shown; i++) out.push(formatPrimitive(array[i]));
  if (array.length > shown) out.push(moreItems(array.length - shown));
  return out;
}

function formatCollection(ctx, iterable, size, level, isMapLike) {
  const out = [];
  let count = 0;
  ctx.indentation += 2;
  for (const entry of iterable) {
    if (count >= maxArrayLength) break;
    if (isMapLike) {
      out.push(`${formatValue(ctx, entry[0], level + 1)} => ${formatValue(ctx, entry[1], level + 1)}`);
    } else {
      out.push(formatValue(ctx, entry, level + 1));
    }
    count++;
  }
  ctx.indentation -= 2;
  if (size > count) out.push(moreItems(size - count));
  return out;
}

function fitsOnOneLine(ctx, entries, base, openBrace) {
  const start = entries.length + ctx.indentation + openBrace.length + base.length + 10;
  let total = entries.length + start;
  if (total + entries.length > breakLength) return false;
  for (const entry of entries) {
    total += entry.length;
    if (total > breakLength) return false;
  }
  return !base.includes('\n');
}

// Lays out many short array items in aligned columns instead of one per line. Numbers are
// right-aligned, everything else left-aligned. Returns null when the items do not suit it.
function groupItems(ctx, items) {
  if (items.length <= 6 || items.some((item) => item.includes('\n'))) return null;
  const width = Math.max(...items.map((item) => item.length));
  const available = breakLength - ctx.indentation - 4;
  const columns = Math.min(16, Math.floor(available / (width + 2)));
  if (columns <= 1) return null;
  const numeric = items.every((item) => /^-?[0-9][0-9.e+n]*$|^NaN$|^-?Infinity$/.test(item));
  const rows = [];
  for (let i = 0; i < items.length; i += columns) {
    const row = items.slice(i, i + columns);
    const cells = row.map((item, j) => {
      const cell = numeric ? item.padStart(width) : item;
      return j === row.length - 1 ? cell : `${cell},`.padEnd(width + 1);
    });
    rows.push(cells.join(' '));
  }
  return rows;
}

function joinEntries(ctx, entries, base, braces, level, itemCount) {
  const prefix = base === '' ? '' : `${base} `;
  if (ctx.deepest - level < compactLevels && fitsOnOneLine(ctx, entries, base, braces[0])) {
    const joined = entries.join(', ');
    if (!joined.includes('\n')) return `${prefix}${braces[0]} ${joined} ${braces[1]}`;
  }
  let lines = entries;
  const grouped = itemCount > 0 ? groupItems(ctx, entries.slice(0, itemCount)) : null;
  if (grouped !== null) lines = [...grouped, ...entries.slice(itemCount)];
  const indentation = `\n${' '.repeat(ctx.indentation)}`;
  return `${prefix}${braces[0]}${indentation}  ${lines.join(`,${indentation}  `)}${indentation}${braces[1]}`;
}

function withTag(name, value, fallback) {
  let tag;
  try {
    // An own enumerable tag is listed with the other properties instead.
    tag = Object.prototype.propertyIsEnumerable.call(value, Symbol.toStringTag)
      ? undefined : value[Symbol.toStringTag];
  } catch {
    tag = undefined;
  }
  const shownName = name === null ? `[${fallback}: null prototype]` : name;
  if (typeof tag === 'string' && tag !== '' && tag !== name) return `${shownName} [${tag}]`;
  return shownName;
}

function formatValue(ctx, value, level) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return formatPrimitive(value);
  }

  if (ctx.customInspect) {
    let hook;
    try {
      hook = value[inspectCustom];
    } catch {
      hook = undefined;
    }
    if (typeof hook === 'function' && hook !== inspect) {
      const remaining = ctx.depth - level;
      const result = hook.call(value, remaining, { depth: remaining, customInspect: true }, inspect);
      if (result !== value) {
        if (typeof result === 'string') return indentLines(result, ctx.indentation);
        return formatValue(ctx, result, level);
      }
    }
  }

  if (ctx.seen.includes(value)) {
    let id = ctx.circular.get(value);
    if (id === undefined) {
      id = ctx.circular.size + 1;
      ctx.circular.set(value, id);
    }
    return `[Circular *${id}]`;
  }

  const text = formatObject(ctx, value, level);
  const id = ctx.circular.get(value);
  return id === undefined ? text : `<ref *${id}> ${text}`;
}

function formatObject(ctx, value, level) {
  const name = constructorName(value);
  let base = '';
  let braces = ['{', '}'];
  let keys;
  let items = null;
  let emptyText = null;
  const groupable = Array.isArray(value) || typedArrayName(value) !== undefined;

  if (Array.isArray(value)) {
    const prefix = name === 'Array' ? '' : `${withTag(name, value, 'Array')}(${value.length}) `;
    braces = [`${prefix}[`, ']'];
    keys = ownEnumerableKeys(value, true);
    items = () => formatArrayItems(ctx, value, level);
    emptyText = `${braces[0]}]`;
  } else if (typedArrayName(value) !== undefined) {
    braces = [`${withTag(name, value, typedArrayName(value))}(${value.length}) [`, ']'];
    keys = ownEnumerableKeys(value, true);
    items = () => formatTypedArrayItems(value);
    emptyText = `${braces[0]}]`;
  } else if (isMap(value)) {
    const size = mapSize.call(value);
    braces = [`${withTag(name, value, 'Map')}(${size}) {`, '}'];
    keys = ownEnumerableKeys(value, false);
    items = () => formatCollection(ctx, Map.prototype.entries.call(value), size, level, true);
    emptyText = `${braces[0]}}`;
  } else if (isSet(value)) {
    const size = setSize.call(value);
    braces = [`${withTag(name, value, 'Set')}(${size}) {`, '}'];
    keys = ownEnumerableKeys(value, false);
    items = () => formatCollection(ctx, Set.prototype.values.call(value), size, level, false);
    emptyText = `${braces[0]}}`;
  } else {
    keys = ownEnumerableKeys(value, false);
    if (typeof value === 'function') {
      base = functionBase(value);
      if (keys.length === 0) return base;
    } else if (isError(value)) {
      base = errorBase(ctx, value);
      if (Object.prototype.hasOwnProperty.call(value, 'cause') && !keys.includes('cause')) {
        keys.push('cause');
      }
      if (keys.length === 0) return base;
    } else if (isRegExp(value)) {
      base = RegExp.prototype.toString.call(value);
      if (keys.length === 0) return base;
    } else if (isDate(value)) {
      const time = Date.prototype.getTime.call(value);
      base = Number.isNaN(time) ? 'Invalid Date' : Date.prototype.toISOString.call(value);
      if (keys.length === 0) return base;
    } else if (isArrayBuffer(value)) {
      const bytes = new Uint8Array(value);
      braces = [`${withTag(name, value, 'ArrayBuffer')} {`, '}'];
      items = () => [`[Uint8Contents]: ${hexBytes(bytes)}`, `byteLength: ${bytes.length}`];
    } else if (isDataView(value)) {
      braces = [`${withTag(name, value, 'DataView')} {`, '}'];
      items = () => {
        ctx.indentation += 2;
        const buffer = formatValue(ctx, value.buffer, level + 1);
        ctx.indentation -= 2;
        return [`byteLength: ${value.byteLength}`, `byteOffset: ${value.byteOffset}`, `buffer: ${buffer}`];
      };
    } else if (isWeakMap(value) || isWeakSet(value)) {
      return `${withTag(name, value, 'Object')} { <items unknown> }`;
    } else if (value instanceof Promise) {
      // The state of a promise cannot be read from JavaScript.
      braces = [`${withTag(name, value, 'Promise')} {`, '}'];
      items = () => ['<unknown>'];
    } else {
      const boxed = boxedPrimitive(value);
      if (boxed !== null) {
        base = `[${boxed.type}: ${formatPrimitive(boxed.primitive)}]`;
        if (boxed.type === 'String') keys = ownEnumerableKeys(value, true);
        if (keys.length === 0) return base;
      } else {
        const shown = withTag(name, value, 'Object');
        braces = [shown === 'Object' ? '{' : `${shown} {`, '}'];
        emptyText = `${braces[0]}}`;
      }
    }
  }

  if (items === null && keys.length === 0 && emptyText !== null) return emptyText;
  if (items !== null && emptyText !== null && keys.length === 0 && isEmptyContainer(value)) {
    return emptyText;
  }

  if (level > ctx.depth) {
    const shortName = name === null ? 'Object: null prototype' : name;
    return Array.isArray(value) ? '[Array]' : `[${shortName}]`;
  }

  ctx.seen.push(value);
  ctx.deepest = level;
  let entries;
  let itemCount = 0;
  try {
    entries = items === null ? [] : items();
    if (groupable) itemCount = entries.filter((entry) => !entry.startsWith('... ')).length;
    for (const key of keys) entries.push(formatProperty(ctx, value, key, level));
  } finally {
    ctx.seen.pop();
  }
  if (base !== '' && entries.length === 0) return base;
  return joinEntries(ctx, entries, base, braces, level, itemCount);
}

function isEmptyContainer(value) {
  if (Array.isArray(value) || typedArrayName(value) !== undefined) return value.length === 0;
  if (isMap(value)) return mapSize.call(value) === 0;
  if (isSet(value)) return setSize.call(value) === 0;
  return false;
}

export function inspect(value, options = undefined) {
  const opts = options === null || typeof options !== 'object' ? {} : options;
  let depth = 2;
  if (opts.depth === null || opts.depth === Infinity) depth = Infinity;
  else if (typeof opts.depth === 'number') depth = opts.depth;
  const ctx = {
    depth,
    customInspect: opts.customInspect !== false,
    seen: [],
    circular: new Map(),
    indentation: 0,
    deepest: 0,
  };
  return formatValue(ctx, value, 0);
}

Object.defineProperty(inspect, 'custom', { value: inspectCustom, enumerable: true });
