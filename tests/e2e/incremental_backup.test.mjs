// Incremental backups: `dorm backup DIR --incremental-from PREV` copies only the objects whose
// databases changed since PREV (decided by the change sequence the server keeps in its objects
// index, not by file times), refers to the others in PREV's archives, hard-linked into DIR/base,
// and restores on its own with `dorm restore` once every earlier backup is deleted. A backup
// against a change epoch the server no longer has (after a kill -9) is a full one, and says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, runCli, describeCli, assertCliFailure } from './lib/dorm.mjs';

const CLASS = 'inc';
const MAGIC = Buffer.from('DORM-ARCHIVE 1\n');
const META_FILES = 5; // registry, usage, alarms, secrets key, admin token
const names = Array.from({ length: 10 }, (_, i) => `o-${i}`);
let server;
const work = makeTempDir('incremental-backup');
const dir = (name) => path.join(work, name);

before(async () => {
  server = await startServer();
  await server.deploy(fixture('export_backup.js'), { name: CLASS });
});

after(async () => {
  await server?.stop();
});

const put = (name, key, value) =>
  server.json(`/_do/${CLASS}/${name}/put?key=${key}&value=${encodeURIComponent(JSON.stringify(value))}`);

function frames(file) {
  const buf = fs.readFileSync(file);
  assert.deepEqual(buf.subarray(0, MAGIC.length), MAGIC);
  let at = MAGIC.length;
  const out = [];
  while (at < buf.length) {
    const n = buf.readUInt32BE(at);
    const header = JSON.parse(buf.subarray(at + 4, at + 4 + n).toString());
    at += 4 + n + (header.type === 'file' ? header.size : 0);
    out.push(header);
  }
  return out;
}

const objectFiles = (fr) => fr.filter((h) => h.type === 'file' && h.path.startsWith('objects/'));
const refs = (fr) => fr.filter((h) => h.type === 'ref');
const idOf = (p) => path.basename(p, '.sqlite');
const ids = new Map();

async function backup(name, from) {
  const args = ['backup', dir(name)];
  if (from) args.push('--incremental-from', dir(from));
  const result = await server.cli(args, { timeoutMs: 120000 });
  assert.equal(result.code, 0, describeCli(result));
  return result.stdout;
}

test('an incremental backup copies only the objects written since the earlier one', async () => {
  for (const name of names) ids.set(name, (await put(name, 'n', { name, v: 1 })).id);
  const full = await backup('b1');
  assert.equal(full, `backed up ${META_FILES + names.length} files to ${dir('b1')}/backup.dorm\n`);
  const f1 = frames(path.join(dir('b1'), 'backup.dorm'));
  assert.equal(f1[0].incremental, false);
  assert.match(f1[0].changes, /^[0-9a-f]{16}\.\d+$/);
  assert.match(f1[0].backup_id, /^[0-9a-f]{16}$/);
  assert.equal(objectFiles(f1).length, names.length);
  assert.equal(refs(f1).length, 0);

  // Three objects change (one new); the others are only read.
  await put('o-1', 'n', { name: 'o-1', v: 2 });
  await server.json(`/_do/${CLASS}/o-4/sql?label=after-b1`);
  ids.set('o-new', (await put('o-new', 'n', { name: 'o-new', v: 1 })).id);
  for (const name of names) await server.json(`/_do/${CLASS}/${name}/get?key=n`);

  const second = await backup('b2', 'b1');
  assert.equal(second, `backed up ${META_FILES + 3} files to ${dir('b2')}/backup.dorm: 3 objects copied, ` +
    `${names.length - 2} unchanged objects kept from ${dir('b1')} (1 archives linked into ${dir('b2')}/base)\n`);
  const f2 = frames(path.join(dir('b2'), 'backup.dorm'));
  assert.equal(f2[0].incremental, true);
  assert.equal(f2[0].since, f1[0].changes);
  assert.equal(f2[0].base, f1[0].backup_id);
  assert.deepEqual(objectFiles(f2).map((h) => idOf(h.path)).sort(),
    [ids.get('o-1'), ids.get('o-4'), ids.get('o-new')].sort());
  const base1 = `base/${f1[0].backup_id}.dorm`;
  assert.deepEqual(refs(f2).map((h) => h.archive), Array(names.length - 2).fill(base1));
  // Each reference names the bytes the earlier backup holds.
  const held = new Map(objectFiles(f1).map((h) => [h.path, h]));
  for (const r of refs(f2)) {
    assert.equal(r.sha256, held.get(r.path).sha256, r.path);
    assert.equal(r.size, held.get(r.path).size, r.path);
  }
  // A hard link: no second copy of the earlier archive.
  assert.equal(fs.statSync(path.join(dir('b2'), base1)).ino, fs.statSync(path.join(dir('b1'), 'backup.dorm')).ino);
  assert.deepEqual(f2.at(-1), { type: 'end', files: META_FILES + 3, refs: names.length - 2 });
});

