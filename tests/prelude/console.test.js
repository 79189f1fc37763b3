'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();

// Runs `code` and returns what it logged, as [level, message] pairs.
function logged(code) {
  rt.logs.length = 0;
  rt.run(code);
  return rt.logs.map((entry) => [entry.level, entry.message]);
}

function message(code) {
  const entries = logged(code);
  assert.equal(entries.length, 1, `one message from ${code}`);
  return entries[0][1];
}

test('each method logs one string at its level', () => {
  assert.deepEqual(logged(`
    console.log('l'); console.info('i'); console.warn('w'); console.error('e'); console.debug('d');
  `), [['log', 'l'], ['info', 'i'], ['warn', 'w'], ['error', 'e'], ['debug', 'd']]);
  assert.deepEqual(logged(`const { log } = console; log('detached');`), [['log', 'detached']]);
  assert.equal(message(`console.log()`), '');
});

test('strings are raw at the top level, other values are inspected', () => {
  assert.equal(message(`console.log('a', 'b c', 1, -0, 2n, true, null, undefined, Symbol('s'))`),
    'a b c 1 -0 2n true null undefined Symbol(s)');
  assert.equal(message(`console.log(['a', "it's"], { k: 'v' })`), `[ 'a', "it's" ] { k: 'v' }`);
  assert.equal(message(`console.log(1, 'x')`), '1 x');
});

test('objects, arrays and collections are inspected like Node', () => {
  const cases = [
    [`{ a: 1, b: 'x', c: [1, 2, { d: { e: { f: 1 } } }] }`, `{ a: 1, b: 'x', c: [ 1, 2, { d: [Object] } ] }`],
    [`{ 'a-b': 1, ok_1: 2, [Symbol('s')]: 3 }`, `{ 'a-b': 1, ok_1: 2, [Symbol(s)]: 3 }`],
    [`[1, , , 4]`, `[ 1, <2 empty items>, 4 ]`],
    [`[]`, `[]`],
    [`{}`, `{}`],
    [`Object.create(null)`, `[Object: null prototype] {}`],
    [`new Map([['k', { v: 1 }]])`, `Map(1) { 'k' => { v: 1 } }`],
    [`new Set(['a', 1])`, `Set(2) { 'a', 1 }`],
    [`new Uint8Array([1, 2, 3])`, `Uint8Array(3) [ 1, 2, 3 ]`],
    [`new ArrayBuffer(2)`, `ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }`],
    [`new (class Point { constructor() { this.x = 1; } })()`, `Point { x: 1 }`],
    [`new Date(0)`, `1970-01-01T00:00:00.000Z`],
    [`/re/g`, `/re/g`],
    [`function named() {}`, `[Function: named]`],
    [`class Base {}`, `[class Base]`],
    [`async () => {}`, `[AsyncFunction (anonymous)]`],
    [`{ get g() { return 1; }, set s(v) {} }`, `{ g: [Getter], s: [Setter] }`],
    [`new Number(3)`, `[Number: 3]`],
    [`'quote\\'s "both"'`, `quote's "both"`],
    [`['quote\\'s "both"', 'line\\nbreak']`, '[ `quote\'s "both"`, \'line\\nbreak\' ]'],
  ];
  for (const [expression, expected] of cases) {
    assert.equal(message(`console.log(${expression})`), expected, expression);
  }
});

test('circular references and depth', () => {
  assert.equal(message(`const o = { name: 'o' }; o.self = o; o.list = [o]; console.log(o)`),
    `<ref *1> { name: 'o', self: [Circular *1], list: [ [Circular *1] ] }`);
  assert.equal(message(`console.log([[[[1]]]])`), `[ [ [ [Array] ] ] ]`);
  assert.equal(message(`console.dir({ a: { b: { c: { d: 1 } } } }, { depth: 0 })`), `{ a: [Object] }`);
  assert.equal(message(`console.dir({ a: { b: { c: { d: 1 } } } }, { depth: null })`),
    `{\n  a: { b: { c: { d: 1 } } }\n}`);
});

test('long output breaks over lines', () => {
  assert.equal(message(`console.log({ alpha: 'a'.repeat(30), beta: 'b'.repeat(30), gamma: 1 })`),
    `{\n  alpha: '${'a'.repeat(30)}',\n  beta: '${'b'.repeat(30)}',\n  gamma: 1\n}`);
  assert.equal(message(`console.log(Array.from({ length: 120 }, (_, i) => i))`).split('\n').at(-2),
    '  ... 20 more items');
});

