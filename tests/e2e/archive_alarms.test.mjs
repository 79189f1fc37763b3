// Alarms stored in an imported or restored object database are scheduled: after `dorm import`
// (the database swapped on the object's thread) and after `dorm restore` (the alarms index rebuilt
// from the restored files), each alarm fires at its time, or at once when its time passed while
// the database was away, without the object being asked to set one. An import of a database
// without an alarm forgets the alarm the replaced one had.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, runCli, describeCli, sleep, waitFor } from './lib/dorm.mjs';

const CLASS = 'ringing';
let server;
const work = makeTempDir('archive-alarms');

before(async () => {
  server = await startServer();
  await server.deploy(fixture('archive_alarms.js'), { name: CLASS });
});

after(async () => {
  await server?.stop();
});

const cli = (args) => server.cli(args, { timeoutMs: 120000 });
const setAlarm = (srv, cls, name, at) => srv.json(`/_do/${cls}/${name}/set?at=${at}`);
const state = (srv, cls, name) => srv.json(`/_do/${cls}/${name}/state`);

function expectOk(result) {
  assert.equal(result.code, 0, describeCli(result));
  return result;
}

// Waits for each object's alarm to have fired and checks it fired at its time: never before it,
// and within a few seconds of it (or of `ready`, when the database came back only after its time).
async function expectFired(srv, cls, alarms, ready) {
  for (const [name, at] of alarms) {
    const fired = await waitFor(async () => (await state(srv, cls, name)).fired,
      { timeoutMs: 15000, intervalMs: 100, what: `${cls}/${name}'s alarm` });
    assert.ok(fired >= at, `${name} fired at ${fired}, before its time ${at}`);
    assert.ok(fired - Math.max(at, ready()) < 4000, `${name} fired ${fired - at} ms after its time`);
    assert.equal((await state(srv, cls, name)).alarm, null, `${name}: the alarm is gone once it ran`);
  }
}

test('alarms in an imported class fire at their times after export, delete and import', async () => {
  const base = Date.now() + 8000;
  const alarms = new Map(Array.from({ length: 5 }, (_, i) => [`bell-${i}`, base + i * 400]));
  for (const [name, at] of alarms) await setAlarm(server, CLASS, name, at);
  const file = path.join(work, 'ringing.dorm');
  expectOk(await cli(['export', CLASS, '-o', file]));
  expectOk(await cli(['delete', CLASS, '--yes']));
  await server.deploy(fixture('archive_alarms.js'), { name: CLASS });
  expectOk(await cli(['import', file]));
  const imported = Date.now();
  // Nothing touches the objects until their time: only the imported alarms can wake them.
  await sleep(Math.max(0, base + 1600 - Date.now()));
  await expectFired(server, CLASS, alarms, () => imported);
});

test('an alarm whose time passed before the import fires at once after it', async () => {
  await server.deploy(fixture('archive_alarms.js'), { name: 'late' });
  const at = Date.now() + 2500;
  await setAlarm(server, 'late', 'overdue', at);
  const file = path.join(work, 'late.dorm');
  expectOk(await cli(['export', 'late', 'overdue', '-o', file]));
  expectOk(await cli(['delete', 'late', '--yes']));
  await sleep(Math.max(0, at + 500 - Date.now()));
  await server.deploy(fixture('archive_alarms.js'), { name: 'late' });
  expectOk(await cli(['import', file]));
  const imported = Date.now();
  await sleep(2000);
  await expectFired(server, 'late', new Map([['overdue', at]]), () => imported);
});

