'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
const json = (code) => JSON.parse(rt.run(`JSON.stringify(${code})`));

test('DOMException: name, message, legacy codes and constants', () => {
  assert.deepEqual(json(`[
    ['IndexSizeError', 'InvalidCharacterError', 'NotFoundError', 'NotSupportedError', 'InvalidStateError',
     'SyntaxError', 'TypeMismatchError', 'SecurityError', 'NetworkError', 'AbortError', 'QuotaExceededError',
     'TimeoutError', 'DataCloneError', 'EncodingError', 'NotAllowedError', 'OperationError', 'Error']
      .map((name) => new DOMException('m', name).code),
    DOMException.INVALID_CHARACTER_ERR, DOMException.prototype.DATA_CLONE_ERR, DOMException.ABORT_ERR,
  ]`), [[1, 5, 8, 9, 11, 12, 17, 18, 19, 20, 22, 23, 25, 0, 0, 0, 0], 5, 25, 20]);
  assert.deepEqual(json(`(() => {
    const plain = new DOMException();
    const e = new DOMException('went wrong', 'NotFoundError');
    return [plain.name, plain.message, plain.code, e.name, e.message, String(e), e instanceof Error,
      Object.prototype.toString.call(e), typeof e.stack, e.stack.split('\\n')[0],
      Object.keys(e), Object.getPrototypeOf(DOMException.prototype) === Error.prototype,
      Object.hasOwn(DOMException.prototype, 'name')];
  })()`), ['Error', '', 0, 'NotFoundError', 'went wrong', 'NotFoundError: went wrong', true,
    '[object DOMException]', 'string', 'NotFoundError: went wrong', ['code', 'name', 'message', 'stack'],
    true, false]);
  // As workerd: own read-only data properties (a strict-mode write throws), stack an own accessor.
  assert.throws(() => run(`'use strict'; new DOMException('m', 'DataError').name = 'x'`), { name: 'TypeError' });
  assert.equal(run(`typeof Object.getOwnPropertyDescriptor(new DOMException('m'), 'stack').get`), 'function');
  assert.equal(rt.internals.makeDOMException('x', 'DataCloneError').code, 25);
});

test('Event: construction and defaults', () => {
  assert.deepEqual(json(`(() => {
    const e = new Event('ping', { cancelable: true });
    // workerd: isTrusted is an enumerable, configurable accessor of Event.prototype, not an own
    // property, so that Object.keys() of an event is empty.
    const d = Object.getOwnPropertyDescriptor(Event.prototype, 'isTrusted');
    return [e.type, e.bubbles, e.cancelable, e.composed, e.defaultPrevented, e.eventPhase, e.target,
      e.isTrusted, typeof d.get, d.set, d.enumerable, d.configurable, Object.getOwnPropertyNames(e),
      Object.keys(new CustomEvent('c', { detail: 1 })), Event.AT_TARGET, typeof e.timeStamp];
  })()`), ['ping', false, true, false, false, 0, null, false, 'function', null, true, true, [], [], 2,
    'number']);
  assert.throws(() => run(`new Event()`), { name: 'TypeError' });
  assert.equal(run(`new CustomEvent('c', { detail: { n: 1 } }).detail.n`), 1);
  assert.equal(run(`new CustomEvent('c').detail`), null);
  assert.equal(run(`new CustomEvent('c') instanceof Event`), true);
});

test('EventTarget: once, duplicates, removal and handleEvent objects', () => {
  assert.deepEqual(json(`(() => {
    const target = new EventTarget();
    const calls = [];
    const fn = (e) => calls.push('fn:' + e.type);
    target.addEventListener('x', fn);
    target.addEventListener('x', fn);
    target.addEventListener('x', () => calls.push('once'), { once: true });
    const handler = { handleEvent(e) { calls.push('obj:' + (this === handler) + ':' + (e.currentTarget === target)); } };
    target.addEventListener('x', handler);
    target.dispatchEvent(new Event('x'));
    target.dispatchEvent(new Event('x'));
    target.removeEventListener('x', fn);
    target.removeEventListener('x', handler, { capture: false });
    target.dispatchEvent(new Event('x'));
    target.dispatchEvent(new Event('other'));
    return calls;
  })()`), ['fn:x', 'once', 'obj:true:true', 'fn:x', 'obj:true:true']);
});

