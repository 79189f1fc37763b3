// The host's native functions, captured once: user code never sees them.
export const native = globalThis.__dormNative;
