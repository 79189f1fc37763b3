// The globals the nodejs_compat flag adds on workerd (from compatibility date 2024-09-23 on):
// Buffer and process, the same objects node:buffer and node:process export. Installed once, by
// the module a project deployed with the flag imports first (AppIsolate::kNodeCompatGlobalsModule).
let installed = false;

export function installNodeGlobals() {
  if (installed) return;
  installed = true;
  const globals = [
    ['Buffer', require('./buffer.js').default.Buffer],
    ['process', require('./process.js').default],
  ];
  for (const [name, value] of globals) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
