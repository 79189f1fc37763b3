// node:process: the part of Node's process that workerd has. `env` starts empty: workerd fills
// it with the Worker's env only under nodejs_compat_populate_process_env.
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

const process = {
  env: {},
  nextTick,
  platform: 'linux',
  features: {},
  exit,
};

export default process;
