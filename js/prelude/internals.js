import { makeDOMException } from './dom_exception.js';
import { createIncomingRequest } from './request.js';
import { isResponse, responseParts } from './response.js';

// What the host reads from the prelude (docs/contracts.md, "The JavaScript prelude").
export const internals = {
  makeDOMException,
  newRequest: createIncomingRequest,
  responseParts,
  isResponse,
};
