// `dorm deploy`, `dorm list`, `dorm get`, `dorm delete`: naming, source validation (exact error
// texts), syntax errors with their line, --access, redeploys, deletion of classes and storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, fixture, describeCli, assertCliFailure, assertServerError } from './lib/dorm.mjs';

let server;

before(async () => {
  // Many classes go into the default app here; the per-app limit has its own tests.
  server = await startServer({ flags: ['--max-classes-per-app', '100'] });
});

after(async () => {
  await server?.stop();
});

async function classListSnapshot() {
  const res = await server.api('GET', '/apps/default/classes');
  assert.equal(res.status, 200, res.text);
  return res.json();
}

// The line of a syntax error may be printed as "file:3:5", "(3:5)" or "line 3".
function mentionsLine(text, line) {
  return new RegExp(`(?:^|[^0-9])${line}:\\d+|\\bline:? ${line}\\b`, 'i').test(text);
}

test('deploying a JavaScript class serves it under /_do/<name>/', async () => {
  const res = await server.deploy(fixture('echo.js'));
  assert.equal(res.code, 0, describeCli(res));
  const got = await server.json('/_do/echo/first?tag=deployed');
  assert.equal(got.tag, 'deployed');
});

test('the default name is the kebab-case class name (ChatRoom → chat-room)', async () => {
  await server.deploy(fixture('chat_room.js'));
  assert.deepEqual(await server.json('/_do/chat-room/lobby'), { room: 'lobby' });
  const detail = await server.api('GET', '/apps/default/classes/chat-room');
  assert.equal(detail.status, 200, detail.text);
  assert.equal(detail.json().class_name, 'ChatRoom');
});

test('--name sets the name', async () => {
  await server.deploy(fixture('echo.js'), { name: 'custom-echo' });
  assert.equal((await server.json('/_do/custom-echo/x?tag=named')).tag, 'named');
  assert.ok((await server.classNames()).includes('custom-echo'));
});

test('non-exported helpers (function, class, const) next to the one exported class are accepted', async () => {
  await server.deploy(fixture('helpers_allowed.js'));
  assert.deepEqual(await server.json('/_do/with-helpers/bob'), { text: 'HELLO bob' });
});

const badSources = [
  ['bad_empty.js', 'no class at all', 'Source must export exactly one class'],
  ['bad_no_export.js', 'a class that is not exported', 'Source must export exactly one class'],
  ['bad_two_classes.js', 'two exported classes', 'Source must export exactly one class'],
  ['bad_extra_function.js', 'an exported function alongside the class', 'Source must export exactly one class'],
  ['bad_extra_const.js', 'an exported const alongside the class', 'Source must export exactly one class'],
  ['bad_export_list.js', 'a function exported through an export list', 'Source must export exactly one class'],
  ['bad_import_lodash.js', 'an npm import', "Import 'lodash' is not allowed"],
  ['bad_import_node.js', 'a node: import', "Import 'node:fs' is not allowed"],
  ['bad_import_relative.ts', 'a relative import', "Import './util' is not allowed"],
];

for (const [file, what, message] of badSources) {
  test(`deploy refuses ${what} with "${message}"`, async () => {
    const snapshot = await classListSnapshot();
    const res = await server.deploy(fixture(file), { check: false });
    assertCliFailure(assert, res, message);
    assert.deepEqual(await classListSnapshot(), snapshot, 'nothing should be deployed');
  });
}

test('a JavaScript syntax error is reported with its line and nothing is deployed', async () => {
  const snapshot = await classListSnapshot();
  const res = await server.deploy(fixture('bad_syntax.js'), { check: false });
  assertCliFailure(assert, res);
  assert.ok(mentionsLine(res.stderr, 3), `the error should point at line 3:\n${describeCli(res)}`);
  assert.deepEqual(await classListSnapshot(), snapshot);
  assertServerError(assert, await server.request('/_do/broken/x'), 404);
});

test('a TypeScript syntax error is reported with its line and nothing is deployed', async () => {
  const snapshot = await classListSnapshot();
  const res = await server.deploy(fixture('bad_syntax.ts'), { check: false });
  assertCliFailure(assert, res);
  assert.ok(mentionsLine(res.stderr, 5), `the error should point at line 5:\n${describeCli(res)}`);
  assert.deepEqual(await classListSnapshot(), snapshot);
});

test('a failed redeploy keeps the old version serving', async () => {
  await server.deploy(fixture('versioned_v1.js'), { name: 'keeps-old' });
  assert.equal((await server.json('/_do/keeps-old/i')).version, 1);
  const snapshot = await classListSnapshot();
  const res = await server.deploy(fixture('bad_syntax.js'), { name: 'keeps-old', check: false });
  assertCliFailure(assert, res);
  assert.ok(mentionsLine(res.stderr, 3), describeCli(res));
  assert.deepEqual(await classListSnapshot(), snapshot);
  assert.equal((await server.json('/_do/keeps-old/i')).version, 1);
  assert.equal((await server.json('/_do/keeps-old/fresh-instance')).version, 1);
  const detail = (await server.api('GET', '/apps/default/classes/keeps-old')).json();
  assert.equal(detail.source, fs.readFileSync(fixture('versioned_v1.js'), 'utf8'));
});

test('--access accepts only "public"', async () => {
  const snapshot = await classListSnapshot();
  for (const mode of ['private', 'internal', '']) {
    const res = await server.deploy(fixture('echo.js'), { name: `access-${mode || 'empty'}`, access: mode, check: false });
    assertCliFailure(assert, res, /access|public/i);
  }
  assert.deepEqual(await classListSnapshot(), snapshot);
});

