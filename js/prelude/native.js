// The host installs its native functions on the global object only for the time it takes this
// bundle to load; they are captured here, before any other module runs, so that user code never
// sees them.
const native = globalThis.__dormNative;
delete globalThis.__dormNative;

if (native === null || typeof native !== 'object') {
  throw new Error('Dorm prelude: globalThis.__dormNative is missing');
}

export default native;