test('importing a database without an alarm over one that has one forgets it', async () => {
  // quiet-source/hush has storage and no alarm; quiet/hush has an alarm due soon.
  await server.deploy(fixture('archive_alarms.js'), { name: 'quiet-source' });
  await server.deploy(fixture('archive_alarms.js'), { name: 'quiet' });
  await server.json('/_do/quiet-source/hush/put');
  const clean = path.join(work, 'quiet-clean.dorm');
  expectOk(await cli(['export', 'quiet-source', 'hush', '-o', clean]));
  // Far enough ahead that the exports and the first import are done before it (ASan builds too).
  const soon = Date.now() + 8000;
  await setAlarm(server, 'quiet', 'hush', soon);
  const file = path.join(work, 'quiet.dorm');
  expectOk(await cli(['export', 'quiet', 'hush', '-o', file]));
  let list = (await server.api('GET', '/apps/default/classes/quiet/objects')).json();
  assert.equal(list.objects[0].alarm, new Date(soon).toISOString().replace(/\.\d{3}Z$/, 'Z'));

  // The named object lands on quiet/hush, replacing its database and its alarm.
  expectOk(await cli(['import', clean, '--as', 'quiet', '--force']));
  list = (await server.api('GET', '/apps/default/classes/quiet/objects')).json();
  assert.equal(list.objects.length, 1);
  assert.equal(list.objects[0].alarm, null, JSON.stringify(list.objects[0]));
  await sleep(Math.max(0, soon + 1500 - Date.now()));
  assert.deepEqual(await state(server, 'quiet', 'hush'), { fired: null, alarm: null });

  // Imported back with its alarm, whose time has passed: it fires at once.
  expectOk(await cli(['import', file, '--force']));
  const imported = Date.now();
  await sleep(1500);
  await expectFired(server, 'quiet', new Map([['hush', soon]]), () => imported);
});

// The archive's frames, without the alarm index: as if every alarm had been set after the
// backup copied the index; and with one more object file that is not a database (its checksum
// right), whose alarm cannot be read.
function withoutAlarmIndex(archive) {
  const magic = 'DORM-ARCHIVE 1\n'.length;
  const parts = [archive.subarray(0, magic)];
  let at = magic;
  let files = 0;
  while (at < archive.length) {
    const n = archive.readUInt32BE(at);
    const header = JSON.parse(archive.subarray(at + 4, at + 4 + n).toString());
    const size = header.type === 'file' ? header.size : 0;
    const whole = archive.subarray(at, at + 4 + n + size);
    at += 4 + n + size;
    if (header.path === 'alarms.sqlite') continue;
    if (header.type === 'file') files++;
    if (header.type === 'end') {
      const garbage = Buffer.from('not a database '.repeat(300));
      const id = 'ab'.repeat(32);
      const file = Buffer.from(JSON.stringify({ type: 'file', path: `objects/default/kept/ab/${id}.sqlite`, size: garbage.length,
        sha256: crypto.createHash('sha256').update(garbage).digest('hex') }));
      const fileLength = Buffer.alloc(4);
      fileLength.writeUInt32BE(file.length);
      parts.push(fileLength, file, garbage);
      files++;
      const end = Buffer.from(JSON.stringify({ type: 'end', files }));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(end.length);
      parts.push(length, end);
    } else {
      parts.push(whole);
    }
  }
  return Buffer.concat(parts);
}

test('a restored backup fires its pending alarms, also those its alarm index missed', async () => {
  await server.deploy(fixture('archive_alarms.js'), { name: 'kept' });
  const base = Date.now() + 12000;
  const alarms = new Map(Array.from({ length: 4 }, (_, i) => [`kept-${i}`, base + i * 500]));
  for (const [name, at] of alarms) await setAlarm(server, 'kept', name, at);
  const dir = path.join(work, 'backup');
  expectOk(await cli(['backup', dir]));
  const bare = path.join(work, 'backup-bare');
  fs.mkdirSync(bare);
  fs.writeFileSync(path.join(bare, 'backup.dorm'), withoutAlarmIndex(fs.readFileSync(path.join(dir, 'backup.dorm'))));

  const restoredDirs = [];
  for (const source of [dir, bare]) {
    const data = path.join(work, `restored-${path.basename(source)}`);
    const restored = expectOk(await runCli(['restore', source, '--data', data]));
    if (source === bare) assert.match(restored.stderr, /^dorm: warning: cannot read the alarm of .*abab\.sqlite: /m);
    else assert.equal(restored.stderr, '');
    restoredDirs.push(data);
  }
  assert.ok(fs.existsSync(path.join(restoredDirs[1], 'alarms.sqlite')), 'restore writes the alarm index');
  const servers = [];
  try {
    for (const data of restoredDirs) servers.push(await startServer({ dataDir: data }));
    const ready = Date.now();
    await sleep(Math.max(0, base + 2000 - Date.now()));
    for (const restored of servers) await expectFired(restored, 'kept', alarms, () => ready);
  } finally {
    for (const restored of servers) await restored.stop();
  }
});
