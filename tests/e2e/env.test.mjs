// Per-app env vars: `dorm env set/list/unset` and their admin API, key format and collision
// errors in both directions, values as `env.KEY` in both class styles, eviction of live instances
// on every change, no value in plain text anywhere under the data folder, survival across
// restarts, and a missing key file refusing the start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  fixture,
  describeCli,
  assertCliFailure,
  assertServerError,
  makeTempDir,
  runCli,
} from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

// The object's answer for app `app` (reached through the Host header).
async function ask(app, className, instance, key) {
  const query = key === undefined ? '' : `?key=${encodeURIComponent(key)}`;
  const res = await server.request(`/_do/${className}/${instance}${query}`, {
    headers: { host: `${app}.localhost:${server.port}` },
  });
  assert.equal(res.status, 200, `${app}/${className}/${instance}: ${res.status} ${res.text}`);
  return res.json();
}

async function envCli(app, args, opts) {
  return server.cli(['env', ...args, '--app', app], opts);
}

async function setEnv(app, key, value) {
  const result = await envCli(app, ['set', key, value]);
  assert.equal(result.code, 0, describeCli(result));
  return result;
}

async function listedKeys(app) {
  const result = await envCli(app, ['list']);
  assert.equal(result.code, 0, describeCli(result));
  return result.stdout.split('\n').filter((line) => line !== '' && !line.startsWith('no env vars'));
}

