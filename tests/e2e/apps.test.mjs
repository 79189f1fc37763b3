// Apps: `--app APP` deploys into an app; a request whose Host is `<app>.localhost` or
// `<app>.<any domain>` reaches that app, any other Host reaches "default". The same class name
// in two apps has separate storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, describeCli, assertServerError } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('echo.js'));
  await server.deploy(fixture('echo.js'), { app: 'alpha' });
  await server.deploy(fixture('echo.js'), { app: 'beta' });
  await server.deploy(fixture('chat_room.js'), { app: 'alpha' });
});

after(async () => {
  await server?.stop();
});

function viaHost(host, reqPath) {
  return server.request(reqPath, { headers: { host } });
}

async function jsonViaHost(host, reqPath) {
  const res = await viaHost(host, reqPath);
  assert.equal(res.status, 200, `${host} ${reqPath}: ${res.status} ${res.text}`);
  return res.json();
}

test('<app>.localhost and <app>.<domain> reach the app; the object sees that host', async () => {
  const port = server.port;
  const seen = await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/h/path?tag=a');
  assert.equal(seen.host, `alpha.localhost:${port}`);
  assert.equal(seen.url, `http://alpha.localhost:${port}/path?tag=a`);

  await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/shared-id?op=put&k=k&v=from-alpha');
  assert.deepEqual(await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
  assert.deepEqual(await jsonViaHost('alpha.localhost', '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
  assert.deepEqual(await jsonViaHost(`alpha.example.com:${port}`, '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
  assert.deepEqual(await jsonViaHost('alpha.example.com', '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
  assert.deepEqual(await jsonViaHost('alpha.dorm.example.co.uk', '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
  // Host names compare case-insensitively.
  assert.deepEqual(await jsonViaHost(`ALPHA.localhost:${port}`, '/_do/echo/shared-id?op=get&k=k'), { value: 'from-alpha' });
});

test('any other Host reaches the default app, with its own storage', async () => {
  const port = server.port;
  await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/iso?op=put&k=k&v=alpha-value');
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', '10.1.2.3', `[::1]:${port}`]) {
    assert.deepEqual(await jsonViaHost(host, '/_do/echo/iso?op=get&k=k'), { value: null }, host);
  }
  await jsonViaHost(`127.0.0.1:${port}`, '/_do/echo/iso?op=put&k=k&v=default-value');
  assert.deepEqual(await jsonViaHost(`localhost:${port}`, '/_do/echo/iso?op=get&k=k'), { value: 'default-value' });
  assert.deepEqual(await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/iso?op=get&k=k'), { value: 'alpha-value' });
});

test('the same class name in two apps has separate storage', async () => {
  const port = server.port;
  await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/twin?op=put&k=k&v=alpha');
  await jsonViaHost(`beta.localhost:${port}`, '/_do/echo/twin?op=put&k=k&v=beta');
  assert.deepEqual(await jsonViaHost(`alpha.localhost:${port}`, '/_do/echo/twin?op=get&k=k'), { value: 'alpha' });
  assert.deepEqual(await jsonViaHost(`beta.localhost:${port}`, '/_do/echo/twin?op=get&k=k'), { value: 'beta' });
  assert.deepEqual(await jsonViaHost(`127.0.0.1:${port}`, '/_do/echo/twin?op=get&k=k'), { value: null });
});

test('a class deployed only to an app is not visible from the default app', async () => {
  const port = server.port;
  assert.deepEqual(await jsonViaHost(`alpha.localhost:${port}`, '/_do/chat-room/r1'), { room: 'r1' });
  assertServerError(assert, await viaHost(`127.0.0.1:${port}`, '/_do/chat-room/r1'), 404);
  assertServerError(assert, await viaHost(`beta.localhost:${port}`, '/_do/chat-room/r1'), 404);
});

test('list, get and delete take --app', async () => {
  const alpha = await server.cli(['list', '--app', 'alpha']);
  assert.equal(alpha.code, 0, describeCli(alpha));
  assert.match(alpha.stdout, /chat-room/);
  assert.match(alpha.stdout, /echo/);
  const def = await server.cli(['list']);
  assert.equal(def.code, 0, describeCli(def));
  assert.doesNotMatch(def.stdout, /chat-room/);
  assert.deepEqual(await server.classNames('alpha'), ['chat-room', 'echo']);

  const get = await server.cli(['get', 'chat-room', '--app', 'alpha']);
  assert.equal(get.code, 0, describeCli(get));
  assert.notEqual((await server.cli(['get', 'chat-room'])).code, 0, 'chat-room is not in the default app');

  const del = await server.cli(['delete', 'chat-room', '--app', 'alpha', '--yes']);
  assert.equal(del.code, 0, describeCli(del));
  assert.deepEqual(await server.classNames('alpha'), ['echo']);
  assertServerError(assert, await viaHost(`alpha.localhost:${server.port}`, '/_do/chat-room/r1'), 404);
});
