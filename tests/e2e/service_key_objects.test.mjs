// An app's service keys reach that app's objects list and storage browser (list, get, put,
// delete, SQL), as they reach its exports and imports; another app's objects are refused with
// 403 and a clear message, with nothing read or written, and the rest of the admin API still
// takes the admin token only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, runCli, assertCliFailure, describeCli } from './lib/dorm.mjs';

const CLASS = 'browsed';
const REFUSAL = "This service key belongs to app 'mine': it may list, browse, export and import that app's objects only.";
let server;
let mine;
let theirs;

before(async () => {
  server = await startServer();
  for (const app of ['mine', 'theirs']) await server.deploy(fixture('objects_admin.js'), { name: CLASS, app });
  mine = (await server.cli(['keys', 'create', '--app', 'mine'])).stdout.trim();
  theirs = (await server.cli(['keys', 'create', '--app', 'theirs'])).stdout.trim();
  assert.match(mine, /^dorm_sk_[0-9a-f]{64}$/);
});

after(async () => {
  await server?.stop();
});

const objects = (app) => `/apps/${app}/classes/${CLASS}/objects`;
const storage = (app, name = 'kept') => `${objects(app)}/${name}/storage`;

// Writes through the admin token, so each app's object has storage of its own.
async function seed(app, value) {
  const res = await server.api('PUT', `${storage(app)}/owner`, JSON.stringify(value));
  assert.equal(res.status, 200, res.text);
}

test('a service key lists and browses its own app\'s objects', async () => {
  await seed('mine', 'mine');
  await seed('theirs', 'theirs');
  let res = await server.api('GET', objects('mine'), undefined, { token: mine });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().objects.map((o) => o.name), ['kept']);

  res = await server.api('GET', `${storage('mine')}/owner`, undefined, { token: mine });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { key: 'owner', value: 'mine' });
  res = await server.api('PUT', `${storage('mine')}/added`, JSON.stringify({ by: 'key' }), { token: mine });
  assert.equal(res.status, 200, res.text);
  res = await server.api('GET', storage('mine'), undefined, { token: mine });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().entries, [{ key: 'added', value: { by: 'key' } }, { key: 'owner', value: 'mine' }]);
  res = await server.api('POST', `${objects('mine')}/kept/sql`,
    JSON.stringify({ sql: 'SELECT count(*) AS n FROM _cf_KV' }), { token: mine });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json().rows, [[2]]);
  res = await server.api('DELETE', `${storage('mine')}/added`, undefined, { token: mine });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { key: 'added', deleted: true });
});

test('a service key is refused another app\'s objects with 403, nothing read or written', async () => {
  const attempts = [
    ['GET', objects('theirs')],
    ['GET', storage('theirs')],
    ['GET', `${storage('theirs')}/owner`],
    ['PUT', `${storage('theirs')}/owner`, JSON.stringify('overwritten')],
    ['DELETE', `${storage('theirs')}/owner`],
    ['POST', `${objects('theirs')}/kept/sql`, JSON.stringify({ sql: 'DELETE FROM _cf_KV', write: true })],
    // A percent-encoded app name is not the key's app either.
    ['GET', `/apps/%6Dine/classes/${CLASS}/objects`],
  ];
  for (const [method, apiPath, body] of attempts) {
    const res = await server.api(method, apiPath, body, { token: mine });
    assert.equal(res.status, 403, `${method} ${apiPath}: ${res.status} ${res.text}`);
    assert.equal(res.json().error, REFUSAL, `${method} ${apiPath}`);
  }
  // The other app's key is refused on this app's objects the same way.
  const res = await server.api('GET', objects('mine'), undefined, { token: theirs });
  assert.equal(res.status, 403);
  assert.equal(res.json().error, "This service key belongs to app 'theirs': it may list, browse, export and import that app's objects only.");
  // Their object is untouched.
  const owner = await server.api('GET', `${storage('theirs')}/owner`);
  assert.deepEqual(owner.json(), { key: 'owner', value: 'theirs' });
});

test('everything else of the admin API still takes the admin token only', async () => {
  for (const apiPath of ['/apps/mine/classes', '/apps/mine/env', '/apps/mine/keys', '/apps/mine/tail?follow=false',
    '/backup', '/usage?app=mine', `/apps/mine/classes/${CLASS}`]) {
    const res = await server.api('GET', apiPath, undefined, { token: mine });
    assert.equal(res.status, 401, `${apiPath}: ${res.status} ${res.text}`);
  }
  // An unknown or revoked key is 401 on the objects too.
  let res = await server.api('GET', objects('mine'), undefined, { token: `dorm_sk_${'0'.repeat(64)}` });
  assert.equal(res.status, 401);
  const created = await server.api('POST', '/apps/mine/keys', JSON.stringify({ name: 'spare' }));
  assert.equal(created.status, 201, created.text);
  const { key: spare, id } = created.json();
  res = await server.api('GET', objects('mine'), undefined, { token: spare });
  assert.equal(res.status, 200, res.text);
  assert.equal((await server.api('DELETE', `/apps/mine/keys/${id}`)).status, 200);
  res = await server.api('GET', objects('mine'), undefined, { token: spare });
  assert.equal(res.status, 401);
});

test('the CLI lists and browses with a service key, and names the refusal', async () => {
  const opts = ['--server', server.url, '--token', mine, '--app', 'mine'];
  const list = await runCli(['objects', 'list', CLASS, ...opts]);
  assert.equal(list.code, 0, describeCli(list));
  assert.match(list.stdout, /kept/);
  const get = await runCli(['storage', 'get', CLASS, 'kept', 'owner', ...opts]);
  assert.equal(get.code, 0, describeCli(get));
  assert.equal(get.stdout, '"mine"\n');
  const refused = await runCli(['storage', 'get', CLASS, 'kept', 'owner', '--server', server.url, '--token', mine, '--app', 'theirs']);
  assertCliFailure(assert, refused, /This service key belongs to app 'mine'/);
});
