// The admin API under /_admin/v1 and its token: the token file, 401 for a missing or wrong token,
// the class endpoints of the contract, and how the CLI finds the server and the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, runCli, makeTempDir, describeCli, assertCliFailure, assertServerError } from './lib/dorm.mjs';

let server;
const echoSource = fs.readFileSync(fixture('echo.js'), 'utf8');

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

test('admin token is generated on first start, stored as DATA/admin-token with mode 0600', () => {
  const file = path.join(server.dataDir, 'admin-token');
  assert.ok(fs.existsSync(file), 'admin-token should exist in the data folder');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, `mode is ${(fs.statSync(file).mode & 0o777).toString(8)}`);
  assert.ok(server.adminToken().length >= 16, 'the token should not be trivially short');
});

test('the admin token survives a restart', async () => {
  const first = await startServer();
  const token = first.adminToken();
  await first.stop();
  const second = await first.restart();
  try {
    assert.equal(second.adminToken(), token);
    const res = await second.api('GET', '/apps/default/classes', undefined, { token });
    assert.equal(res.status, 200);
  } finally {
    await second.stop();
  }
});

test('missing or wrong token → 401 JSON error, nothing changes', async () => {
  const token = server.adminToken();
  const cases = [
    ['no Authorization header', {}],
    ['wrong token', { authorization: 'Bearer not-the-token' }],
    ['right token with a suffix', { authorization: `Bearer ${token}x` }],
    ['right token, wrong scheme', { authorization: `Basic ${token}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ];
  for (const [what, headers] of cases) {
    const list = await server.request('/_admin/v1/apps/default/classes', { headers });
    assertServerError(assert, list, 401);
    const create = await server.request('/_admin/v1/apps/default/classes', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: { source: echoSource, filename: 'echo.js', name: 'sneaky', access_mode: 'public' },
    });
    assert.equal(create.status, 401, `${what}: ${create.text}`);
    const del = await server.request('/_admin/v1/apps/default/classes/sneaky', { method: 'DELETE', headers });
    assert.equal(del.status, 401, `${what}: ${del.text}`);
  }
  assert.ok(!(await server.classNames()).includes('sneaky'));
  assertServerError(assert, await server.request('/_do/sneaky/x'), 404);
});

test('POST/GET/DELETE classes through the admin API', async () => {
  const created = await server.api('POST', '/apps/default/classes', {
    source: echoSource,
    filename: 'echo.js',
    name: 'api-echo',
    access_mode: 'public',
  });
  assert.equal(created.status, 201, created.text);
  const cls = created.json();
  assert.equal(cls.name, 'api-echo');
  assert.equal(cls.class_name, 'Echo');
  assert.equal(cls.status, 'READY');
  assert.equal(cls.access_mode, 'public');
  assert.ok(cls.id !== undefined && cls.id !== null && String(cls.id).length > 0, 'id should be set');
  assert.ok(cls.last_deployed_at !== undefined && cls.last_deployed_at !== null, 'last_deployed_at should be set');

  const served = await server.request('/_do/api-echo/one?tag=api');
  assert.equal(served.status, 200, served.text);
  assert.equal(served.json().tag, 'api');

  const list = await server.api('GET', '/apps/default/classes');
  assert.equal(list.status, 200);
  const listed = list.json().classes.find((c) => c.name === 'api-echo');
  assert.ok(listed, `api-echo should be listed: ${list.text}`);
  assert.equal(listed.class_name, 'Echo');
  assert.equal(listed.status, 'READY');

  const one = await server.api('GET', '/apps/default/classes/api-echo');
  assert.equal(one.status, 200, one.text);
  const detail = one.json();
  assert.equal(detail.source, echoSource);
  assert.ok('last_error' in detail, `the class should carry last_error: ${one.text}`);
  assert.equal(detail.access_mode, 'public');

  const deleted = await server.api('DELETE', '/apps/default/classes/api-echo');
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.json().deleted, true);

  assertServerError(assert, await server.api('GET', '/apps/default/classes/api-echo'), 404);
  assertServerError(assert, await server.request('/_do/api-echo/one'), 404);
});

test('the admin API reports source errors as JSON', async () => {
  const res = await server.api('POST', '/apps/default/classes', {
    source: fs.readFileSync(fixture('bad_two_classes.js'), 'utf8'),
    filename: 'bad_two_classes.js',
    access_mode: 'public',
  });
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${res.status}: ${res.text}`);
  const body = assertServerError(assert, res, res.status);
  assert.ok(body.error.includes('Source must export exactly one class'), body.error);
});

test('the CLI finds server and token via --server/--token, DORM_SERVER/DORM_TOKEN, or --data', async () => {
  const token = server.adminToken();
  const file = fixture('echo.js');
  const viaFlags = await runCli(['deploy', file, '--access', 'public', '--name', 'via-flags', '--server', server.url, '--token', token]);
  assert.equal(viaFlags.code, 0, describeCli(viaFlags));
  const viaEnv = await runCli(['deploy', file, '--access', 'public', '--name', 'via-env'], {
    env: { DORM_SERVER: server.url, DORM_TOKEN: token },
  });
  assert.equal(viaEnv.code, 0, describeCli(viaEnv));
  const viaData = await runCli(['deploy', file, '--access', 'public', '--name', 'via-data', '--data', server.dataDir]);
  assert.equal(viaData.code, 0, describeCli(viaData));

  const names = await server.classNames();
  for (const name of ['via-flags', 'via-env', 'via-data']) assert.ok(names.includes(name), `${name} missing from ${names}`);

  const listed = await runCli(['list', '--server', server.url, '--token', token]);
  assert.equal(listed.code, 0, describeCli(listed));
  assert.match(listed.stdout, /via-env/);
});

test('the CLI with a wrong token fails with exit status 1 and an error on stderr', async () => {
  const withFlag = await runCli(['list', '--server', server.url, '--token', 'wrong-token']);
  assertCliFailure(assert, withFlag);
  assert.ok(withFlag.stderr.trim().length > 0, describeCli(withFlag));
  const withEnv = await runCli(['deploy', fixture('echo.js'), '--access', 'public', '--name', 'env-wrong'], {
    env: { DORM_SERVER: server.url, DORM_TOKEN: 'wrong-token' },
  });
  assertCliFailure(assert, withEnv);
  assert.ok(!(await server.classNames()).includes('env-wrong'));
});

test('the CLI with no way to find a server fails with exit status 1', async () => {
  const empty = makeTempDir('nowhere');
  const res = await runCli(['list'], { cwd: empty });
  assertCliFailure(assert, res);
  assert.ok(res.stderr.trim().length > 0, describeCli(res));
});
