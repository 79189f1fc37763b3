import { Event } from './event_target.js';
import { defineInterface, illegalConstructor } from './webidl.js';

// The class of the events that report a rejected promise no handler took. As on workerd, the
// global exists and cannot be constructed; Dorm does not dispatch these events (README, "Known
// differences from workerd").
export class PromiseRejectionEvent extends Event {
  constructor() {
    throw illegalConstructor();
  }
}

defineInterface(PromiseRejectionEvent, 'PromiseRejectionEvent');
