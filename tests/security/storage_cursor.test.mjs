// A SQL cursor left open across the database's idle close (issue 10, item 6): the close read the
// cursor's remaining rows into C++ memory, so an endless query grew the server by ~110 MiB/s to
// 2.7 GB. Now a connection with open cursors is not closed when idle, and a close that must happen
// (deleteAll(), eviction, reset) cancels the cursor as workerd does: its next read throws
// "SQLite query was canceled because the database was deleted.". Nothing is read ahead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, sleep, allocatorSettled } from '../e2e/lib/dorm.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const BOX = path.join(here, 'fixtures', 'storage_box.js');

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

test('an endless cursor kept open across idle closes keeps memory bounded and keeps working', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    await server.deploy(BOX);
    assert.deepEqual(await server.json('/_do/storage-box/reader/cursor-open'), { first: 1 });
    const before = rssMiB(server.runtimePid());
    // Connections are closed after 1 s without storage use; wait for several sweeps.
    await sleep(4000);
    const after = rssMiB(server.runtimePid());
    assert.ok(after - before < 64, `RSS grew from ${before.toFixed(0)} to ${after.toFixed(0)} MiB`);
    // The cursor still reads where it was.
    assert.deepEqual(await server.json('/_do/storage-box/reader/cursor-next?n=2'), { last: 3 });
    // Other objects are unaffected.
    assert.equal((await server.request('/_do/storage-box/other/put?size=10&count=1')).status, 200);
  } finally {
    await server.stop();
  }
});

test('deleteAll() with an open cursor cancels it as workerd does', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    await server.deploy(BOX);
    assert.deepEqual(await server.json('/_do/storage-box/reader/cursor-open'), { first: 1 });
    const before = rssMiB(server.runtimePid());
    assert.equal((await server.request('/_do/storage-box/reader/delete-all')).status, 200);
    await allocatorSettled();
    const after = rssMiB(server.runtimePid());
    assert.ok(after - before < 64, `RSS grew from ${before.toFixed(0)} to ${after.toFixed(0)} MiB`);
    const res = await server.request('/_do/storage-box/reader/cursor-next?n=1');
    assert.equal(res.status, 599, res.text);
    assert.deepEqual(res.json(), { caught: 'Error: SQLite query was canceled because the database was deleted.' });
    // The object keeps working.
    assert.equal((await server.request('/_do/storage-box/reader/put?size=10&count=1')).status, 200);
  } finally {
    await server.stop();
  }
});
