// Damaged storage must stop the server or the object with a clear error, never be served as
// empty, recreated or overwritten (issue 10, item 16).
//  - a corrupt DATA/registry.sqlite: `dorm serve` exits 1 naming the file (it aborted, exit 134);
//  - a data folder the server cannot write: exit 1 naming the folder and the reason (it said only
//    "alarm index: disk I/O error");
//  - an object database emptied, truncated or overwritten while the server was down: requests to
//    that object get a 500 with SQLite's error (it was served as empty, and SQLite deleted the
//    write-ahead log holding the data); the files stay as they were; other objects keep working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, makeTempDir, runCli, dormBin } from '../e2e/lib/dorm.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const BOX = path.join(here, 'fixtures', 'storage_box.js');

function objectFiles(dataDir, klass = 'storage-box') {
  const out = [];
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(path.join(dataDir, 'objects', 'default', klass));
  return out;
}

// Starts a server, writes 20 entries of 1,000 bytes into each object of `names`, stops it
// cleanly. Returns the stopped server and the object ids.
async function seed(names) {
  const server = await startServer();
  await server.deploy(BOX);
  const ids = {};
  for (const name of names) {
    const res = await server.request(`/_do/storage-box/${name}/put?size=1000&count=20`);
    assert.equal(res.status, 200, res.text);
    ids[name] = (await server.json(`/_do/storage-box/${name}/id`)).id;
  }
  await server.stop();
  return { server, ids };
}

test('a corrupt registry.sqlite stops dorm serve with exit 1 and a message, file untouched', async () => {
  const { server } = await seed(['a']);
  const registry = path.join(server.dataDir, 'registry.sqlite');
  for (const suffix of ['-wal', '-shm']) fs.rmSync(registry + suffix, { force: true });
  const size = fs.statSync(registry).size;
  // Garbage over the header and the first pages.
  const damaged = Buffer.alloc(size, 0x5a);
  fs.writeFileSync(registry, damaged);
  const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', server.dataDir], { timeoutMs: 30000 });
  assert.equal(result.code, 1, `exit code ${result.code} (signal ${result.signal}): ${result.stderr}`);
  assert.match(result.stderr, /registry\.sqlite/);
  assert.match(result.stderr, /damaged|not a database/);
  assert.deepEqual(fs.readFileSync(registry), damaged, 'the damaged registry must be left as it was');
});

test('a data folder the server cannot write stops dorm serve with exit 1, naming it', async () => {
  const { server } = await seed(['a']);
  const dataDir = server.dataDir;
  let result;
  if (process.getuid() === 0) {
    // Permissions do not stop root: run the server as nobody on a folder owned by root.
    // (The temporary folder's parent is the world-traversable system temp folder.)
    fs.chmodSync(dataDir, 0o755);
    for (const f of fs.readdirSync(dataDir)) fs.chmodSync(path.join(dataDir, f), 0o755);
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', dormBin(), 'serve', '--listen', '127.0.0.1:0', '--data', dataDir],
      { timeout: 30000, encoding: 'utf8' },
    );
    result = { code: r.status, signal: r.signal, stderr: r.stderr };
  } else {
    fs.chmodSync(dataDir, 0o500);
    try {
      result = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', dataDir], { timeoutMs: 30000 });
    } finally {
      fs.chmodSync(dataDir, 0o700);
    }
  }
  assert.equal(result.code, 1, `exit code ${result.code} (signal ${result.signal}): ${result.stderr}`);
  assert.ok(result.stderr.includes(dataDir), result.stderr);
  assert.match(result.stderr, /not writable: Permission denied/);
});

for (const [label, damage] of [
  ['emptied (its write-ahead log still holding the data)', (file) => fs.truncateSync(file, 0)],
  ['truncated to 50 bytes', (file) => fs.truncateSync(file, 50)],
  ['overwritten with garbage', (file) => fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size || 8192, 0x41))],
]) {
  test(`an object database ${label} answers 500 and is kept as it is`, async () => {
    const { server, ids } = await seed(['victim', 'healthy']);
    const db = objectFiles(server.dataDir).find((f) => path.basename(f) === `${ids.victim}.sqlite`);
    assert.ok(db, 'the victim object has a database file');
    assert.ok(fs.statSync(`${db}-wal`).size > 0 || fs.statSync(db).size > 0, 'the victim has data on disk');
    damage(db);
    const before = new Map(objectFiles(server.dataDir).filter((f) => f.includes(ids.victim)).map((f) => [f, fs.readFileSync(f)]));
    const restarted = await server.restart();
    try {
      for (const reqPath of ['/_do/storage-box/victim/get?key=key-0', '/_do/storage-box/victim/put?size=5']) {
        const res = await restarted.request(reqPath);
        assert.equal(res.status, 500, `${reqPath}: a damaged database must not be served: ${res.status} ${res.text}`);
        assert.match(res.json().error, /SQLITE_CORRUPT|SQLITE_NOTADB|malformed|not a database/);
      }
      // Another object of the same class is unaffected.
      assert.deepEqual(await restarted.json('/_do/storage-box/healthy/get?key=key-0'), { length: 1000 });
      assert.match(restarted.output, /kept as it is|malformed|not a database/);
    } finally {
      await restarted.stop();
    }
    // Nothing of the victim's files was removed, recreated or rewritten.
    for (const [file, bytes] of before) {
      assert.ok(fs.existsSync(file), `${file} must be kept`);
      assert.deepEqual(fs.readFileSync(file), bytes, `${file} must be left as it was`);
    }
  });
}

