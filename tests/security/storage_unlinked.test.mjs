// Files removed under a running server (issue 10, item 14): writes were acknowledged into the
// unlinked database and silently lost (a flush treated a missing file as success). Now a commit
// checks that the database file is still the one it opened, and a flush fails when a file is gone:
// the write gets a 500, the object is reset, and the error is logged; nothing is acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const BOX = path.join(here, 'fixtures', 'storage_box.js');

function databaseOf(dataDir, id) {
  const file = path.join(dataDir, 'objects', 'default', 'storage-box', id.slice(0, 2), `${id}.sqlite`);
  assert.ok(fs.existsSync(file), `${file} exists`);
  return file;
}

for (const [label, remove] of [
  ['the database and its log', (db) => {
    fs.rmSync(db);
    fs.rmSync(`${db}-wal`);
  }],
  ['the whole class folder', (db) => fs.rmSync(path.dirname(path.dirname(db)), { recursive: true })],
  ['only the write-ahead log', (db) => fs.rmSync(`${db}-wal`)],
  ['only the database (replaced by another file)', (db) => {
    fs.rmSync(db);
    fs.writeFileSync(db, '');
  }],
]) {
  test(`a write after ${label} was removed is refused, never acknowledged`, async () => {
    const server = await startServer();
    try {
      await server.deploy(BOX);
      assert.equal((await server.request('/_do/storage-box/victim/put?size=100&count=3')).status, 200);
      const { id } = await server.json('/_do/storage-box/victim/id');
      // An open cursor keeps the object's connection open (no idle close), so the next write goes
      // to the database that was open when its files were removed.
      assert.equal((await server.request('/_do/storage-box/victim/cursor-open')).status, 200);
      remove(databaseOf(server.dataDir, id));
      const res = await server.request('/_do/storage-box/victim/put?key=after&size=100&count=1');
      assert.equal(res.status, 500, `the write must not be acknowledged: ${res.status} ${res.text}`);
      assert.match(res.json().error, /storage/i);
      await waitForLog(server, /removed or replaced while open|flush failed|stat .*No such file/);
      // The server stays up; other objects keep working.
      assert.equal((await server.request('/_do/storage-box/other/put?size=10&count=1')).status, 200);
      assert.deepEqual(await server.json('/_do/storage-box/other/get'), { length: 10 });
    } finally {
      await server.stop();
    }
  });
}

async function waitForLog(server, pattern) {
  await server.waitForOutput(pattern, 10000);
}
