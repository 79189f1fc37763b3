// Delivers an event to the object's handler and reports how it settled. Kept in JavaScript so
// that the per-request promise reactions are ordinary closures.
import { native } from './native.js';
import { PromisePrototypeThen, PromiseResolve, TypeErrorCtor, SymbolCtor } from './primordials.js';

export function deliverFetch(object, request, slot, eventId) {
  let result;
  try {
    const fetch = object.fetch;
    if (typeof fetch !== 'function') {
      throw new TypeErrorCtor('Handler does not export a fetch() function.');
    }
    result = fetch.call(object, request);
  } catch (error) {
    native.eventSettled(slot, eventId, false, error);
    return;
  }
  PromisePrototypeThen(
    PromiseResolve(result),
    (value) => native.eventSettled(slot, eventId, true, value),
    (error) => native.eventSettled(slot, eventId, false, error),
  );
}

// Runs the object's alarm handler with {retryCount, isRetry, scheduledTime}; an object without
// one has nothing to do (its alarm is deleted).
const ALARM_DONE = SymbolCtor('alarm done');
export function deliverAlarm(object, info, slot, eventId) {
  let result;
  try {
    const alarm = object.alarm;
    if (typeof alarm !== 'function') {
      native.eventSettled(slot, eventId, true, ALARM_DONE);
      return;
    }
    result = alarm.call(object, info);
  } catch (error) {
    native.eventSettled(slot, eventId, false, error);
    return;
  }
  PromisePrototypeThen(
    PromiseResolve(result),
    () => native.eventSettled(slot, eventId, true, ALARM_DONE),
    (error) => native.eventSettled(slot, eventId, false, error),
  );
}
