'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
const json = (code) => JSON.parse(rt.run(`JSON.stringify(${code})`));

test('TextEncoder.encode produces UTF-8, lone surrogates as U+FFFD', () => {
  assert.deepEqual(json(`[...new TextEncoder().encode('a\\u00e9\\u20ac\\u{1F600}')]`),
    [0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80]);
  assert.deepEqual(json(`[...new TextEncoder().encode('\\uD800x')]`), [0xEF, 0xBF, 0xBD, 0x78]);
  assert.deepEqual(json(`[...new TextEncoder().encode()]`), []);
  assert.deepEqual(json(`[...new TextEncoder().encode(undefined)]`), []);
  assert.deepEqual(json(`[...new TextEncoder().encode(12)]`), [0x31, 0x32]);
  assert.equal(run(`new TextEncoder().encode('x') instanceof Uint8Array`), true);
  assert.equal(run(`new TextEncoder().encoding`), 'utf-8');
});

test('TextEncoder.encodeInto reports what was read and written', () => {
  assert.deepEqual(json(`(() => {
    const dest = new Uint8Array(5);
    const result = new TextEncoder().encodeInto('a\\u20acb\\u{1F600}', dest);
    return [result.read, result.written, [...dest]];
  })()`), [3, 5, [0x61, 0xE2, 0x82, 0xAC, 0x62]]);
  assert.throws(() => run(`new TextEncoder().encodeInto('x', new Uint16Array(2))`), { name: 'TypeError' });
  assert.throws(() => run(`new TextEncoder().encodeInto('x')`), { name: 'TypeError' });
});

test('TextEncoder.encodeInto runs none of the Array iterator user code replaced', () => {
  assert.deepEqual(json(`(() => {
    const saved = Array.prototype[Symbol.iterator];
    Array.prototype[Symbol.iterator] = function* () { yield 99; yield 99; };
    try {
      const result = new TextEncoder().encodeInto('ab', new Uint8Array(4));
      return [result.read, result.written].join();
    } finally {
      Array.prototype[Symbol.iterator] = saved;
    }
  })()`), '2,2');
});

test('TextDecoder labels', () => {
  assert.deepEqual(json(`['utf-8', 'utf8', 'unicode-1-1-utf-8', '  UTF-8\\n', 'UTF-16', 'utf-16le', 'utf-16be',
    'latin1', 'iso-8859-1', 'windows-1252', 'ascii', undefined].map((l) => new TextDecoder(l).encoding)`),
  ['utf-8', 'utf-8', 'utf-8', 'utf-8', 'utf-16le', 'utf-16le', 'utf-16be', 'windows-1252', 'windows-1252',
    'windows-1252', 'windows-1252', 'utf-8']);
  for (const label of ['utf-9', 'replacement', 'shift_jis', '']) {
    assert.throws(() => run(`new TextDecoder('${label}')`), { name: 'RangeError' }, label);
  }
  assert.deepEqual(json(`(() => { const d = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); return [d.fatal, d.ignoreBOM]; })()`), [true, true]);
});

test('UTF-8: BOM handling and replacement characters', () => {
  assert.equal(run(`new TextDecoder().decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41]))`), 'A');
  assert.equal(run(`new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x41]))`), '\uFEFFA');
  // Only a BOM at the very start is removed.
  assert.equal(run(`new TextDecoder().decode(new Uint8Array([0x41, 0xEF, 0xBB, 0xBF]))`), 'A\uFEFF');
  assert.equal(run(`new TextDecoder().decode(new Uint8Array([0x61, 0xFF, 0xC3, 0x62, 0xE2, 0x82]))`), 'a\uFFFD\uFFFDb\uFFFD');
  assert.equal(run(`new TextDecoder().decode()`), '');
  assert.equal(run(`new TextDecoder().decode(new Uint8Array([0x68, 0x69]).buffer)`), 'hi');
  assert.equal(run(`new TextDecoder().decode(new DataView(new Uint8Array([0, 0x68, 0x69]).buffer, 1))`), 'hi');
  assert.throws(() => run(`new TextDecoder().decode('text')`), { name: 'TypeError' });
  assert.throws(() => run(`new TextDecoder().decode([1, 2])`), { name: 'TypeError' });
});

