// Routing of /_do/<name>/<instance-id>[/<rest>]: what the object's fetch sees, the instance id
// (one percent-decoded path segment of 1 to 1024 bytes), isolation between ids, and ctx.id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, assertServerError } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('echo.js'));
  await server.deploy(fixture('echo.js'), { name: 'echo-b' });
});

after(async () => {
  await server?.stop();
});

test('fetch sees http://<host>/<rest>?<query>, method, headers and body', async () => {
  const seen = await server.json('/_do/echo/inst/foo/bar?x=1&y=2', { headers: { 'x-echo': 'hello' } });
  assert.equal(seen.url, `http://127.0.0.1:${server.port}/foo/bar?x=1&y=2`);
  assert.equal(seen.host, `127.0.0.1:${server.port}`);
  assert.equal(seen.pathname, '/foo/bar');
  assert.equal(seen.search, '?x=1&y=2');
  assert.equal(seen.method, 'GET');
  assert.equal(seen.xEcho, 'hello');

  const posted = await server.json('/_do/echo/inst/submit', { method: 'POST', body: 'hello body' });
  assert.equal(posted.method, 'POST');
  assert.equal(posted.body, 'hello body');
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    assert.equal((await server.json('/_do/echo/inst/m', { method, body: 'b' })).method, method);
  }
});

test('nothing after the instance id → path "/"', async () => {
  const origin = `http://127.0.0.1:${server.port}`;
  const bare = await server.json('/_do/echo/inst');
  assert.equal(bare.pathname, '/');
  assert.equal(bare.url, `${origin}/`);
  const withQuery = await server.json('/_do/echo/inst?q=1');
  assert.equal(withQuery.url, `${origin}/?q=1`);
  const trailingSlash = await server.json('/_do/echo/inst/');
  assert.equal(trailingSlash.pathname, '/');
});

test('the original path is in x-dorm-original-path', async () => {
  const seen = await server.json('/_do/echo/inst/foo/bar?x=1');
  assert.equal(typeof seen.originalPath, 'string', 'x-dorm-original-path should be set');
  // Whether the query is part of the "path" is not fixed by the contract; the path part is.
  assert.equal(seen.originalPath.split('?')[0], '/_do/echo/inst/foo/bar');
  const bare = await server.json('/_do/echo/inst');
  assert.equal(bare.originalPath, '/_do/echo/inst');
});

test('the rest of the path and the query are passed on as sent; the original path is raw', async () => {
  const origin = `http://127.0.0.1:${server.port}`;
  const seen = await server.json('/_do/echo/a%20b/x/a%2Fb%20c?q=a%26b&flag');
  assert.equal(seen.id.name, 'a b');
  // Only the instance id is decoded: an encoded slash in the rest must not become a separator.
  assert.equal(seen.url, `${origin}/x/a%2Fb%20c?q=a%26b&flag`);
  assert.equal(seen.pathname, '/x/a%2Fb%20c');
  assert.equal(seen.search, '?q=a%26b&flag');
  assert.equal(seen.originalPath.split('?')[0], '/_do/echo/a%20b/x/a%2Fb%20c');
});

test('the instance id is one percent-decoded path segment', async () => {
  const spaced = await server.json('/_do/echo/a%20b/x');
  assert.equal(spaced.id.name, 'a b');
  assert.equal(spaced.pathname, '/x');
  const slashed = await server.json('/_do/echo/a%2Fb/x/y');
  assert.equal(slashed.id.name, 'a/b');
  assert.equal(slashed.pathname, '/x/y');
  assert.equal((await server.json('/_do/echo/caf%C3%A9')).id.name, 'café');

  // "abc" and "%61bc" decode to the same id, hence the same object.
  await server.json('/_do/echo/abc?op=put&k=k&v=same-object');
  assert.deepEqual(await server.json('/_do/echo/%61bc?op=get&k=k'), { value: 'same-object' });
  assert.equal((await server.json('/_do/echo/%61bc')).id.hex, (await server.json('/_do/echo/abc')).id.hex);
});

test('instance ids of 1 to 1024 bytes are accepted, 1025 bytes are refused', async () => {
  assert.equal((await server.json('/_do/echo/z')).id.name, 'z');
  const max = 'a'.repeat(1024);
  assert.equal((await server.json(`/_do/echo/${max}/x`)).id.name, max);
  assertServerError(assert, await server.request(`/_do/echo/${'a'.repeat(1025)}/x`), [400, 404]);

  // The limit is in bytes of the decoded id: "é" is 2 bytes in UTF-8.
  const twoByte = 'é'.repeat(512);
  assert.equal((await server.json(`/_do/echo/${encodeURIComponent(twoByte)}`)).id.name, twoByte);
  assertServerError(assert, await server.request(`/_do/echo/${encodeURIComponent('é'.repeat(513))}`), [400, 404]);
});

test('an empty instance id is an error', async () => {
  assertServerError(assert, await server.request('/_do/echo/'), [400, 404]);
  assertServerError(assert, await server.request('/_do/echo//x'), [400, 404]);
  assertServerError(assert, await server.request('/_do/echo'), [400, 404]);
});

test('different instance ids are isolated (storage and memory)', async () => {
  await server.json('/_do/echo/iso-1?op=put&k=k&v=one');
  assert.deepEqual(await server.json('/_do/echo/iso-2?op=get&k=k'), { value: null });
  assert.deepEqual(await server.json('/_do/echo/iso-1?op=get&k=k'), { value: 'one' });

  for (let i = 1; i <= 3; i++) assert.equal((await server.json('/_do/echo/iso-3/x')).hits, i);
  assert.equal((await server.json('/_do/echo/iso-4/x')).hits, 1);
  // Same instance id under another class is another object.
  assert.deepEqual(await server.json('/_do/echo-b/iso-1?op=get&k=k'), { value: null });
});

test('ctx.id: 64 hex digits, deterministic per class and instance id, name and equals', async () => {
  const a = (await server.json('/_do/echo/id-a')).id;
  assert.match(a.hex, /^[0-9a-f]{64}$/);
  assert.equal(a.name, 'id-a');
  assert.equal(a.equalsSelf, true);
  assert.equal((await server.json('/_do/echo/id-a/other/path')).id.hex, a.hex);
  const b = (await server.json('/_do/echo/id-b')).id;
  assert.match(b.hex, /^[0-9a-f]{64}$/);
  assert.notEqual(b.hex, a.hex, 'different instance ids must have different ids');
  const otherClass = (await server.json('/_do/echo-b/id-a')).id;
  assert.match(otherClass.hex, /^[0-9a-f]{64}$/);
  assert.notEqual(otherClass.hex, a.hex, 'the same instance id in another class must have another id');
});

test('ctx.id is the same after a restart', async () => {
  const hexBefore = (await server.json('/_do/echo/stable')).id.hex;
  const hexBeforeB = (await server.json('/_do/echo-b/stable')).id.hex;
  await server.stop();
  server = await server.restart();
  assert.equal((await server.json('/_do/echo/stable')).id.hex, hexBefore);
  assert.equal((await server.json('/_do/echo-b/stable')).id.hex, hexBeforeB);
});