function filesUnder(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

// The files under `dir` whose bytes contain `text` as UTF-8 or UTF-16 (either byte order).
function filesContaining(dir, text) {
  const needles = [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le'), Buffer.from(text, 'utf16le').swap16()];
  return filesUnder(dir).filter((file) => {
    const bytes = fs.readFileSync(file);
    return needles.some((needle) => bytes.includes(needle));
  });
}

test('set, list (keys only) and unset through the CLI', async () => {
  const app = 'env-crud';
  assert.deepEqual(await listedKeys(app), []);
  const set = await setEnv(app, 'API_BASE_URL', 'https://api.example.com');
  assert.match(set.stdout, /API_BASE_URL/);
  await setEnv(app, 'APP_ID', 'app_abc123');
  await setEnv(app, '_PRIVATE_2', 'x');
  const list = await envCli(app, ['list']);
  assert.equal(list.code, 0, describeCli(list));
  assert.deepEqual(list.stdout.trim().split('\n'), ['API_BASE_URL', 'APP_ID', '_PRIVATE_2']);
  assert.ok(!list.stdout.includes('api.example.com') && !list.stdout.includes('app_abc123'), list.stdout);

  // Replacing a value keeps one key.
  await setEnv(app, 'APP_ID', 'app_other');
  assert.deepEqual(await listedKeys(app), ['API_BASE_URL', 'APP_ID', '_PRIVATE_2']);

  const unset = await envCli(app, ['unset', 'APP_ID']);
  assert.equal(unset.code, 0, describeCli(unset));
  assert.deepEqual(await listedKeys(app), ['API_BASE_URL', '_PRIVATE_2']);
  assertCliFailure(assert, await envCli(app, ['unset', 'APP_ID']), "No env var APP_ID in app 'env-crud'");

  // Apps do not share env vars.
  assert.deepEqual(await listedKeys('env-crud-other'), []);
});

test('the admin API: GET lists keys, PUT sets (201 new, 200 replaced), DELETE unsets, values are write-only', async () => {
  const app = 'env-api';
  let res = await server.api('PUT', `/apps/${app}/env/TOKEN`, { value: 'first' });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(res.json(), { app, key: 'TOKEN', created: true });
  res = await server.api('PUT', `/apps/${app}/env/TOKEN`, { value: 'second' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().created, false);
  res = await server.api('GET', `/apps/${app}/env`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { app, keys: ['TOKEN'] });
  assert.ok(!res.text.includes('second'));
  assertServerError(assert, await server.api('GET', `/apps/${app}/env/TOKEN`), 405);
  res = await server.api('DELETE', `/apps/${app}/env/TOKEN`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { deleted: true, app, key: 'TOKEN' });
  assertServerError(assert, await server.api('DELETE', `/apps/${app}/env/TOKEN`), 404);
  res = await server.api('PUT', `/apps/${app}/env/TOKEN`, { value: 'x' }, { token: 'dorm_admin_wrong' });
  assertServerError(assert, res, 401);
});

test('a value can come from stdin, and may hold any text', async () => {
  const app = 'env-stdin';
  await server.deploy(fixture('env_plain.js'), { app });
  const secret = 'multi\nline "quoted" ✓ value';
  const result = await envCli(app, ['set', 'FROM_STDIN'], { input: `${secret}\n` });
  assert.equal(result.code, 0, describeCli(result));
  await setEnv(app, 'EMPTY', '');
  assert.equal((await ask(app, 'env-plain', 'a', 'FROM_STDIN')).value, secret);
  assert.equal((await ask(app, 'env-plain', 'a', 'EMPTY')).value, '');
});

test('keys must be UPPER_SNAKE; bad keys and bodies get clear errors', async () => {
  const app = 'env-format';
  for (const key of ['lower', '1ABC', 'API-KEY', 'API KEY', 'ÉTÉ', 'A'.repeat(257)]) {
    const result = await envCli(app, ['set', key, 'v']);
    assertCliFailure(assert, result, `Invalid env var key '${key}'`);
    assert.match(result.stderr, /\^\[A-Z_\]\[A-Z0-9_\]\*\$/, describeCli(result));
  }
  assertCliFailure(assert, await envCli(app, ['unset', 'lower']), "Invalid env var key 'lower'");
  assert.deepEqual(await listedKeys(app), []);

  const badBodies = ['not json', { value: 42 }, { other: 'x' }, ['x']];
  for (const body of badBodies) {
    const res = await server.api('PUT', `/apps/${app}/env/GOOD`, body);
    assertServerError(assert, res, 400);
    assert.match(res.json().error, /\{"value": "\.\.\."\}/);
  }
  const tooLarge = await server.api('PUT', `/apps/${app}/env/GOOD`, { value: 'x'.repeat(5 * 1024 + 1) });
  assertServerError(assert, tooLarge, 413);
  assert.equal((await server.api('PUT', `/apps/${app}/env/GOOD`, { value: 'x'.repeat(5 * 1024) })).status, 201);
  assertServerError(assert, await server.api('GET', '/apps/Bad_App/env'), 400);
  assertCliFailure(assert, await envCli(app, ['frobnicate']), 'usage: dorm env');
});

test('a key equal to a class binding name is rejected, and so is a deploy onto an existing key', async () => {
  const app = 'env-collide';
  await server.deploy(fixture('chat_room.js'), { app });
  const result = await envCli(app, ['set', 'CHAT_ROOM', 'x']);
  assertCliFailure(assert, result, "Env var CHAT_ROOM collides with the binding name of Durable Object class 'chat-room'");
  assertServerError(assert, await server.api('PUT', `/apps/${app}/env/CHAT_ROOM`, { value: 'x' }), 409);
  assert.deepEqual(await listedKeys(app), []);
  // Other apps may use the key: bindings are per app.
  await setEnv('env-collide-other', 'CHAT_ROOM', 'fine here');

  await setEnv(app, 'MY_WIDGET', 'taken');
  const deploy = await server.deploy(fixture('echo.js'), { app, name: 'my-widget', check: false });
  assertCliFailure(assert, deploy, "The binding name MY_WIDGET of class 'my-widget' collides with an env var of app 'env-collide'");
  assert.deepEqual(await server.classNames(app), ['chat-room']);
  // Once the key is gone, the name is free.
  assert.equal((await envCli(app, ['unset', 'MY_WIDGET'])).code, 0);
  await server.deploy(fixture('echo.js'), { app, name: 'my-widget' });
  assert.deepEqual(await server.classNames(app), ['chat-room', 'my-widget']);
});

test('every class of the app reads the values as env.KEY, in both class styles', async () => {
  const app = 'env-read';
  await setEnv(app, 'APP_ID', 'app_abc123');
  await setEnv(app, 'API_BASE_URL', 'https://api.example.com');
  await server.deploy(fixture('env_plain.js'), { app });
  await server.deploy(fixture('env_modern.ts'), { app });
  for (const className of ['env-plain', 'env-modern']) {
    const got = await ask(app, className, 'reader', 'API_BASE_URL');
    assert.equal(got.value, 'https://api.example.com', className);
    // The env vars, and the namespace of each class of the app under its binding name.
    assert.deepEqual(got.keys, ['API_BASE_URL', 'APP_ID', 'ENV_MODERN', 'ENV_PLAIN'], className);
    assert.equal((await ask(app, className, 'reader', 'APP_ID')).value, 'app_abc123', className);
  }
  // Another app's classes see their own env only.
  await server.deploy(fixture('env_plain.js'), { app: 'env-read-other' });
  assert.deepEqual((await ask('env-read-other', 'env-plain', 'reader')).keys, ['ENV_PLAIN']);
});

test('a change evicts the live instances at once: the next request sees the new value and fresh memory', async () => {
  const app = 'env-evict';
  await server.deploy(fixture('env_plain.js'), { app });
  await server.deploy(fixture('env_modern.ts'), { app });
  await setEnv(app, 'MODE', 'one');
  for (const className of ['env-plain', 'env-modern']) {
    assert.deepEqual(await ask(app, className, 'x', 'MODE'), { value: 'one', keys: ['ENV_MODERN', 'ENV_PLAIN', 'MODE'], hits: 1 });
    assert.equal((await ask(app, className, 'x', 'MODE')).hits, 2);
  }
  await setEnv(app, 'MODE', 'two');
  for (const className of ['env-plain', 'env-modern']) {
    assert.deepEqual(await ask(app, className, 'x', 'MODE'), { value: 'two', keys: ['ENV_MODERN', 'ENV_PLAIN', 'MODE'], hits: 1 });
    assert.equal((await ask(app, className, 'x', 'MODE')).hits, 2);
  }
  assert.equal((await envCli(app, ['unset', 'MODE'])).code, 0);
  for (const className of ['env-plain', 'env-modern']) {
    assert.deepEqual(await ask(app, className, 'x', 'MODE'), { value: null, keys: ['ENV_MODERN', 'ENV_PLAIN'], hits: 1 });
  }
  // A change in another app leaves these instances alone.
  assert.equal((await ask(app, 'env-plain', 'x')).hits, 2);
  await setEnv('env-evict-other', 'MODE', 'elsewhere');
  assert.equal((await ask(app, 'env-plain', 'x')).hits, 3);
});

test('values are in no file under the data folder in plain text, and survive a restart', async () => {
  const dataDir = makeTempDir('env-data');
  let own = await startServer({ dataDir });
  try {
    const secret = `sk-live-${crypto.randomBytes(16).toString('hex')}`;
    const app = 'env-sealed';
    let result = await own.cli(['env', 'set', 'AI_API_KEY', secret, '--app', app]);
    assert.equal(result.code, 0, describeCli(result));
    await own.deploy(fixture('env_plain.js'), { app });
    const viaHost = { headers: { host: `${app}.localhost` } };
    assert.equal((await own.json('/_do/env-plain/a?key=AI_API_KEY', viaHost)).value, secret);

    const keyFile = path.join(dataDir, 'secrets.key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(fs.statSync(keyFile).size, 32);
    // While the server runs (its -wal files hold the latest writes) and after it stopped.
    assert.ok(filesUnder(dataDir).some((f) => f.endsWith('-wal')), 'expected a WAL file while running');
    assert.deepEqual(filesContaining(dataDir, secret), []);
    assert.deepEqual(filesContaining(dataDir, 'sk-live-'), []);
    // The scan does see what is stored: the key itself is kept in plain text.
    assert.ok(filesContaining(dataDir, 'AI_API_KEY').length > 0, 'the scan should find the key name');
    await own.stop();
    assert.deepEqual(filesContaining(dataDir, secret), []);

    own = await own.restart();
    assert.equal((await own.json('/_do/env-plain/a?key=AI_API_KEY', viaHost)).value, secret);
    result = await own.cli(['env', 'list', '--app', app]);
    assert.equal(result.stdout.trim(), 'AI_API_KEY');
    await own.stop();

    // Without the key file the values cannot be opened: the server says so instead of starting.
    const copy = makeTempDir('env-nokey');
    fs.cpSync(dataDir, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'secrets.key'));
    const refused = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', copy]);
    assert.equal(refused.code, 1, describeCli(refused));
    assert.match(refused.stderr, /secrets\.key is missing/, describeCli(refused));
    // A key file that does not belong to the registry is refused as well.
    fs.writeFileSync(path.join(copy, 'secrets.key'), crypto.randomBytes(32), { mode: 0o600 });
    const wrongKey = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', copy]);
    assert.equal(wrongKey.code, 1, describeCli(wrongKey));
    assert.match(wrongKey.stderr, /cannot be opened with .*secrets\.key/, describeCli(wrongKey));
  } finally {
    await own.stop();
  }
});
