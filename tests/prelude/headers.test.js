'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
const json = (code) => JSON.parse(rt.run(`JSON.stringify(${code})`));

test('names are lowercased, iteration is sorted and combines repeated names', () => {
  const entries = json(`(() => {
    const h = new Headers({ 'X-B': '2', 'x-a': '1' });
    h.append('X-A', 'again');
    h.append('Content-Type', 'text/plain');
    return [...h];
  })()`);
  assert.deepEqual(entries, [
    ['content-type', 'text/plain'],
    ['x-a', '1, again'],
    ['x-b', '2'],
  ]);
});

test('set-cookie values are never combined when iterating', () => {
  const result = json(`(() => {
    const h = new Headers();
    h.append('Set-Cookie', 'a=1');
    h.append('b', 'x');
    h.append('set-cookie', 'b=2');
    return { entries: [...h], get: h.get('set-cookie'), list: h.getSetCookie(), all: h.getAll('Set-Cookie') };
  })()`);
  assert.deepEqual(result.entries, [['b', 'x'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
  assert.equal(result.get, 'a=1, b=2');
  assert.deepEqual(result.list, ['a=1', 'b=2']);
  assert.deepEqual(result.all, ['a=1', 'b=2']);
  assert.throws(() => run(`new Headers().getAll('x')`), { name: 'TypeError' });
});

test('get, has, set and delete are case-insensitive', () => {
  const result = json(`(() => {
    const h = new Headers([['Accept', 'a'], ['accept', 'b'], ['Other', 'o']]);
    const before = h.get('ACCEPT');
    h.set('aCCept', 'c');
    const after = [...h];
    h.delete('OTHER');
    return { before, after, missing: h.get('nope'), has: h.has('Accept'), gone: h.has('other') };
  })()`);
  assert.equal(result.before, 'a, b');
  assert.deepEqual(result.after, [['accept', 'c'], ['other', 'o']]);
  assert.equal(result.missing, null);
  assert.equal(result.has, true);
  assert.equal(result.gone, false);
});

test('set replaces the first occurrence in place and drops the others', () => {
  const result = json(`(() => {
    const h = new Headers([['a', '1'], ['b', '2'], ['a', '3']]);
    h.set('a', 'new');
    h.append('c', '4');
    return [...h.keys()].concat([...h.values()]);
  })()`);
  assert.deepEqual(result, ['a', 'b', 'c', 'new', '2', '4']);
});

test('values are trimmed of HTTP whitespace', () => {
  assert.equal(run(`new Headers({ a: ' \\t value \\r\\n' }).get('a')`), 'value');
  assert.equal(run(`new Headers({ a: 'in  side' }).get('a')`), 'in  side');
});

test('invalid names and values are TypeErrors', () => {
  for (const code of [
    `new Headers({ 'bad name': 'x' })`,
    `new Headers({ 'a:b': 'x' })`,
    `new Headers({ a: 'line\\nbreak' })`,
    `new Headers({ a: 'nul\\0' })`,
    `new Headers({ a: 'caf\\u20ac' })`,
    `new Headers().get('bad name')`,
    `new Headers().delete('a b')`,
    `new Headers().append('a')`,
    `new Headers().set('a\\u0100', 'x')`,
  ]) {
    assert.throws(() => run(code), { name: 'TypeError' }, code);
  }
  // Latin-1 characters are valid ByteString values.
  assert.equal(run(`new Headers({ a: 'caf\\u00e9' }).get('a')`), 'caf\u00e9');
});

test('the empty name is taken, as workerd takes it', () => {
  assert.deepEqual(json(`[...new Headers({ '': 'x' })]`), [['', 'x']]);
  assert.deepEqual(json(`(() => { const h = new Headers(); h.append('', 'a'); h.set('', 'b');
    return [h.get(''), h.has(''), [...h]]; })()`), ['b', true, [['', 'b']]]);
  assert.deepEqual(json(`(() => { const h = new Headers([['', 'x']]); h.delete(''); return [...h]; })()`), []);
});

test('init: sequences must hold pairs; null and primitives are rejected', () => {
  assert.throws(() => run(`new Headers([['a', 'b', 'c']])`), { name: 'TypeError' });
  assert.throws(() => run(`new Headers([['a']])`), { name: 'TypeError' });
  assert.throws(() => run(`new Headers(['ab'])`), { name: 'TypeError' });
  assert.throws(() => run(`new Headers(null)`), { name: 'TypeError' });
  assert.throws(() => run(`new Headers('a: b')`), { name: 'TypeError' });
  assert.deepEqual(json(`[...new Headers(new Headers({ a: '1' }))]`), [['a', '1']]);
  assert.deepEqual(json(`[...new Headers(new Map([['m', 'v']]))]`), [['m', 'v']]);
  assert.deepEqual(json(`[...new Headers()]`), []);
  assert.deepEqual(json(`[...new Headers(undefined)]`), []);
});

test('record init uses own enumerable string keys only', () => {
  const result = json(`(() => {
    const proto = { inherited: 'no' };
    const init = Object.create(proto);
    init.own = 'yes';
    Object.defineProperty(init, 'hidden', { value: 'no', enumerable: false });
    return [...new Headers(init)];
  })()`);
  assert.deepEqual(result, [['own', 'yes']]);
  // As workerd: a Symbol key is left out.
  assert.deepEqual(json(`[...new Headers({ [Symbol('s')]: 'x', a: 'y' })]`), [['a', 'y']]);
});

test('iterators and forEach go over the pairs as they were when they started, as workerd', () => {
  const result = json(`(() => {
    const h = new Headers({ b: '1' });
    const seen = [];
    const it = h.keys();
    seen.push(it.next().value);
    h.append('c', '2');
    seen.push(it.next().done);
    const h2 = new Headers({ a: '1', b: '2', c: '3' });
    for (const [k, v] of h2) {
      seen.push(k + '=' + v);
      if (k === 'a') { h2.delete('b'); h2.set('d', '4'); h2.append('0', 'z'); }
    }
    h2.forEach((v, k) => { seen.push(k); if (k === '0') h2.set('e', '5'); });
    return seen;
  })()`);
  assert.deepEqual(result, ['b', true, 'a=1', 'b=2', 'c=3', '0', 'a', 'c', 'd']);
});

test('forEach passes value, name and the headers object', () => {
  const result = json(`(() => {
    const h = new Headers({ b: '2', a: '1' });
    const calls = [];
    h.forEach(function (value, name, target) { calls.push([value, name, target === h, this.tag]); }, { tag: 't' });
    return calls;
  })()`);
  assert.deepEqual(result, [['1', 'a', true, 't'], ['2', 'b', true, 't']]);
  assert.throws(() => run(`new Headers().forEach(1)`), { name: 'TypeError' });
});

test('WebIDL shape: iterator, class strings, enumerable members, brand checks', () => {
  assert.equal(run(`Headers.prototype[Symbol.iterator] === Headers.prototype.entries`), true);
  assert.equal(run(`Object.prototype.toString.call(new Headers())`), '[object Headers]');
  assert.equal(run(`Object.prototype.toString.call(new Headers().entries())`), '[object Headers Iterator]');
  assert.equal(run(`Object.getPrototypeOf(Object.getPrototypeOf(new Headers().keys())) === Object.getPrototypeOf(Object.getPrototypeOf([].keys()))`), true);
  assert.equal(run(`Object.getOwnPropertyDescriptor(Headers.prototype, 'append').enumerable`), true);
  assert.equal(run(`Headers.length`), 0);
  // workerd's methods declare no argument count.
  assert.equal(run(`Headers.prototype.append.length`), 0);
  assert.throws(() => run(`Headers.prototype.get.call({}, 'a')`), { name: 'TypeError' });
  assert.throws(() => run(`Headers()`), { name: 'TypeError' });
});

test('immutable guard: Response.error(), Response.redirect() and incoming requests', () => {
  for (const code of [
    `Response.error().headers.set('a', 'b')`,
    `Response.redirect('https://example.com/').headers.append('a', 'b')`,
    `Response.redirect('https://example.com/').headers.delete('location')`,
  ]) {
    assert.throws(() => run(code), { name: 'TypeError', message: /immutable/ }, code);
  }
  const incoming = rt.internals.newRequest('GET', 'https://example.com/', ['X-A', '1'], null);
  assert.throws(() => incoming.headers.set('x-a', '2'), { name: 'TypeError', message: /immutable/ });
  assert.equal(incoming.headers.get('x-a'), '1');
  rt.context.incoming = incoming;
  // A new Request made from it has headers of its own that may be changed.
  assert.equal(run(`(() => { const r = new Request(incoming); r.headers.set('x-a', '2'); return r.headers.get('x-a') + incoming.headers.get('x-a'); })()`), '21');
  // Invalid names are still reported as such on immutable headers.
  assert.throws(() => run(`Response.error().headers.delete('bad name')`), { name: 'TypeError', message: /Invalid header name/ });
});

test('console shows headers as a record', () => {
  rt.logs.length = 0;
  run(`console.log(new Headers([['b', '2'], ['a', '1']]))`);
  assert.equal(rt.logs[0].message, "Headers { a: '1', b: '2' }");
});
