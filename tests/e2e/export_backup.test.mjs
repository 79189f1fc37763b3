// Export, import, backup and restore: `dorm export` of a class (50 objects, KV and SQL) or one
// object, deletion, `dorm import` back (refused over existing storage without --force, into
// another class with --as), hostile archives refused with 400 and nothing changed, service keys
// limited to their own app, and `dorm backup` while writes run, restored with `dorm restore` into
// a new data folder that a new server starts from: every write acknowledged before the backup
// started is there, each object whole (two keys of one turn both or neither), with the env and
// the deployed classes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, runCli, describeCli, assertCliFailure } from './lib/dorm.mjs';

const CLASS = 'archived';
const COUNT = 50;
let server;
const work = makeTempDir('export-backup');

const MAGIC = Buffer.from('DORM-ARCHIVE 1\n');
const names = Array.from({ length: COUNT }, (_, i) => `o-${String(i).padStart(2, '0')}`);

before(async () => {
  server = await startServer();
  await server.deploy(fixture('export_backup.js'), { name: CLASS });
  await server.deploy(fixture('export_backup.js'), { name: 'copy' });
  await server.deploy(fixture('export_backup.js'), { name: 'hostile' });
  await server.deploy(fixture('export_backup.js'), { name: CLASS, app: 'other' });
});

after(async () => {
  await server?.stop();
});

const put = (name, key, value, cls = CLASS) =>
  server.json(`/_do/${cls}/${name}/put?key=${key}&value=${encodeURIComponent(JSON.stringify(value))}`);
const get = async (name, key, cls = CLASS) => (await server.json(`/_do/${cls}/${name}/get?key=${key}`)).value;
const labels = async (name, cls = CLASS) => (await server.json(`/_do/${cls}/${name}/sql`)).labels;

function frame(header, data = Buffer.alloc(0)) {
  const h = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(h.length);
  return Buffer.concat([length, h, data]);
}

function parseArchive(buf) {
  assert.deepEqual(buf.subarray(0, MAGIC.length), MAGIC);
  let at = MAGIC.length;
  const frames = [];
  while (at < buf.length) {
    const n = buf.readUInt32BE(at);
    const header = JSON.parse(buf.subarray(at + 4, at + 4 + n).toString());
    at += 4 + n;
    const size = header.type === 'file' ? header.size : 0;
    frames.push({ header, data: buf.subarray(at, at + size) });
    at += size;
  }
  return frames;
}

const buildArchive = (frames) => Buffer.concat([MAGIC, ...frames.map((f) => frame(f.header, f.data))]);

async function cli(args) {
  return server.cli(args, { timeoutMs: 120000 });
}