test('with nothing written, nothing is copied; later backups refer across the chain', async () => {
  const third = await backup('b3', 'b2');
  assert.match(third, new RegExp(`: 0 objects copied, ${names.length + 1} unchanged objects kept from .*b2 \\(2 archives linked`));
  const f1 = frames(path.join(dir('b1'), 'backup.dorm'));
  const f2 = frames(path.join(dir('b2'), 'backup.dorm'));
  const f3 = frames(path.join(dir('b3'), 'backup.dorm'));
  assert.equal(objectFiles(f3).length, 0);
  const byArchive = {};
  for (const r of refs(f3)) byArchive[r.archive] = (byArchive[r.archive] ?? 0) + 1;
  assert.deepEqual(byArchive, { [`base/${f1[0].backup_id}.dorm`]: names.length - 2, [`base/${f2[0].backup_id}.dorm`]: 3 });

  // One more write, while a write load runs on another object.
  await put('o-2', 'n', { name: 'o-2', v: 3 });
  let stop = false;
  let acked = 0;
  const loop = (async () => {
    for (let n = 1; !stop; n++) {
      await server.json(`/_do/${CLASS}/busy/pair?n=${n}`);
      acked = n;
    }
  })();
  while (acked < 10) await new Promise((r) => setTimeout(r, 20));
  const beforeBackup = acked;
  const fourth = await backup('b4', 'b3');
  stop = true;
  await loop;
  assert.match(fourth, /: 2 objects copied, 10 unchanged objects kept from .*b3 \(2 archives linked/);
  const f4 = frames(path.join(dir('b4'), 'backup.dorm'));
  assert.deepEqual(objectFiles(f4).map((h) => idOf(h.path)).sort(),
    [ids.get('o-2'), (await put('busy', 'probe', 0)).id].sort());

  // Every earlier backup goes; the last one restores on its own.
  for (const name of ['b1', 'b2', 'b3']) fs.rmSync(dir(name), { recursive: true });
  const restoredDir = dir('restored');
  const restore = await runCli(['restore', dir('b4'), '--data', restoredDir]);
  assert.equal(restore.code, 0, describeCli(restore));
  assert.equal(restore.stdout, `restored ${META_FILES + 2 + 10} files into ${restoredDir} (10 unchanged objects ` +
    `from 2 base archives): start it with dorm serve --data ${restoredDir}\n`);
  const restored = await startServer({ dataDir: restoredDir });
  try {
    for (const name of [...names, 'o-new']) {
      const url = `/_do/${CLASS}/${name}/get?key=n`;
      assert.deepEqual(await restored.json(url), await server.json(url), name);
    }
    for (const name of ['o-4', 'o-5']) {
      const url = `/_do/${CLASS}/${name}/sql`;
      assert.deepEqual(await restored.json(url), await server.json(url), name);
    }
    assert.deepEqual((await restored.json(`/_do/${CLASS}/o-4/sql`)).labels, ['after-b1']);
    const { a, b } = await restored.json(`/_do/${CLASS}/busy/pairs`);
    assert.equal(a, b);
    assert.ok(a >= beforeBackup, `write ${beforeBackup} was acknowledged before the backup; restored ${a}`);
  } finally {
    await restored.stop();
  }
});

test('a damaged or missing base archive fails the restore', async () => {
  const f4 = frames(path.join(dir('b4'), 'backup.dorm'));
  const copy = dir('b4-copy');
  fs.mkdirSync(path.join(copy, 'base'), { recursive: true });
  fs.copyFileSync(path.join(dir('b4'), 'backup.dorm'), path.join(copy, 'backup.dorm'));
  const missing = await runCli(['restore', copy, '--data', dir('never-1')]);
  assertCliFailure(assert, missing, /base\/[0-9a-f]{16}\.dorm: cannot read/);
  for (const archive of new Set(refs(f4).map((r) => r.archive))) {
    const bytes = fs.readFileSync(path.join(dir('b4'), archive));
    bytes[bytes.length - 100] ^= 0xff;
    fs.writeFileSync(path.join(copy, archive), bytes);
  }
  const damaged = await runCli(['restore', copy, '--data', dir('never-2')]);
  assertCliFailure(assert, damaged, /does not match its SHA-256|Invalid frame|truncated/);
});

test('the since parameter is checked; another epoch gets a full backup', async () => {
  let res = await server.api('GET', '/backup?since=yesterday');
  assert.equal(res.status, 400);
  assert.equal(res.json().error, 'Invalid since \'yesterday\': use the "changes" value of an earlier backup\'s manifest.');
  res = await server.api('GET', '/backup?since=0123456789abcdef.1&other=1');
  assert.equal(res.status, 400);
  res = await server.api('GET', '/backup?since=0123456789abcdef.1');
  assert.equal(res.status, 200);
  const manifest = JSON.parse(res.body.subarray(MAGIC.length + 4, MAGIC.length + 4 + res.body.readUInt32BE(MAGIC.length)).toString());
  assert.equal(manifest.incremental, false);
  assert.match(manifest.full_reason, /another data folder/);

  const refused = await server.cli(['backup', dir('b4'), '--incremental-from', dir('b4')]);
  assertCliFailure(assert, refused, 'back up into another folder than');
  const noBase = await server.cli(['backup', dir('b5'), '--incremental-from', dir('nowhere')]);
  assertCliFailure(assert, noBase, /nowhere\/backup\.dorm: cannot read/);
  assert.ok(!fs.existsSync(path.join(dir('b5'), 'backup.dorm')));
});

test('a clean restart keeps the change epoch; after a kill -9 the next backup is full', async () => {
  await server.stop();
  server = await server.restart();
  // Written since b4: `busy` (a probe), and o-5, whose first /sql read created its table. o-4's
  // /sql read ran CREATE TABLE IF NOT EXISTS of a table it had: a transaction that changed no
  // page, which is no change.
  const clean = await backup('b6', 'b4');
  assert.match(clean, /: 2 objects copied, 10 unchanged objects kept from/);
  await put('o-3', 'n', { name: 'o-3', v: 4 });
  await server.kill9();
  server = await server.restart();
  const full = await backup('b7', 'b6');
  assert.equal(full, `backed up ${META_FILES + 12} files to ${dir('b7')}/backup.dorm: a full backup, as the earlier ` +
    'backup is from before a restart that did not stop cleanly, a restore, or another data folder\n');
  assert.ok(!fs.existsSync(path.join(dir('b7'), 'base')));
  // The write acknowledged before the kill is in it.
  const restoredDir = dir('restored-full');
  const restore = await runCli(['restore', dir('b7'), '--data', restoredDir]);
  assert.equal(restore.code, 0, describeCli(restore));
  const restored = await startServer({ dataDir: restoredDir });
  try {
    assert.deepEqual(await restored.json(`/_do/${CLASS}/o-3/get?key=n`), { value: { name: 'o-3', v: 4 } });
    // A restored data folder starts an epoch of its own: nothing it backs up builds on b7.
    const fromRestored = await restored.cli(['backup', dir('b9'), '--incremental-from', dir('b7')], { timeoutMs: 120000 });
    assert.equal(fromRestored.code, 0, describeCli(fromRestored));
    assert.match(fromRestored.stdout, /: a full backup, as the earlier backup is from before a restart/);
  } finally {
    await restored.stop();
  }
  // The server's new epoch goes on from b7.
  const afterFull = await backup('b8', 'b7');
  assert.match(afterFull, /: 0 objects copied, 12 unchanged objects kept from/);
});
