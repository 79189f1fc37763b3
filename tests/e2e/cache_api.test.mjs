// The Cache API (caches.default, caches.open): what is stored and for how long (Cache-Control,
// Set-Cookie, default times to live by status), matches with cf-cache-status: HIT, deletes,
// named caches kept apart, apps kept apart, entries shared by the server's threads, and
// workerd's errors for what cannot be cached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('cache_api.js'), { name: 'cache-api', app: 'one' });
  await server.deploy(fixture('cache_api.js'), { name: 'cache-api', app: 'two' });
});

after(async () => {
  await server?.stop();
});

async function call(app, id, action, params = {}) {
  const query = new URLSearchParams(params).toString();
  const res = await server.request(`/_do/cache-api/${id}/${action}?${query}`, {
    headers: { host: `${app}.localhost:${server.port}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json();
}

test('a stored response matches with its status, headers and body, from any object and thread', async () => {
  const key = 'https://example.com/stored';
  assert.deepEqual(await call('one', 'a', 'put', { key, cc: 'max-age=60' }), { value: 'undefined' });
  // Objects a..h spread over both threads: the cache is the server's, not a thread's.
  for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) {
    const found = await call('one', id, 'match', { key });
    assert.equal(found.found, true, id);
    assert.equal(found.status, 200);
    assert.equal(found.body, 'cached body');
    assert.equal(found.headers['x-stored'], 'yes');
    assert.equal(found.headers['cf-cache-status'], 'HIT');
  }
  // Another app has its own cache; a named cache is apart from the default one.
  assert.deepEqual(await call('two', 'a', 'match', { key }), { found: false });
  assert.deepEqual(await call('one', 'a', 'match', { key, name: 'other' }), { found: false });
  // Non-GET requests match only with ignoreMethod.
  assert.deepEqual(await call('one', 'a', 'match', { key, post: '1' }), { found: false });
  assert.equal((await call('one', 'a', 'match', { key, post: '1', ignoreMethod: '1' })).found, true);
  assert.deepEqual(await call('one', 'a', 'delete', { key }), { deleted: true });
  assert.deepEqual(await call('one', 'a', 'delete', { key }), { deleted: false });
  assert.deepEqual(await call('one', 'a', 'match', { key }), { found: false });
});

test('Cache-Control, Expires, Set-Cookie and the status decide what is kept and for how long', async () => {
  const stored = async (params) => {
    const key = `https://example.com/${encodeURIComponent(JSON.stringify(params))}`;
    await call('one', 'a', 'put', { key, ...params });
    return (await call('one', 'a', 'match', { key })).found;
  };
  assert.equal(await stored({ cc: 'no-store' }), false);
  assert.equal(await stored({ cc: 'private' }), false);
  assert.equal(await stored({ cc: 'no-cache' }), false);
  assert.equal(await stored({ cc: 'max-age=60', cookie: '1' }), false);
  assert.equal(await stored({ cc: 'public, s-maxage=60, max-age=0' }), true);
  assert.equal(await stored({}), true, 'a 200 without directives gets the default time to live');
  assert.equal(await stored({ status: '404' }), true);
  assert.equal(await stored({ status: '500' }), false, 'a 500 without directives is not kept');
  assert.equal(await stored({ status: '500', cc: 'max-age=60' }), true);
  // A max-age past what int64 milliseconds hold (the native's conversion was undefined behaviour,
  // which ended the sanitized server) or past a double's range is kept for good.
  assert.equal(await stored({ cc: `max-age=${'9'.repeat(25)}` }), true);
  assert.equal(await stored({ cc: `max-age=${'9'.repeat(400)}` }), true);
  // An entry goes when its time is up.
  const key = 'https://example.com/short';
  await call('one', 'a', 'put', { key, cc: 'max-age=1' });
  assert.equal((await call('one', 'a', 'match', { key })).found, true);
  await sleep(1300);
  assert.deepEqual(await call('one', 'a', 'match', { key }), { found: false });
});

test("what cannot be cached fails with workerd's errors", async () => {
  const got = await call('one', 'a', 'errors');
  const type = (message) => ({ threw: { name: 'TypeError', message } });
  assert.deepEqual(got.post, type('Cannot cache response to non-GET request.'));
  assert.deepEqual(got.partial, type('Cannot cache response to a range request (206 Partial Content).'));
  assert.deepEqual(got.varyStar, type("Cannot cache response with 'Vary: *' header."));
  assert.deepEqual(got.error, type('Cache is unable to store an error response'));
  assert.deepEqual(got.relative, type('Invalid URL: /relative'));
  assert.deepEqual(got.notResponse, type("Failed to execute 'put' on 'Cache': parameter 2 is not of type 'Response'."));
  assert.deepEqual(got.longName, type('Cache name is too long.'));
  assert.deepEqual(got.add, { threw: { name: 'Error', message: "Failed to execute 'add' on 'Cache': the method is not implemented." } });
  assert.deepEqual(got.construct, type('Illegal constructor'));
  assert.equal(got.used.threw.name, 'TypeError');
  assert.match(got.used.threw.message, /^Body has already been used/);
  assert.deepEqual(got.types, ['[object CacheStorage]', '[object Cache]', 'function']);
});
