import { Blob, blobInternals } from './blob.js';
import './clone_refusal.js';
import { describeCopied, reviveCopied } from './copied_clone.js';
import { makeDOMException } from './dom_exception.js';
import { dispatchRejection, hasRejectionListeners } from './global_scope.js';
import { createIncomingRequest } from './request.js';
import { isResponse, responseParts } from './response.js';

// What the host reads from the prelude (docs/contracts.md, "The JavaScript prelude").
export const internals = {
  makeDOMException,
  newRequest: createIncomingRequest,
  responseParts,
  isResponse,
  // A Blob read back by structured clone is made by the host with this prototype, then given its
  // bytes (which it owns) and type.
  blobPrototype: Blob.prototype,
  adoptClonedBlob: (blob, bytes, type) => blobInternals.adopt(blob, bytes, type),
  // Headers, Request, Response and DOMException in structured clone (src/js/serializer.h).
  describeCopied,
  reviveCopied,
  // The global scope's rejection events (src/runtime ThreadEngine::ReportUnhandledRejections).
  hasRejectionListeners,
  dispatchRejection,
};
