import native from './native.js';
import { formatNumber, inspect } from './inspect.js';
import { isObject } from './webidl.js';

// Prototypes whose toString is the built-in one: `%s` inspects such objects instead of calling it.
const builtinPrototypes = new Set([
  Object.prototype, Array.prototype, Function.prototype, Error.prototype, Date.prototype,
  RegExp.prototype, Number.prototype, String.prototype, Boolean.prototype, Symbol.prototype,
  BigInt.prototype,
]);

function hasBuiltinToString(value) {
  let obj = value;
  while (obj !== null) {
    if (Object.prototype.hasOwnProperty.call(obj, 'toString')) return builtinPrototypes.has(obj);
    obj = Object.getPrototypeOf(obj);
  }
  return true;
}

function formatString(arg) {
  if (typeof arg === 'bigint') return `${arg}n`;
  if (typeof arg === 'number') return formatNumber(arg);
  if (typeof arg === 'object' && arg !== null && hasBuiltinToString(arg)) {
    return inspect(arg, { depth: 0 });
  }
  return String(arg);
}

function formatInteger(arg) {
  if (typeof arg === 'bigint') return `${arg}n`;
  if (typeof arg === 'symbol') return 'NaN';
  return formatNumber(parseInt(arg));
}

function formatDecimal(arg) {
  if (typeof arg === 'bigint') return `${arg}n`;
  if (typeof arg === 'symbol') return 'NaN';
  return formatNumber(Number(arg));
}

function formatJSON(arg) {
  try {
    const json = JSON.stringify(arg);
    return json === undefined ? 'undefined' : json;
  } catch (error) {
    if (error instanceof TypeError && /circular/i.test(error.message)) return '[Circular]';
    throw error;
  }
}

function formatArg(arg, inspectOptions = undefined) {
  return typeof arg === 'string' ? arg : inspect(arg, inspectOptions);
}

// util.format: printf-style directives in a leading string, then the remaining arguments.
// `inspectOptions` (util.formatWithOptions) apply to the values inspected whole and to %O.
export function formatLogArgs(args, inspectOptions = undefined) {
  if (args.length === 0) return '';
  const first = args[0];
  if (typeof first !== 'string') return args.map((arg) => formatArg(arg, inspectOptions)).join(' ');
  // A lone string is printed as it is, '%%' included.
  if (args.length === 1) return first;
  let next = 1;
  let out = '';
  let last = 0;
  for (let i = 0; i < first.length - 1; i++) {
    if (first.charCodeAt(i) !== 37 /* % */) continue;
    const directive = first[i + 1];
    let replacement;
    if (directive === '%') {
      replacement = '%';
    } else if (next < args.length) {
      const arg = args[next];
      switch (directive) {
        case 's': replacement = formatString(arg); break;
        case 'd': replacement = formatDecimal(arg); break;
        case 'i': replacement = formatInteger(arg); break;
        case 'f': replacement = typeof arg === 'symbol' ? 'NaN' : formatNumber(parseFloat(arg)); break;
        case 'j': replacement = formatJSON(arg); break;
        case 'o': replacement = inspect(arg, { depth: 4 }); break;
        case 'O': replacement = inspect(arg, inspectOptions); break;
        case 'c': replacement = ''; break;
        default: replacement = undefined;
      }
      if (replacement !== undefined) next++;
    }
    if (replacement === undefined) continue;
    out += first.slice(last, i) + replacement;
    last = i + 2;
    i++;
  }
  out += first.slice(last);
  for (; next < args.length; next++) out += ` ${formatArg(args[next], inspectOptions)}`;
  return out;
}

let groupIndentation = '';

function emit(level, message) {
  const text = groupIndentation === ''
    ? message
    : groupIndentation + message.replace(/\n/g, `\n${groupIndentation}`);
  native.log(level, text);
}

const counts = new Map();
const timers = new Map();

function labelOf(label) {
  return label === undefined ? 'default' : `${label}`;
}

function cellText(value) {
  return typeof value === 'string' ? inspect(value) : inspect(value, { depth: 0 }).replace(/\n\s*/g, ' ');
}