test('a class of 50 objects is exported, deleted and imported back, KV and SQL', async () => {
  for (let i = 0; i < COUNT; i += 10) {
    await Promise.all(names.slice(i, i + 10).map(async (name, j) => {
      await put(name, 'n', { n: i + j, name });
      if ((i + j) % 5 === 0) {
        await server.json(`/_do/${CLASS}/${name}/sql?label=first-${name}`);
        await server.json(`/_do/${CLASS}/${name}/sql?label=second-${name}`);
      }
    }));
  }
  const file = path.join(work, 'class.dorm');
  const result = await cli(['export', CLASS, '-o', file]);
  assert.equal(result.code, 0, describeCli(result));
  assert.equal(result.stdout, `exported ${COUNT} objects of default/${CLASS} to ${file}\n`);
  assert.ok(!fs.existsSync(`${file}.partial`));
  const frames = parseArchive(fs.readFileSync(file));
  assert.deepEqual(
    { type: frames[0].header.type, kind: frames[0].header.kind, app: frames[0].header.app, class: frames[0].header.class },
    { type: 'manifest', kind: 'export', app: 'default', class: CLASS });
  const files = frames.filter((f) => f.header.type === 'file');
  assert.equal(files.length, COUNT);
  assert.deepEqual(files.map((f) => f.header.name).sort(), names);
  for (const f of files) {
    assert.equal(f.header.path, `objects/${f.header.id}.sqlite`);
    assert.equal(f.data.length, f.header.size);
    assert.equal(f.data.subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
  }
  assert.deepEqual(frames.at(-1).header, { type: 'end', files: COUNT });

  // The class and its storage go; deployed again, it starts empty.
  const deleted = await cli(['delete', CLASS, '--yes']);
  assert.equal(deleted.code, 0, describeCli(deleted));
  await server.deploy(fixture('export_backup.js'), { name: CLASS });
  assert.equal(await get('o-07', 'n'), null);
  assert.deepEqual(await labels('o-05'), []);
  await put('o-07', 'n', 'new');
  // o-07 and o-05 have storage again (a write, an empty table): --force is needed now.
  const refused = await cli(['import', file]);
  assertCliFailure(assert, refused, /already has storage: import with force to replace it/);
  assert.equal(await get('o-01', 'n'), null, 'nothing imported by the refused import');

  const imported = await cli(['import', file, '--force']);
  assert.equal(imported.code, 0, describeCli(imported));
  assert.equal(imported.stdout, `imported ${COUNT} objects into default/${CLASS} (2 replaced)\n`);
  for (const [i, name] of names.entries()) {
    assert.deepEqual(await get(name, 'n'), { n: i, name }, name);
    assert.deepEqual(await labels(name), i % 5 === 0 ? [`first-${name}`, `second-${name}`] : [], name);
  }
  // The objects list knows them by name again.
  const list = (await server.api('GET', `/apps/default/classes/${CLASS}/objects?limit=1000`)).json();
  assert.deepEqual(list.objects.map((o) => o.name).sort(), names);
});

test('one object exports alone; a live object is reset to read its imported storage', async () => {
  const file = path.join(work, 'one.dorm');
  await put('solo', 'v', 'exported');
  const result = await cli(['export', CLASS, 'solo', '-o', file]);
  assert.equal(result.code, 0, describeCli(result));
  assert.match(result.stdout, /^exported 1 object of default\/archived to /);
  const files = parseArchive(fs.readFileSync(file)).filter((f) => f.header.type === 'file');
  assert.equal(files.length, 1);
  assert.equal(files[0].header.name, 'solo');

  await put('solo', 'v', 'changed later');
  await put('solo', 'extra', 1);
  assert.equal(await get('solo', 'v'), 'changed later'); // live now
  const refused = await cli(['import', file]);
  assertCliFailure(assert, refused, "The object solo of class 'archived' already has storage: import with force to replace it.");
  assert.equal(await get('solo', 'v'), 'changed later');
  const forced = await cli(['import', file, '--force']);
  assert.equal(forced.code, 0, describeCli(forced));
  assert.equal(await get('solo', 'v'), 'exported');
  assert.equal(await get('solo', 'extra'), null);

  const missing = await cli(['export', CLASS, 'never-written', '-o', path.join(work, 'none.dorm')]);
  assertCliFailure(assert, missing, "The object 'never-written' of class 'archived' has no storage.");
  assert.ok(!fs.existsSync(path.join(work, 'none.dorm')));
});

test('--as imports into another class, where named objects get that class\'s ids', async () => {
  const file = path.join(work, 'class.dorm');
  const result = await cli(['import', file, '--as', 'copy']);
  assert.equal(result.code, 0, describeCli(result));
  assert.equal(result.stdout, `imported ${COUNT} objects into default/copy (0 replaced)\n`);
  assert.deepEqual(await get('o-33', 'n', 'copy'), { n: 33, name: 'o-33' });
  assert.deepEqual(await labels('o-10', 'copy'), ['first-o-10', 'second-o-10']);
  // The object in `copy` has its own id (derived from its name in that class).
  const original = (await put('o-33', 'probe', 1)).id;
  const copied = (await put('o-33', 'probe', 1, 'copy')).id;
  assert.notEqual(original, copied);
  // Into a class that does not exist: 404.
  const missing = await cli(['import', file, '--as', 'nowhere']);
  assertCliFailure(assert, missing, "No Durable Object class named 'nowhere' in app 'default'.");
});

test('hostile archives are refused with 400 and change nothing', async () => {
  const good = parseArchive(fs.readFileSync(path.join(work, 'class.dorm')));
  const manifest = good[0];
  const one = good[1];
  const end = { header: { type: 'end', files: 1 }, data: Buffer.alloc(0) };
  const valid = buildArchive([manifest, one, end]);
  const otherName = (f, name) => ({ header: { ...f.header, name }, data: f.data });
  const sha = (data) => import('node:crypto').then((c) => c.createHash('sha256').update(data).digest('hex'));
  const garbage = Buffer.from('not a database '.repeat(300));
  const cases = {
    'traversal path': [buildArchive([manifest, { header: { ...one.header, path: '../../registry.sqlite' }, data: one.data }, end]),
      "Invalid file path '../../registry.sqlite' in the archive: an export holds objects/<id>.sqlite."],
    'nested traversal path': [buildArchive([manifest, { header: { ...one.header, path: `objects/../${one.header.id}.sqlite` }, data: one.data }, end]),
      /^Invalid file path/],
    'absolute path': [buildArchive([manifest, { header: { ...one.header, path: '/etc/passwd' }, data: one.data }, end]), /^Invalid file path/],
    'truncated': [valid.subarray(0, valid.length - 40), /^The archive is truncated/],
    'truncated inside a file': [buildArchive([manifest, one]).subarray(0, 300 + MAGIC.length), /^The archive is truncated/],
    'bad checksum': [buildArchive([manifest, { header: one.header, data: Buffer.from(one.data).fill(7, 2000, 2001) }, end]),
      `The file ${one.header.path} does not match its SHA-256 (the archive is damaged).`],
    'size larger than the data': [buildArchive([manifest, { header: { ...one.header, size: one.header.size + 10 }, data: one.data }, end]),
      /^The archive is truncated|does not match its SHA-256|Invalid frame/],
    'not a database': [buildArchive([manifest, { header: { ...one.header, size: garbage.length, sha256: await sha(garbage) }, data: garbage }, end]),
      /^The database of object o-\d\d is not a database/],
    'no end frame': [buildArchive([manifest, one]), 'The archive is truncated (its end frame is missing).'],
    'bytes after the end': [Buffer.concat([valid, Buffer.from('x')]), 'Invalid archive: bytes after its end frame.'],
    'wrong file count': [buildArchive([manifest, one, { header: { type: 'end', files: 2 } }]), 'Invalid archive: its end frame does not count the files it holds.'],
    'huge header': [Buffer.concat([MAGIC, Buffer.from([0x7f, 0, 0, 0])]), 'Invalid frame in the archive (a header of 2130706432 bytes).'],
    'not an archive': [Buffer.from('PK\x03\x04 a zip file'), 'Not a Dorm archive (it does not start with "DORM-ARCHIVE 1").'],
    'a backup': [buildArchive([{ header: { type: 'manifest', kind: 'backup' } }, { header: { type: 'end', files: 0 } }]),
      'The archive is not an export (a backup is restored with dorm restore).'],
    'one object twice': [buildArchive([manifest, one, one, { header: { type: 'end', files: 2 } }]), /^The archive holds the object [0-9a-f]{64} twice\.$/],
    'unnamed object of another class': [buildArchive([manifest, otherName(one, null), end]),
      /has no name and its id belongs to another class/],
  };
  const hostileFolder = path.join(server.dataDir, 'objects', 'default', 'hostile');
  for (const [label, [body, message]] of Object.entries(cases)) {
    const res = await server.api('POST', '/apps/default/classes/hostile/import', body);
    assert.equal(res.status, 400, `${label}: ${res.status} ${res.text}`);
    const error = res.json().error;
    if (message instanceof RegExp) assert.match(error, message, label);
    else assert.equal(error, message, label);
    assert.ok(!fs.existsSync(hostileFolder), `${label}: nothing written`);
    const tmp = path.join(server.dataDir, 'tmp');
    assert.deepEqual(fs.existsSync(tmp) ? fs.readdirSync(tmp) : [], [], `${label}: no temporary file left`);
  }
  // The valid archive does import (the cases above differ from it only in what they break).
  const res = await server.api('POST', '/apps/default/classes/hostile/import', valid);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(await get(one.header.name, 'n', 'hostile'), (await get(one.header.name, 'n')));
  // The unnamed-object case of the same class is accepted: the id belongs to it.
  const own = parseArchive(fs.readFileSync(path.join(work, 'one.dorm')));
  const forced = await server.api('POST', `/apps/default/classes/${CLASS}/import?force=true`,
    buildArchive([own[0], otherName(own[1], null), own[2]]));
  assert.equal(forced.status, 200, forced.text);
  const bad = await server.api('POST', `/apps/default/classes/${CLASS}/import?force=yes`, valid);
  assert.equal(bad.status, 400);
  assert.equal(bad.json().error, "Invalid force 'yes': use true or false.");
});

test('a service key exports and imports its own app only; backups need the admin token', async () => {
  const mine = (await server.cli(['keys', 'create', '--app', 'default'])).stdout.trim();
  const theirs = (await server.cli(['keys', 'create', '--app', 'other'])).stdout.trim();
  assert.match(mine, /^dorm_sk_/);
  let res = await server.api('GET', `/apps/default/classes/${CLASS}/export?object=solo`, undefined, { token: mine });
  assert.equal(res.status, 200, res.text);
  const archive = res.body;
  assert.deepEqual(archive.subarray(0, MAGIC.length), MAGIC);
  res = await server.api('GET', `/apps/default/classes/${CLASS}/export`, undefined, { token: theirs });
  assert.equal(res.status, 403);
  assert.equal(res.json().error, "This service key belongs to app 'other': it may list, browse, export and import that app's objects only.");
  res = await server.api('POST', `/apps/default/classes/${CLASS}/import?force=true`, archive, { token: theirs });
  assert.equal(res.status, 403);
  res = await server.api('POST', `/apps/default/classes/${CLASS}/import?force=true`, archive, { token: mine });
  assert.equal(res.status, 200, res.text);
  // Another app's classes are out of reach even by name: the key's app is the one checked.
  res = await server.api('GET', `/apps/other/classes/${CLASS}/export`, undefined, { token: mine });
  assert.equal(res.status, 403);
  for (const token of [mine, `dorm_sk_${'0'.repeat(64)}`]) {
    res = await server.api('GET', '/backup', undefined, { token });
    assert.equal(res.status, 401);
  }
  // The objects list takes the app's own key (tests/e2e/service_key_objects.test.mjs), not an
  // unknown one.
  res = await server.api('GET', `/apps/default/classes/${CLASS}/objects`, undefined, { token: `dorm_sk_${'0'.repeat(64)}` });
  assert.equal(res.status, 401);
  // The CLI with the other app's key, through --server/--token.
  const foreign = await runCli(['export', CLASS, '-o', path.join(work, 'foreign.dorm'), '--server', server.url, '--token', theirs]);
  assertCliFailure(assert, foreign, "This service key belongs to app 'other'");
  assert.ok(!fs.existsSync(path.join(work, 'foreign.dorm')));
  assert.ok(!fs.existsSync(path.join(work, 'foreign.dorm.partial')));
});

test('a backup taken while writes run restores into a new data folder with every acknowledged write', async () => {
  // One app only during the write load: with two apps, main's long-turn sharing stalls some
  // objects' requests for many seconds under a tight request loop (seen without any backup).
  const removed = await server.cli(['delete', CLASS, '--app', 'other', '--yes']);
  assert.equal(removed.code, 0, describeCli(removed));
  const env = await server.cli(['env', 'set', 'GREETING', 'hello from before the backup']);
  assert.equal(env.code, 0, describeCli(env));
  const writers = Array.from({ length: 6 }, (_, i) => `busy-${i}`);
  const acked = new Map(writers.map((w) => [w, 0]));
  const ids = await Promise.all(writers.map(async (w) => (await put(w, 'init', 1)).id));
  let stop = false;
  const loops = writers.map(async (w) => {
    for (let n = 1; !stop; n++) {
      await server.json(`/_do/${CLASS}/${w}/pair?n=${n}`);
      acked.set(w, n);
    }
  });
  await server.json(`/_do/${CLASS}/sql-object/sql?label=before`);
  while ([...acked.values()].some((n) => n < 20)) await new Promise((r) => setTimeout(r, 20));
  const before = new Map(acked);
  const dir = path.join(work, 'backup');
  const backup = await cli(['backup', dir]);
  const during = new Map(acked);
  stop = true;
  await Promise.all(loops);
  assert.equal(backup.code, 0, describeCli(backup));
  assert.match(backup.stdout, /^backed up \d+ files to .*backup\.dorm\n$/);
  for (const w of writers) assert.ok(during.get(w) > before.get(w), `${w} kept writing during the backup`);
  const again = await cli(['backup', dir]);
  assertCliFailure(assert, again, 'exists: back up into another folder');

  const frames = parseArchive(fs.readFileSync(path.join(dir, 'backup.dorm')));
  const paths = frames.filter((f) => f.header.type === 'file').map((f) => f.header.path);
  for (const p of ['registry.sqlite', 'usage.sqlite', 'alarms.sqlite', 'secrets.key', 'admin-token']) {
    assert.ok(paths.includes(p), `${p} in the backup`);
  }

  const newData = path.join(work, 'restored');
  const restore = await runCli(['restore', dir, '--data', newData]);
  assert.equal(restore.code, 0, describeCli(restore));
  assert.equal(restore.stdout, `restored ${paths.length} files into ${newData}: start it with dorm serve --data ${newData}\n`);
  const occupied = await runCli(['restore', dir, '--data', newData]);
  assertCliFailure(assert, occupied, 'is not empty: restore into a new folder');

  const restored = await startServer({ dataDir: newData });
  try {
    assert.equal(restored.adminToken(), server.adminToken());
    assert.deepEqual(await restored.classNames(), await server.classNames());
    for (const w of writers) {
      const { a, b } = await restored.json(`/_do/${CLASS}/${w}/pairs`);
      assert.equal(a, b, `${w}: both keys of a turn, or neither`);
      assert.ok(a >= before.get(w), `${w}: write ${before.get(w)} was acknowledged before the backup; restored ${a}`);
      assert.ok(a <= during.get(w));
    }
    assert.deepEqual((await restored.json(`/_do/${CLASS}/sql-object/sql`)).labels, ['before']);
    assert.deepEqual((await restored.json(`/_do/${CLASS}/o-42/get?key=n`)).value, { n: 42, name: 'o-42' });
    assert.deepEqual((await restored.json(`/_do/copy/o-10/sql`)).labels, ['first-o-10', 'second-o-10']);
    assert.equal((await restored.json(`/_do/${CLASS}/x/env?key=GREETING`)).value, 'hello from before the backup');
    // The restored index lists the objects, those the backup's index had not seen included.
    const list = (await restored.api('GET', `/apps/default/classes/${CLASS}/objects?limit=1000`)).json();
    const listed = new Set(list.objects.map((o) => o.id));
    for (const id of ids) assert.ok(listed.has(id), `${id} listed`);
  } finally {
    await restored.stop();
  }
});

test('a damaged backup is refused by restore', async () => {
  const dir = path.join(work, 'damaged');
  fs.mkdirSync(dir);
  const source = fs.readFileSync(path.join(work, 'backup', 'backup.dorm'));
  const damaged = Buffer.from(source);
  damaged[damaged.length - 100] ^= 0xff;
  fs.writeFileSync(path.join(dir, 'backup.dorm'), damaged);
  const result = await runCli(['restore', dir, '--data', path.join(work, 'never')]);
  assertCliFailure(assert, result, /does not match its SHA-256|Invalid frame|truncated/);
  const traversal = path.join(work, 'traversal');
  fs.mkdirSync(traversal);
  fs.writeFileSync(path.join(traversal, 'backup.dorm'), buildArchive([
    { header: { type: 'manifest', kind: 'backup' } },
    { header: { type: 'file', path: 'objects/../../../escaped', size: 1, sha256: '0'.repeat(64) }, data: Buffer.from('x') },
    { header: { type: 'end', files: 1 } }]));
  const escaped = await runCli(['restore', traversal, '--data', path.join(work, 'never2')]);
  assertCliFailure(assert, escaped, "Invalid file path 'objects/../../../escaped' in the archive.");
  assert.ok(!fs.existsSync(path.join(work, 'escaped')));
});
