'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);

test('a null body status takes no body, or an empty one, as workerd', () => {
  const refused = { name: 'TypeError', message: 'Response with null body status (101, 204, 205, or 304) cannot have a body.' };
  for (const status of [204, 205, 304]) {
    assert.throws(() => run(`new Response('x', { status: ${status} })`), refused);
    assert.equal(run(`new Response('', { status: ${status} }).body === null`), true);
    assert.equal(run(`new Response(new Uint8Array(0), { status: ${status} }).body === null`), true);
    assert.equal(run(`new Response(null, { status: ${status} }).status`), status);
  }
  assert.throws(() => run('new Response(new ReadableStream(), { status: 204 })'), refused);
  assert.throws(() => run('Response.json({}, { status: 204 })'), refused);
});
