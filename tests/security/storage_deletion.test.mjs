// Deleting a class is crash-safe (issue 10, item 13): `kill -9` during `dorm delete` left most of
// the class's files in place, and a class deployed again under the same name served the old data.
// Now the registry records the deletion in the transaction that removes the class, the class's
// folder is moved into a trash folder in one rename, and `dorm serve` finishes interrupted
// deletions (and empties the trash) before serving. A class deployed under a deleted name always
// starts with empty storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const BOX = path.join(here, 'fixtures', 'storage_box.js');
const OBJECTS = 40;
const sanitized = Boolean(process.env.DORM_SANITIZED);
const DELAYS_MS = [0, 150, 3, 60, 8, 20];

async function fill(server, count = OBJECTS) {
  for (let i = 0; i < count; i += 8) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 8); j++) {
      batch.push(server.request(`/_do/storage-box/o${j}/put?size=200&count=5`));
      batch.push(server.request(`/_do/storage-box/o${j}/sql-insert?size=200&count=5`));
    }
    for (const res of await Promise.all(batch)) assert.equal(res.status, 200, res.text);
  }
}

// What each object holds: [keys, SQL rows].
async function contents(server, count = OBJECTS) {
  const out = [];
  for (let j = 0; j < count; j++) {
    const { keys } = await server.json(`/_do/storage-box/o${j}/keys`);
    const { rows } = await server.json(`/_do/storage-box/o${j}/sql-count`);
    out.push([keys.length, rows]);
  }
  return out;
}

test('kill -9 during dorm delete: a redeploy under the same name starts empty', { timeout: 240000 }, async () => {
  let server = await startServer();
  const rounds = sanitized ? 4 : DELAYS_MS.length;
  let interrupted = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      await server.deploy(BOX);
      await fill(server);
      // The deletion is sent and the server killed a moment later, at a different point each round.
      const deletion = server.api('DELETE', '/apps/default/classes/storage-box').catch(() => null);
      await sleep(DELAYS_MS[round % DELAYS_MS.length]);
      await server.kill9();
      await deletion;
      server = await server.restart();
      const classes = await server.classNames();
      if (classes.includes('storage-box')) {
        // Killed before the deletion was recorded: everything must still be there.
        assert.deepEqual(await contents(server), Array(OBJECTS).fill([5, 5]), `round ${round}: data lost`);
        const res = await server.cli(['delete', 'storage-box', '--yes']);
        assert.equal(res.code, 0, res.stderr);
      } else {
        interrupted += 1;
      }
      // Nothing of the deleted class remains on disk, trash included.
      const classDir = path.join(server.dataDir, 'objects', 'default', 'storage-box');
      assert.ok(!fs.existsSync(classDir), `round ${round}: ${classDir} is still there`);
      const trash = path.join(server.dataDir, 'objects', '.trash');
      assert.deepEqual(fs.existsSync(trash) ? fs.readdirSync(trash) : [], [], `round ${round}: trash not emptied`);
      await server.deploy(BOX);
      assert.deepEqual(await contents(server), Array(OBJECTS).fill([0, 0]), `round ${round}: the redeployed class sees old data`);
      await server.cli(['delete', 'storage-box', '--yes']);
    }
    assert.ok(interrupted >= 1, 'at least one round killed the server after the deletion was recorded');
  } finally {
    await server.kill9();
  }
});

test('storage left behind without its class never reaches a class deployed under that name', async () => {
  // As an interrupted deletion of an earlier version left it: the class is gone from the registry
  // but its folder is still there, and a half-removed folder sits in the trash.
  let server = await startServer();
  try {
    await server.deploy(BOX);
    await fill(server, 4);
    await server.stop();
    const classDir = path.join(server.dataDir, 'objects', 'default', 'storage-box');
    const saved = path.join(server.dataDir, 'saved-class');
    fs.cpSync(classDir, saved, { recursive: true });
    server = await server.restart();
    assert.equal((await server.cli(['delete', 'storage-box', '--yes'])).code, 0);
    await server.stop();
    fs.cpSync(saved, classDir, { recursive: true });
    const leftover = path.join(server.dataDir, 'objects', '.trash', 'default.old.0123');
    fs.mkdirSync(leftover, { recursive: true });
    fs.writeFileSync(path.join(leftover, 'x.sqlite'), 'left');

    server = await server.restart();
    assert.ok(!fs.existsSync(leftover), 'the trash is emptied at start');
    await server.deploy(BOX);
    assert.deepEqual(await contents(server, 4), Array(4).fill([0, 0]));
    // And the new class's data is its own from then on.
    assert.equal((await server.request('/_do/storage-box/o0/put?size=3&count=1')).status, 200);
    assert.deepEqual(await contents(server, 1), [[1, 0]]);
  } finally {
    await server.kill9();
  }
});