// A simple console.table: one row per own key of `data`, one column per key of the rows (or a
// "Values" column for primitive rows).
function renderTable(data, properties) {
  const indexHeader = '(index)';
  const valuesHeader = 'Values';
  const columns = [];
  const rows = [];
  let hasValues = false;
  for (const key of Object.keys(data)) {
    const row = data[key];
    const cells = new Map();
    if (isObject(row) && typeof row !== 'function') {
      const rowKeys = properties !== undefined ? properties : Object.keys(row);
      for (const column of rowKeys) {
        if (!Object.prototype.hasOwnProperty.call(row, column) && properties === undefined) continue;
        if (!columns.includes(column)) columns.push(column);
        if (Object.prototype.hasOwnProperty.call(row, column)) cells.set(column, cellText(row[column]));
      }
    } else {
      hasValues = true;
      cells.set(valuesHeader, cellText(row));
    }
    rows.push([key, cells]);
  }
  const headers = [indexHeader, ...columns.map(String)];
  if (hasValues) headers.push(valuesHeader);
  const keysInOrder = [...columns, ...(hasValues ? [valuesHeader] : [])];
  const table = rows.map(([key, cells]) => [key, ...keysInOrder.map((k) => cells.get(k) ?? '')]);
  const widths = headers.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)) + 2);
  const line = (left, middle, right) => left + widths.map((w) => '─'.repeat(w)).join(middle) + right;
  const row = (cells) => `│${cells.map((c, i) => ` ${c.padEnd(widths[i] - 1)}`).join('│')}│`;
  return [
    line('┌', '┬', '┐'),
    row(headers),
    line('├', '┼', '┤'),
    ...table.map(row),
    line('└', '┴', '┘'),
  ].join('\n');
}

function stackBelow(fn) {
  const holder = {};
  if (typeof Error.captureStackTrace === 'function') {
    Error.captureStackTrace(holder, fn);
  } else {
    holder.stack = new Error().stack;
  }
  const stack = typeof holder.stack === 'string' ? holder.stack : '';
  const newline = stack.indexOf('\n');
  return newline === -1 ? '' : stack.slice(newline);
}

// The methods do not use `this`, so they keep working when detached (`const { log } = console`).
export const console = {
  log(...args) {
    emit('log', formatLogArgs(args));
  },
  info(...args) {
    emit('info', formatLogArgs(args));
  },
  warn(...args) {
    emit('warn', formatLogArgs(args));
  },
  error(...args) {
    emit('error', formatLogArgs(args));
  },
  debug(...args) {
    emit('debug', formatLogArgs(args));
  },
  trace: function trace(...args) {
    const message = args.length === 0 ? 'Trace' : `Trace: ${formatLogArgs(args)}`;
    emit('log', message + stackBelow(trace));
  },
  assert(condition = false, ...data) {
    if (condition) return;
    if (data.length === 0) data = ['Assertion failed'];
    else if (typeof data[0] === 'string') data[0] = `Assertion failed: ${data[0]}`;
    else data.unshift('Assertion failed');
    emit('warn', formatLogArgs(data));
  },
  dir(item = undefined, options = undefined) {
    const opts = isObject(options) ? options : {};
    emit('log', inspect(item, { customInspect: false, ...opts }));
  },
  dirxml(...args) {
    emit('log', formatLogArgs(args));
  },
  table(data = undefined, properties = undefined) {
    if (!isObject(data) || typeof data === 'function') {
      emit('log', formatLogArgs([data]));
      return;
    }
    const props = Array.isArray(properties) ? properties.map(String) : undefined;
    emit('log', renderTable(data, props));
  },
  group(...label) {
    if (label.length > 0) emit('log', formatLogArgs(label));
    groupIndentation += '  ';
  },
  groupCollapsed(...label) {
    if (label.length > 0) emit('log', formatLogArgs(label));
    groupIndentation += '  ';
  },
  groupEnd() {
    groupIndentation = groupIndentation.slice(0, -2);
  },
  count(label = undefined) {
    const name = labelOf(label);
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    emit('log', `${name}: ${count}`);
  },
  countReset(label = undefined) {
    const name = labelOf(label);
    if (!counts.has(name)) {
      emit('warn', `Count for '${name}' does not exist`);
      return;
    }
    counts.set(name, 0);
  },
  time(label = undefined) {
    const name = labelOf(label);
    if (timers.has(name)) {
      emit('warn', `Label '${name}' already exists for console.time()`);
      return;
    }
    timers.set(name, Date.now());
  },
  timeLog(label = undefined, ...data) {
    const name = labelOf(label);
    if (!timers.has(name)) {
      emit('warn', `No such label '${name}' for console.timeLog()`);
      return;
    }
    const extra = data.length === 0 ? '' : ` ${formatLogArgs(data)}`;
    emit('log', `${name}: ${Date.now() - timers.get(name)}ms${extra}`);
  },
  timeEnd(label = undefined) {
    const name = labelOf(label);
    if (!timers.has(name)) {
      emit('warn', `No such label '${name}' for console.timeEnd()`);
      return;
    }
    emit('log', `${name}: ${Date.now() - timers.get(name)}ms`);
    timers.delete(name);
  },
};

for (const key of Object.keys(console)) {
  Object.defineProperty(console, key, { enumerable: true });
}
Object.defineProperty(console, Symbol.toStringTag, { value: 'console', configurable: true });
