'use strict';

// URLPattern, checked against workerd's standard implementation's answers to the same calls.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createRuntime } = require('./harness.js');

const rt = createRuntime();
const run = async (code) => JSON.parse(await rt.run(`(async () => {
  try { return JSON.stringify(await (async () => ${code})()); }
  catch (e) { return JSON.stringify({ error: e.constructor.name, message: e.message }); }
})()`));

test('a dictionary pattern matches, and exec() gives the groups of each component', async () => {
  assert.deepEqual(await run(`(() => {
    const p = new URLPattern({ pathname: '/books/:id' });
    return [p.test('https://x.com/books/12'), p.exec('https://x.com/books/12').pathname, p.pathname, p.protocol,
      p.hostname, p.hasRegExpGroups, p.test('https://x.com/authors/12')];
  })()`), [true, { input: '/books/12', groups: { id: '12' } }, '/books/:id', '*', '*', false, false]);
});

test('a string pattern with a base URL, and the whole exec() result', async () => {
  assert.deepEqual(await run(`(() => {
    const p = new URLPattern('/a/:b', 'https://example.com');
    return [p.protocol, p.hostname, p.pathname, p.search, p.hash, p.exec('https://example.com/a/c?x')];
  })()`), ['https', 'example.com', '/a/:b', '*', '*', {
    inputs: ['https://example.com/a/c?x'],
    protocol: { input: 'https', groups: {} },
    username: { input: '', groups: { 0: '' } },
    password: { input: '', groups: { 0: '' } },
    hostname: { input: 'example.com', groups: {} },
    port: { input: '', groups: {} },
    pathname: { input: '/a/c', groups: { b: 'c' } },
    search: { input: 'x', groups: { 0: 'x' } },
    hash: { input: '', groups: { 0: '' } },
  }]);
  // In a string, '?' after a named group is the optional modifier, not the start of the search.
  assert.deepEqual(await run(`(() => { const p = new URLPattern('https://example.com/:a?q=:b#:c');
    return [p.protocol, p.hostname, p.pathname, p.search, p.hash, p.port, p.username]; })()`),
  ['https', 'example.com', '/:a?q=:b', '', ':c', '', '*']);
});

test('regular expression groups, optional groups, wildcards and base URLs in dictionaries', async () => {
  assert.deepEqual(await run(`(() => {
    const p = new URLPattern({ pathname: '/(\\\\d+)' });
    const full = new URLPattern({ hostname: '{:sub.}?example.com', pathname: '/users/:id(\\\\d+)/:rest*' });
    const based = new URLPattern({ pathname: '/x/*', baseURL: 'https://ex.com/a/b' });
    return [p.hasRegExpGroups, p.test({ pathname: '/12' }), p.test({ pathname: '/ab' }),
      full.exec({ hostname: 'api.example.com', pathname: '/users/7/a/b' }).pathname.groups,
      full.exec({ hostname: 'example.com', pathname: '/users/7' }).hostname.groups,
      new URLPattern({ pathname: '/a/:b?' }).exec({ pathname: '/a' }).pathname,
      [based.protocol, based.hostname, based.pathname, based.test('https://ex.com/x/y')],
      new URLPattern({ pathname: '/x/:y' }).exec('/x/1', 'https://a').inputs];
  })()`), [true, true, false, { id: '7', rest: 'a/b' }, {}, { input: '/a', groups: {} },
    ['https', 'ex.com', '/x/*', true], ['/x/1', 'https://a']]);
});

test('ignoreCase, as the second or the third argument', async () => {
  assert.deepEqual(await run(`[new URLPattern({ pathname: '/A' }, { ignoreCase: true }).test({ pathname: '/a' }),
    new URLPattern({ pathname: '/A' }).test({ pathname: '/a' }),
    new URLPattern('/A', 'https://x', { ignoreCase: true }).test('https://x/a')]`), [true, false, true]);
});

test('no input, null and an unparseable URL to test', async () => {
  assert.deepEqual(await run(`[new URLPattern().pathname, new URLPattern().test('https://a/b'), new URLPattern(null).pathname,
    new URLPattern({}, null).pathname, new URLPattern({ pathname: '/a' }).test('not a url'),
    new URLPattern({ pathname: '/a' }).exec('https://x/b'), new URLPattern({ pathname: '/a' }).test('/a', 'https://x')]`),
  ['*', true, '*', '*', false, null, true]);
});

test("every failure is workerd's TypeError for the operation", async () => {
  const construct = { error: 'TypeError', message: 'Failed to construct URLPattern' };
  for (const code of [
    `new URLPattern({ pathname: '/(' })`, `new URLPattern({ pathname: '/([)' })`, `new URLPattern('/a')`,
    `new URLPattern(5)`, `new URLPattern({ pathname: '/a' }, 'https://x')`, `new URLPattern('/a', 'not a url')`,
    `new URLPattern({ protocol: 'ht tp' })`,
  ]) {
    assert.deepEqual(await run(code), construct, code);
  }
  assert.deepEqual(await run(`new URLPattern({ pathname: '/a' }).test({ pathname: '/a' }, 'https://x')`), {
    error: 'TypeError', message: 'Failed to test URLPattern',
  });
  assert.deepEqual(await run(`new URLPattern({ pathname: '/a' }).exec({ pathname: '/a' }, 'https://x')`), {
    error: 'TypeError', message: 'Failed to exec URLPattern',
  });
});

test('the interface has the component getters, hasRegExpGroups, test and exec', async () => {
  assert.deepEqual(await run(`[Object.getOwnPropertyNames(URLPattern.prototype).filter((k) => k !== 'constructor'),
    URLPattern.length, Object.prototype.toString.call(new URLPattern())]`), [
    ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash', 'hasRegExpGroups', 'test', 'exec'],
    0, '[object URLPattern]',
  ]);
});

test('a replaced global URL or RegExp does not change how patterns work', async () => {
  assert.deepEqual(await run(`(() => {
    const saved = [globalThis.URL, globalThis.RegExp];
    globalThis.URL = function () { throw new Error('replaced'); };
    globalThis.RegExp = function () { throw new Error('replaced'); };
    try {
      const p = new URLPattern({ hostname: 'EXAMPLE.com', pathname: '/:id(\\\\d+)' });
      return [p.hostname, p.test('https://example.com/12'), typeof globalThis.URL === 'function' && globalThis.URL !== saved[0]];
    } finally {
      [globalThis.URL, globalThis.RegExp] = saved;
    }
  })()`), ['example.com', true, true]);
});

test('console.log shows the components and hasRegExpGroups, as workerd does', () => {
  rt.logs.length = 0;
  rt.run(`console.log(new URLPattern({ pathname: '/a' }))`);
  assert.deepEqual(rt.messages(), [[
    'URLPattern {', "  protocol: '*',", "  username: '*',", "  password: '*',", "  hostname: '*',", "  port: '*',",
    "  pathname: '/a',", "  search: '*',", "  hash: '*',", '  hasRegExpGroups: false', '}',
  ].join('\n')]);
});
