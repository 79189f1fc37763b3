// node:process: the part of Node's process that workerd has. `env` holds the app's vars as
// strings (text vars as they are, JSON vars as their JSON text), as workerd fills it from the
// Worker's env (nodejs_compat_populate_process_env, the default from 2025-04-01 on); bindings
// (namespaces, services) are not vars and stay out.
const queue = globalThis.queueMicrotask;
const apply = Reflect.apply;

// nextTick(fn, ...args): fn runs as a microtask, as on workerd (there is no separate tick queue).
function nextTick(callback, ...args) {
  if (typeof callback !== 'function') {
    throw new TypeError(`The "callback" argument must be of type function. Received ${callback === null ? 'null' : typeof callback}`);
  }
  queue(() => apply(callback, undefined, args));
}

function exit() {
  // workerd's process.exit() ends the request with an error the Worker cannot catch; here, an
  // uncatchable exit cannot be offered, so it throws.
  throw new Error('process.exit() is not supported');
}

const getPrototypeOf = Object.getPrototypeOf;
const stringify = JSON.stringify;
const ObjectProto = Object.prototype;
const ArrayProto = Array.prototype;

// A var's value in process.env, or undefined for a binding. JSON vars are plain data: objects and
// arrays of the realm's own prototypes, numbers, booleans and null.
function varText(value) {
  if (typeof value === 'string') return value;
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return stringify(value);
  if (typeof value === 'object') {
    const proto = getPrototypeOf(value);
    if (proto === ObjectProto || proto === ArrayProto) return stringify(value);
  }
  return undefined;
}

// getBuiltinModule('node:buffer' or 'buffer'): the module as `import x from` gives it, or
// undefined for a name that is not one of the runtime's Node.js modules.
function getBuiltinModule(id) {
  if (typeof id !== 'string') {
    const error = new TypeError('The "id" argument must be of type string.');
    error.code = 'ERR_INVALID_ARG_TYPE';
    throw error;
  }
  const name = id.startsWith('node:') ? id.slice(5) : id;
  const exports = require('./modules.js').builtinNodeModule(name);
  if (exports === undefined) return undefined;
  return Object.hasOwn(exports, 'default') ? exports.default : exports;
}

const process = {
  env: {},
  getBuiltinModule,
  nextTick,
  platform: 'linux',
  features: {},
  exit,
};

let envFilled = false;

// Fills process.env from the app's env object (given by the host with the first Node.js module
// an app imports; later calls change nothing).
export function fillProcessEnv(env) {
  if (envFilled || env === null || typeof env !== 'object') return;
  envFilled = true;
  for (const key of Object.keys(env)) {
    const text = varText(env[key]);
    if (text !== undefined) process.env[key] = text;
  }
}

export default process;