test('UTF-8: fatal mode throws a TypeError', () => {
  for (const bytes of ['[0xFF]', '[0xC3]', '[0xED, 0xA0, 0x80]', '[0xF8, 0x88, 0x80, 0x80, 0x80]', '[0xC0, 0x80]']) {
    assert.throws(() => run(`new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(${bytes}))`),
      { name: 'TypeError', message: 'Failed to decode input.' }, bytes);
  }
  assert.equal(run(`new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xC3, 0xA9]))`), '\u00e9');
});

test('UTF-8: streaming keeps sequences split across chunks', () => {
  assert.equal(run(`(() => {
    const d = new TextDecoder();
    const bytes = new TextEncoder().encode('\\uFEFFa\\u20ac\\u{1F600}z');
    let out = '';
    for (const b of bytes) out += d.decode(new Uint8Array([b]), { stream: true });
    return out + d.decode();
  })()`), 'a\u20ac\u{1F600}z');
  // An incomplete sequence at the end of the stream becomes U+FFFD, or an error in fatal mode.
  assert.equal(run(`(() => { const d = new TextDecoder(); return d.decode(new Uint8Array([0x61, 0xE2, 0x82]), { stream: true }) + '|' + d.decode(); })()`), 'a|\uFFFD');
  assert.throws(() => run(`(() => { const d = new TextDecoder('utf-8', { fatal: true }); d.decode(new Uint8Array([0xE2]), { stream: true }); return d.decode(); })()`), { name: 'TypeError' });
  // Invalid bytes are not held back.
  assert.equal(run(`new TextDecoder().decode(new Uint8Array([0x61, 0xE0, 0x80]), { stream: true })`), 'a\uFFFD\uFFFD');
  // The decoder starts afresh after a call without stream.
  assert.equal(run(`(() => { const d = new TextDecoder(); d.decode(new Uint8Array([0x41])); return d.decode(new Uint8Array([0xEF, 0xBB, 0xBF, 0x42])); })()`), 'B');
});

test('UTF-16 decoding', () => {
  assert.equal(run(`new TextDecoder('utf-16le').decode(new Uint8Array([0xFF, 0xFE, 0x41, 0x00, 0x3D, 0xD8, 0x00, 0xDE]))`), 'A\u{1F600}');
  assert.equal(run(`new TextDecoder('utf-16be').decode(new Uint8Array([0xFE, 0xFF, 0x00, 0x41, 0xD8, 0x3D, 0xDE, 0x00]))`), 'A\u{1F600}');
  assert.equal(run(`new TextDecoder('utf-16le').decode(new Uint8Array([0x41, 0x00, 0x42]))`), 'A\uFFFD');
  assert.equal(run(`new TextDecoder('utf-16le').decode(new Uint8Array([0x00, 0xDC, 0x41, 0x00]))`), '\uFFFDA');
  assert.throws(() => run(`new TextDecoder('utf-16le', { fatal: true }).decode(new Uint8Array([0x00, 0xD8]))`), { name: 'TypeError' });
  assert.equal(run(`(() => {
    const d = new TextDecoder('utf-16le');
    const parts = [[0x3D], [0xD8, 0x00], [0xDE, 0x41], [0x00]];
    return parts.map((p) => d.decode(new Uint8Array(p), { stream: true })).join('') + d.decode();
  })()`), '\u{1F600}A');
});

test('windows-1252 (latin1) decoding', () => {
  assert.equal(run(`new TextDecoder('latin1').decode(new Uint8Array([0x41, 0xE9, 0x80, 0x9F, 0x81, 0xFF]))`),
    'A\u00e9\u20ac\u0178\u0081\u00ff');
  assert.equal(run(`new TextDecoder('ascii', { fatal: true }).decode(new Uint8Array([0x80]))`), '\u20ac');
  // Every byte outside 0x80-0x9F decodes to the code point of the same value.
  const decoded = run(`new TextDecoder('windows-1252').decode(new Uint8Array(256).map((_, i) => i))`);
  assert.equal(decoded.length, 256);
  for (let i = 0; i < 256; i++) {
    if (i < 0x80 || i > 0x9F) assert.equal(decoded.charCodeAt(i), i);
  }
  assert.equal(decoded.slice(0x80, 0xA0),
    '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f'
    + '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178');
});
