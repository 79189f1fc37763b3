'use strict';

// The async context the prelude carries into timer and queueMicrotask callbacks
// (js/prelude/async_context.js): a callback runs in the context current when it was scheduled,
// and the previous context is back after it; a callback scheduled without one sees none.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

test('timers and queueMicrotask run their callbacks in the async context they were scheduled in', async () => {
  const rt = createRuntime();
  const seen = [];
  rt.context.record = (label) => seen.push(`${label} ${rt.native.getAsyncContext()}`);
  rt.native.setAsyncContext('request-1');
  rt.run(`setTimeout(() => record('timer'), 5); queueMicrotask(() => record('microtask'));`);
  rt.native.setAsyncContext('request-2');
  rt.run(`setTimeout(() => record('timer'), 10);`);
  rt.native.setAsyncContext(undefined);
  rt.run(`setTimeout(() => record('timer'), 15);`);
  await new Promise((resolve) => setImmediate(resolve));
  rt.advance(20);
  assert.deepEqual(seen, ['microtask request-1', 'timer request-1', 'timer request-2', 'timer undefined']);
  assert.equal(rt.native.getAsyncContext(), undefined, 'the context is restored after each callback');
});