test('EventTarget: capturing and passive listeners refused as workerd refuses them; propagation flags, return value', () => {
  const error = (code) => { try { run(code); return null; } catch (e) { return e.message; } };
  assert.equal(error(`new EventTarget().addEventListener('a', () => {}, true)`),
    'addEventListener(): useCapture must be false.');
  assert.equal(error(`new EventTarget().addEventListener('a', () => {}, { capture: true })`),
    'addEventListener(): options.capture must be false.');
  assert.equal(error(`new EventTarget().addEventListener('a', () => {}, { passive: true })`),
    'addEventListener(): options.passive must be false.');
  assert.equal(error(`new EventTarget().removeEventListener('a', () => {}, true)`),
    'removeEventListener(): useCapture must be false.');
  // Without a listener, the options are converted and not checked.
  assert.equal(error(`new EventTarget().addEventListener('a', null, true)`), null);
  assert.equal(error(`new EventTarget().addEventListener('a', () => {}, { signal: 5 })`),
    "Incorrect type for the 'signal' field on 'AddEventListenerOptions': the provided value is not of type 'AbortSignal'.");
  assert.deepEqual(json(`(() => {
    const target = new EventTarget();
    const calls = [];
    target.addEventListener('b', (e) => { calls.push('b1'); e.stopImmediatePropagation(); });
    target.addEventListener('b', () => calls.push('b2'));
    target.dispatchEvent(new Event('b'));

    target.addEventListener('c', (e) => { calls.push('c1'); e.stopPropagation(); }, { capture: false });
    target.addEventListener('c', () => calls.push('c2'), false);
    target.dispatchEvent(new Event('c'));

    target.addEventListener('e', (e) => e.preventDefault());
    const cancelled = target.dispatchEvent(new Event('e', { cancelable: true }));
    const notCancelable = target.dispatchEvent(new Event('e'));
    return [calls, cancelled, notCancelable];
  })()`), [['b1', 'c1', 'c2'], false, true]);
});

test('EventTarget: listener errors are reported, not thrown', () => {
  rt.reported.length = 0;
  const result = run(`(() => {
    const target = new EventTarget();
    const calls = [];
    target.addEventListener('x', () => { throw new Error('listener failed'); });
    const handler = { handleEvent() {} };
    target.addEventListener('x', handler);
    handler.handleEvent = 42;
    target.addEventListener('x', () => calls.push('after'));
    return [target.dispatchEvent(new Event('x')), calls.length];
  })()`);
  assert.deepEqual([...result], [true, 1]);
  assert.equal(rt.reported.length, 2);
  assert.equal(rt.reported[0].message, 'listener failed');
  assert.equal(rt.reported[1].name, 'TypeError');
});

test('EventTarget: argument checks and re-dispatch', () => {
  assert.throws(() => run(`new EventTarget().addEventListener('x')`), { name: 'TypeError' });
  assert.throws(() => run(`new EventTarget().addEventListener('x', 5)`), { name: 'TypeError' });
  assert.throws(() => run(`new EventTarget().dispatchEvent({ type: 'x' })`), { name: 'TypeError' });
  assert.equal(run(`new EventTarget().addEventListener('x', null)`), undefined);
  rt.reported.length = 0;
  run(`(() => {
    const t = new EventTarget();
    const e = new Event('x');
    t.addEventListener('x', () => t.dispatchEvent(e));
    t.dispatchEvent(e);
  })()`);
  assert.equal(rt.reported.length, 1);
  assert.equal(rt.reported[0].name, 'InvalidStateError');
  // Subclassing works, as user code does for its own emitters.
  assert.equal(run(`(() => { class Emitter extends EventTarget {} const e = new Emitter(); let n = 0;
    e.addEventListener('t', () => n++); e.dispatchEvent(new Event('t')); return n; })()`), 1);
});

test('AbortController and AbortSignal', () => {
  assert.deepEqual(json(`(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const seen = [];
    signal.onabort = (e) => seen.push('onabort:' + e.type);
    signal.addEventListener('abort', () => seen.push('listener'));
    const before = [signal.aborted, signal.reason];
    controller.abort();
    controller.abort('again');
    let thrown = null;
    try { signal.throwIfAborted(); } catch (e) { thrown = e.name; }
    return [before, signal.aborted, signal.reason.name, signal.reason instanceof DOMException, seen, thrown];
  })()`), [[false, null], true, 'AbortError', true, ['onabort:abort', 'listener'], 'AbortError']);
  assert.equal(run(`AbortSignal.abort('r').reason`), 'r');
  assert.equal(run(`AbortSignal.abort().aborted`), true);
  assert.throws(() => run(`new AbortSignal()`), { name: 'TypeError' });
  assert.equal(run(`(() => { const c = new AbortController(); const s = AbortSignal.any([new AbortController().signal, c.signal]);
    const before = s.aborted; c.abort('x'); return before + ':' + s.reason; })()`), 'false:x');
});

test('AbortSignal.timeout and listener removal through a signal', () => {
  const local = createRuntime();
  local.run(`
    globalThis.signal = AbortSignal.timeout(50);
    globalThis.calls = [];
    const target = new EventTarget();
    const controller = new AbortController();
    target.addEventListener('x', () => calls.push('x'), { signal: controller.signal });
    target.dispatchEvent(new Event('x'));
    controller.abort();
    target.dispatchEvent(new Event('x'));
    target.addEventListener('x', () => calls.push('late'), { signal: controller.signal });
    target.dispatchEvent(new Event('x'));
  `);
  assert.deepEqual([...local.run('calls')], ['x']);
  local.advance(49);
  assert.equal(local.run('signal.aborted'), false);
  local.advance(1);
  assert.deepEqual([...local.run('[signal.aborted, signal.reason.name]')], [true, 'TimeoutError']);
  // As workerd: any number is taken (a negative one is no delay); the argument is required.
  assert.equal(local.run(`globalThis.negative = AbortSignal.timeout(-1); negative.aborted`), false);
  local.advance(0);
  assert.equal(local.run('negative.aborted'), true);
  assert.throws(() => local.run(`AbortSignal.timeout()`),
    { message: "Failed to execute 'timeout' on 'AbortSignal': parameter 1 is not of type 'number'." });
});
