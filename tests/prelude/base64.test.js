'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
const atob = (s) => rt.run(`atob(${JSON.stringify(s)})`);

const invalid = { name: 'InvalidCharacterError', code: 5 };

test('btoa encodes Latin-1 strings with padding', () => {
  assert.equal(run(`btoa('')`), '');
  assert.equal(run(`btoa('f')`), 'Zg==');
  assert.equal(run(`btoa('fo')`), 'Zm8=');
  assert.equal(run(`btoa('foo')`), 'Zm9v');
  assert.equal(run(`btoa('foob')`), 'Zm9vYg==');
  assert.equal(run(`btoa('\\u00ff\\u00fe\\u0000')`), '//4A');
  assert.equal(run(`btoa(undefined)`), 'dW5kZWZpbmVk');
  assert.equal(run(`btoa(null)`), 'bnVsbA==');
  assert.throws(() => run(`btoa()`), { name: 'TypeError' });
});

test('btoa rejects characters above U+00FF with InvalidCharacterError', () => {
  assert.throws(() => run(`btoa('\\u20ac')`), invalid);
  assert.throws(() => run(`btoa('ok\\u0100')`), invalid);
  assert.equal(run(`(() => { try { btoa('\\u0100'); } catch (e) { return e instanceof DOMException; } })()`), true);
});

test('atob decodes, ignoring ASCII whitespace', () => {
  assert.equal(atob('Zm9vYg=='), 'foob');
  assert.equal(atob(' Zm9v\tY\ng=\f=\r'), 'foob');
  assert.equal(atob(''), '');
  assert.equal(atob('//4A'), '\u00ff\u00fe\u0000');
});

test('atob: padding is optional but must be complete when present', () => {
  assert.equal(atob('Zm9vYg'), 'foob');
  assert.equal(atob('Zm8'), 'fo');
  assert.equal(atob('Zm8='), 'fo');
  assert.throws(() => run(`atob('Zm8==')`), invalid);
  assert.throws(() => run(`atob('Zg=')`), invalid);
  assert.throws(() => run(`atob('Zg===')`), invalid);
  assert.throws(() => run(`atob('Z===')`), invalid);
  assert.throws(() => run(`atob('=')`), invalid);
  assert.throws(() => run(`atob('Zm=9')`), invalid);
});

test('atob: a length of 1 modulo 4 and characters outside the alphabet are invalid', () => {
  assert.throws(() => run(`atob('Z')`), invalid);
  assert.throws(() => run(`atob('Zm9vY')`), invalid);
  assert.throws(() => run(`atob('Zm9v-_')`), invalid);
  assert.throws(() => run(`atob('Zm\\u00e99v')`), invalid);
  assert.throws(() => run(`atob('Zm9v\\u000b')`), invalid);
  assert.throws(() => run(`atob(undefined)`), invalid);
  assert.throws(() => run(`atob()`), { name: 'TypeError' });
});

test('atob: leftover bits are discarded even when not zero', () => {
  assert.equal(atob('YR'), 'a');
  assert.equal(atob('YWJ'), 'ab');
  assert.equal(atob('YQ'), 'a');
});

test('round trip of every byte value agrees with Buffer', () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
  const binary = bytes.toString('latin1');
  assert.equal(run(`btoa(${JSON.stringify(binary)})`), bytes.toString('base64'));
  assert.equal(atob(bytes.toString('base64')), binary);
});
