// Resets of the reference's §5 that need their own setup: a blockConcurrencyWhile() callback that
// runs past 30 s, blockConcurrencyWhile() nested deeper than 64, and a SQL critical error (an I/O
// error while a statement runs, under a file-size limit) raised through ctx.storage.sql.exec.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dormBin, fixture, httpRequest, makeTempDir, runCli, startServer, waitFor } from './lib/dorm.mjs';

const BCW_TIMEOUT_MESSAGE =
  'A call to blockConcurrencyWhile() in a Durable Object waited for too long. ' +
  'The call was canceled and the Durable Object was reset.';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('reset_probe.js'));
});

after(async () => {
  await server?.stop();
});

const probe = (id, rest = '') => server.json(`/_do/reset-probe/${id}/${rest}`);

test('blockConcurrencyWhile() nests 64 deep; the 65th call throws and the object keeps running', async () => {
  const before64 = await probe('nest');
  const r = await probe('nest', 'nest?depth=64');
  assert.equal(r.reached, 64, 'the 64th callback ran');
  assert.equal(r.result, 'innermost');
  assert.deepEqual(r.error, { name: 'Error', message: 'blockConcurrencyWhile() calls are nested too deeply.' });
  // The error was caught inside the innermost callback: nothing threw through a gate, no reset.
  assert.equal(r.instance, before64.instance);
  assert.equal((await probe('nest')).instance, before64.instance);
  // Below the limit nothing throws.
  const shallow = await probe('nest', 'nest?depth=63');
  assert.equal(shallow.reached, 64);
  assert.equal(shallow.error, null);
});

test('a blockConcurrencyWhile() callback that runs past 30 s resets the object with the reference message', async () => {
  const first = await probe('hang');
  const started = Date.now();
  const res = await server.request('/_do/reset-probe/hang/hang', { timeoutMs: 90000 });
  const waited = Date.now() - started;
  assert.equal(res.status, 500);
  assert.deepEqual(res.json(), { error: BCW_TIMEOUT_MESSAGE });
  assert.ok(waited >= 29000, `the callback was given 30 s (answered after ${waited} ms)`);
  const after = await probe('hang');
  assert.notEqual(after.instance, first.instance, 'the next request meets a fresh instance');
  // Other objects were never affected.
  assert.equal((await server.request('/_do/reset-probe/bystander/')).status, 200);
});

test('a SQL critical error through sql.exec fails the request even when caught, resets the object and keeps only committed data', async () => {
  const data = makeTempDir('sql-critical');
  // prlimit applies RLIMIT_FSIZE to the server alone: writes past 3 MB per file fail, as on a full
  // disk. The 8 MB statement spills past the page cache into the WAL while it runs.
  const proc = spawn('prlimit', ['--fsize=3000000', '--', dormBin(), 'serve', '--listen', '127.0.0.1:0',
    '--data', data, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  const LISTENING = /listening on (http:\/\/[^\s]+)/;
  try {
    await waitFor(() => LISTENING.test(output), { what: 'listening line', timeoutMs: 30000 });
    const port = Number(new URL(LISTENING.exec(output)[1]).port);
    const deployed = await runCli(['deploy', fixture('reset_probe.js'), '--access', 'public', '--data', data]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const get = async (rest, method = 'GET') => httpRequest({ port, method, path: `/_do/reset-probe/db/${rest}` });

    const seeded = await get('seed', 'POST');
    assert.equal(seeded.status, 200, seeded.text);
    const instance = seeded.json().instance;

    const flood = await get('flood', 'POST');
    assert.equal(flood.status, 500, `the caller sees the failure although the code caught it: ${flood.text}`);
    assert.match(flood.json().error, /SQLITE_(IOERR|FULL)/);

    const rows = await get('rows');
    assert.equal(rows.status, 200, rows.text);
    assert.notEqual(rows.json().instance, instance, 'a fresh instance');
    assert.deepEqual(rows.json().ids, [1], 'only the committed row survives');
    // The object works again once reset.
    assert.equal((await get('seed', 'POST')).status, 200);
  } finally {
    proc.kill('SIGKILL');
  }
});
