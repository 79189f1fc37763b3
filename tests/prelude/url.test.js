'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = (code) => rt.run(code);
const json = (code) => JSON.parse(rt.run(`JSON.stringify(${code})`));

test('URL parses and exposes the components', () => {
  const u = json(`(() => {
    const u = new URL('HTTPS://user:pa ss@EXAMPLE.com:8080/a/./b/../c?x=1&y=%20#frag');
    return { href: u.href, origin: u.origin, protocol: u.protocol, username: u.username, password: u.password,
      host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash,
      y: u.searchParams.get('y'), json: u.toJSON(), string: String(u) };
  })()`);
  assert.deepEqual(u, {
    href: 'https://user:pa%20ss@example.com:8080/a/c?x=1&y=%20#frag',
    origin: 'https://example.com:8080',
    protocol: 'https:',
    username: 'user',
    password: 'pa%20ss',
    host: 'example.com:8080',
    hostname: 'example.com',
    port: '8080',
    pathname: '/a/c',
    search: '?x=1&y=%20',
    hash: '#frag',
    y: ' ',
    json: 'https://user:pa%20ss@example.com:8080/a/c?x=1&y=%20#frag',
    string: 'https://user:pa%20ss@example.com:8080/a/c?x=1&y=%20#frag',
  });
});

test('relative URLs need a base; invalid URLs are TypeErrors', () => {
  assert.equal(run(`new URL('../x?q', 'https://example.com/a/b/c').href`), 'https://example.com/a/x?q');
  assert.throws(() => run(`new URL('/relative')`), { name: 'TypeError' });
  assert.throws(() => run(`new URL('http://exa mple.com')`), { name: 'TypeError' });
  assert.throws(() => run(`new URL()`), { name: 'TypeError' });
  assert.equal(run(`URL.canParse('https://x')`), true);
  assert.equal(run(`URL.canParse('nope')`), false);
  assert.equal(run(`new URL('http://[::1]:80/').host`), '[::1]');
  assert.equal(run(`new URL('http://bücher.example/').hostname`), 'xn--bcher-kva.example');
  assert.equal(run(`new URL('http://0x7f.1/').hostname`), '127.0.0.1');
});

test('setters update the serialisation', () => {
  assert.equal(run(`(() => {
    const u = new URL('https://example.com/');
    u.pathname = '/a b';
    u.searchParams.append('k', 'v w');
    u.hash = 'h';
    u.port = '443';
    return u.href;
  })()`), 'https://example.com/a%20b?k=v+w#h');
});

test('URLSearchParams from strings, records and sequences', () => {
  const result = json(`(() => {
    const fromString = new URLSearchParams('?b=2&a=1&a=3&c=%26&d=+');
    const fromRecord = new URLSearchParams({ z: '1', y: '2' });
    const fromPairs = new URLSearchParams([['p', 'q']]);
    fromString.sort();
    return { sorted: fromString.toString(), all: fromString.getAll('a'), c: fromString.get('c'), d: fromString.get('d'),
      record: [...fromRecord], pairs: fromPairs.toString(), size: fromString.size, has: fromString.has('b', '2') };
  })()`);
  assert.deepEqual(result, {
    sorted: 'a=1&a=3&b=2&c=%26&d=+', all: ['1', '3'], c: '&', d: ' ', record: [['z', '1'], ['y', '2']],
    pairs: 'p=q', size: 5, has: true,
  });
  assert.throws(() => run(`new URLSearchParams([['a']])`), { name: 'TypeError' });
});

// Values recorded from Node's URL, which follows the same WHATWG URL standard.
test('lone surrogates become U+FFFD; an empty query still gives live searchParams', () => {
  const result = json(`(() => {
    const u = new URL('http://h/p\\uD800?q=\\uDC00#\\uD83D\\uDE00');
    const p = new URLSearchParams('x=\\uD800');
    p.append('a\\uD800', 'b\\uDC00\\uD83D\\uDE00');
    const e = new URL('http://h/');
    const before = [e.searchParams.size, e.search];
    e.searchParams.append('k', 'v');
    const appended = e.href;
    e.search = '';
    return { href: u.href, params: p.toString(), before, appended, after: [e.searchParams.size, e.href] };
  })()`);
  assert.deepEqual(result, {
    href: 'http://h/p%EF%BF%BD?q=%EF%BF%BD#%F0%9F%98%80',
    params: 'x=%EF%BF%BD&a%EF%BF%BD=b%EF%BF%BD%F0%9F%98%80',
    before: [0, ''],
    appended: 'http://h/?k=v',
    after: [0, 'http://h/'],
  });
});

test('interface objects are the bundle\'s own', () => {
  assert.equal(run(`typeof URL`), 'function');
  assert.equal(run(`Object.prototype.toString.call(new URL('https://x/'))`), '[object URL]');
  assert.equal(run(`new URL('https://x/').searchParams instanceof URLSearchParams`), true);
  assert.equal(run(`Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), 'URL').enumerable`), true);
});

test('console shows URLs with their components', () => {
  rt.logs.length = 0;
  run(`console.log(new URLSearchParams('a=1&b=2'))`);
  assert.equal(rt.logs[0].message, "URLSearchParams { 'a' => '1', 'b' => '2' }");
  run(`console.log(new URL('https://example.com/p?q=1'))`);
  assert.match(rt.logs[1].message, /^URL \{\n {2}href: 'https:\/\/example\.com\/p\?q=1',\n {2}origin: 'https:\/\/example\.com',/);
});
