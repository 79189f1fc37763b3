import native from './native.js';
import { requireArgs } from './webidl.js';

// Errors thrown by listeners and callbacks are reported, never propagated to whoever triggered
// them (HTML's "report an exception").
export function reportException(error) {
  try {
    native.reportError(error);
  } catch {
    // Reporting must never throw into the caller.
  }
}

export function reportError(error) {
  requireArgs(arguments.length, 1, "Failed to execute 'reportError'");
  native.reportError(error);
}