test('redeploying a name replaces the code on the next request and keeps storage', async () => {
  await server.deploy(fixture('versioned_v1.js'), { name: 'versioned' });
  assert.deepEqual(await server.json('/_do/versioned/same'), { version: 1, memory: 'v1-memory' });
  await server.deploy(fixture('versioned_v2.js'), { name: 'versioned' });
  // The instance that ran version 1 is still the same object id, now with version 2's code.
  assert.deepEqual(await server.json('/_do/versioned/same'), { version: 2, memory: 'v2-memory', storedByV1: true });
  const names = await server.classNames();
  assert.equal(names.filter((n) => n === 'versioned').length, 1);
});

test('dorm list shows the deployed classes', async () => {
  await server.deploy(fixture('echo.js'), { name: 'listed-one' });
  await server.deploy(fixture('chat_room.js'), { name: 'listed-two' });
  const res = await server.cli(['list']);
  assert.equal(res.code, 0, describeCli(res));
  assert.match(res.stdout, /listed-one/);
  assert.match(res.stdout, /listed-two/);
});

test('dorm get shows status, access mode, deploy time and source', async () => {
  await server.deploy(fixture('echo.js'), { name: 'inspected' });
  const res = await server.cli(['get', 'inspected']);
  assert.equal(res.code, 0, describeCli(res));
  assert.match(res.stdout, /READY/, 'status');
  assert.match(res.stdout, /public/, 'access mode');
  assert.ok(res.stdout.includes('General-purpose probe used by several suites'), `source missing:\n${res.stdout}`);
  const detail = (await server.api('GET', '/apps/default/classes/inspected')).json();
  const deployedAt = String(detail.last_deployed_at);
  assert.ok(
    res.stdout.includes(deployedAt) || /\d{4}-\d{2}-\d{2}/.test(res.stdout),
    `deploy time (${deployedAt}) missing:\n${res.stdout}`,
  );
});

test('dorm get and the admin API show the last error of the class', async () => {
  // Reading of "last error": the last exception thrown by one of the class's objects.
  await server.deploy(fixture('limits_probe.js'), { name: 'erring' });
  const thrown = await server.request('/_do/erring/x/throw?msg=last-error-marker-77');
  assert.equal(thrown.status, 500);
  const detail = (await server.api('GET', '/apps/default/classes/erring')).json();
  assert.ok(String(detail.last_error).includes('last-error-marker-77'), `last_error is ${JSON.stringify(detail.last_error)}`);
  const res = await server.cli(['get', 'erring']);
  assert.equal(res.code, 0, describeCli(res));
  assert.ok(res.stdout.includes('last-error-marker-77'), `dorm get should show the last error:\n${res.stdout}`);
});

test('dorm get of an unknown name fails', async () => {
  assertCliFailure(assert, await server.cli(['get', 'never-deployed']));
});

test('dorm delete without --yes refuses when stdin is not a terminal', async () => {
  await server.deploy(fixture('echo.js'), { name: 'survivor' });
  for (const input of ['', 'n\n']) {
    const res = await server.cli(['delete', 'survivor'], { input });
    assert.ok((await server.classNames()).includes('survivor'), `class deleted without --yes (stdin ${JSON.stringify(input)})`);
    assert.notEqual(res.code, 0, `refusing should be reported as a failure:\n${describeCli(res)}`);
  }
  assert.equal((await server.json('/_do/survivor/x?tag=still')).tag, 'still');
});

test('dorm delete without --yes refuses when stdin is not a terminal, even if it says yes', async () => {
  // Reading of the requirement: a non-terminal stdin is itself a reason to refuse, so a script
  // cannot delete a class (and all its storage) by piping an answer in; --yes is the way.
  await server.deploy(fixture('echo.js'), { name: 'piped-yes' });
  const res = await server.cli(['delete', 'piped-yes'], { input: 'yes\n' });
  assert.ok((await server.classNames()).includes('piped-yes'), `deleted through piped stdin:\n${describeCli(res)}`);
  assert.notEqual(res.code, 0, describeCli(res));
});

test('dorm delete --yes removes the class and its storage; redeploying starts empty', async () => {
  await server.deploy(fixture('echo.js'), { name: 'doomed' });
  await server.json('/_do/doomed/inst-1?op=put&k=key&v=value');
  await server.json('/_do/doomed/inst-2?op=put&k=key&v=other');
  assert.deepEqual(await server.json('/_do/doomed/inst-1?op=get&k=key'), { value: 'value' });

  const res = await server.cli(['delete', 'doomed', '--yes']);
  assert.equal(res.code, 0, describeCli(res));
  assert.ok(!(await server.classNames()).includes('doomed'));
  assertServerError(assert, await server.request('/_do/doomed/inst-1?op=get&k=key'), 404);
  const list = await server.cli(['list']);
  assert.doesNotMatch(list.stdout, /\bdoomed\b/);

  await server.deploy(fixture('echo.js'), { name: 'doomed' });
  assert.deepEqual(await server.json('/_do/doomed/inst-1?op=get&k=key'), { value: null });
  assert.deepEqual(await server.json('/_do/doomed/inst-2?op=get&k=key'), { value: null });
});

test('dorm delete of an unknown name fails', async () => {
  assertCliFailure(assert, await server.cli(['delete', 'never-deployed', '--yes']));
});