test('errors print their stack', () => {
  const text = message(`console.log(new TypeError('boom'))`);
  assert.match(text, /^TypeError: boom\n {4}at /);
  const withCode = message(`console.error(Object.assign(new Error('coded'), { code: 'E_X' }))`);
  assert.match(withCode, /^Error: coded\n {4}at [^]*\{\n {2}code: 'E_X'\n\}$/);
  const nested = message(`console.log({ e: new RangeError('inner') })`);
  assert.match(nested, /^\{\n {2}e: RangeError: inner\n {6}at /);
  assert.equal(message(`const e = new Error('bare'); e.stack = undefined; console.log(e)`), '[Error: bare]');
  assert.match(message(`console.log(new DOMException('gone', 'NotFoundError'))`), /^NotFoundError: gone\n {4}at /);
});

test('format directives', () => {
  const cases = [
    [`'%s is %d', 'Bob', 42`, 'Bob is 42'],
    [`'%s', { a: 1 }`, `{ a: 1 }`],
    [`'%s', { toString() { return 'custom'; } }`, 'custom'],
    [`'%s|%s|%s', 1n, -0, null`, '1n|-0|null'],
    [`'%d %d %d', '42', 1n, {}`, '42 1n NaN'],
    [`'%i %i', 42.9, '0x10'`, '42 16'],
    [`'%f', '1.5e3'`, '1500'],
    [`'%j', { a: [1] }`, '{"a":[1]}'],
    [`'%j', (() => { const c = {}; c.c = c; return c; })()`, '[Circular]'],
    [`'%o', [1]`, '[ 1 ]'],
    [`'%O', { deep: { a: { b: { c: 1 } } } }`, '{ deep: { a: { b: [Object] } } }'],
    [`'%c styled', 'color: red'`, ' styled'],
    [`'100%% %s', 'sure'`, '100% sure'],
    [`'100%%'`, '100%%'],
    [`'%s and %s', 'one'`, 'one and %s'],
    [`'%x %s', 'y'`, '%x y'],
    [`'extra', 'args', { n: 1 }`, `extra args { n: 1 }`],
    [`'%s', 'a', 'b'`, 'a b'],
  ];
  for (const [args, expected] of cases) {
    assert.equal(message(`console.log(${args})`), expected, args);
  }
});

test('groups indent every line', () => {
  assert.deepEqual(logged(`
    console.group('outer');
    console.log('a\\nb');
    console.group();
    console.warn('deep');
    console.groupEnd();
    console.groupEnd();
    console.log('back');
  `), [['log', 'outer'], ['log', '  a\n  b'], ['warn', '    deep'], ['log', 'back']]);
});

test('assert, count, trace', () => {
  assert.deepEqual(logged(`
    console.assert(true, 'never');
    console.assert(false, 'value %d', 3);
    console.assert(false);
    console.assert(0, { a: 1 });
  `), [['warn', 'Assertion failed: value 3'], ['warn', 'Assertion failed'], ['warn', 'Assertion failed { a: 1 }']]);
  assert.deepEqual(logged(`
    console.count(); console.count(); console.count('x'); console.countReset(); console.count();
  `), [['log', 'default: 1'], ['log', 'default: 2'], ['log', 'x: 1'], ['log', 'default: 1']]);
  const trace = message(`(function here() { console.trace('at %s', 'point'); })()`);
  assert.match(trace, /^Trace: at point\n {4}at here /);
});

test('table', () => {
  assert.equal(message(`console.table([{ a: 1, b: 'Y' }, { a: 'Z', c: true }])`), [
    '┌─────────┬─────┬─────┬──────┐',
    '│ (index) │ a   │ b   │ c    │',
    '├─────────┼─────┼─────┼──────┤',
    "│ 0       │ 1   │ 'Y' │      │",
    "│ 1       │ 'Z' │     │ true │",
    '└─────────┴─────┴─────┴──────┘',
  ].join('\n'));
  assert.equal(message(`console.table({ x: 1, y: 'two' })`), [
    '┌─────────┬────────┐',
    '│ (index) │ Values │',
    '├─────────┼────────┤',
    '│ x       │ 1      │',
    "│ y       │ 'two'  │",
    '└─────────┴────────┘',
  ].join('\n'));
  assert.equal(message(`console.table('just text')`), 'just text');
});

test('custom inspection hooks are honoured', () => {
  assert.equal(message(`console.log({ [Symbol.for('nodejs.util.inspect.custom')]() { return 'CUSTOM'; } })`), 'CUSTOM');
  assert.match(message(`console.log(new Response('x', { status: 201 }))`), /^Response \{\n {2}status: 201,/);
  assert.equal(message(`console.log(new Request('https://a.example/'))`).split('\n')[0], 'Request {');
});
