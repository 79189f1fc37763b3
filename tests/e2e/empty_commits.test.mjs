// A turn whose transaction changed nothing (the idiomatic `CREATE TABLE IF NOT EXISTS` of a table
// that exists, a DELETE that matched no row) has nothing to make durable: like a turn that only
// read, it is answered without waiting for a flush of the disk. Writes around such turns are
// flushed as always, and survive a kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, startServerWithFailingDisk, fixture } from './lib/dorm.mjs';

const OBJECT = '/_do/table-check/notes';

// The number of storage flushes the server has made (its flush histogram's count).
async function flushes(server) {
  const res = await server.request('/_admin/metrics', { headers: { authorization: `Bearer ${server.adminToken()}` } });
  assert.equal(res.status, 200, res.text);
  const line = res.text.split('\n').find((l) => l.startsWith('dorm_storage_flush_duration_seconds_count '));
  assert.ok(line, 'the flush histogram is exported');
  return Number(line.split(' ')[1]);
}

test('turns that change nothing flush nothing; writes are flushed and survive kill -9', async () => {
  let server = await startServer({ flags: ['--threads', '1'] });
  try {
    await server.deploy(fixture('table_check.js'));
    assert.deepEqual(await server.json(`${OBJECT}/add?text=first`, { method: 'POST' }), { count: 1, texts: ['first'] });
    const before = await flushes(server);
    assert.ok(before >= 1, 'the first write was flushed');

    for (let i = 0; i < 10; i++) {
      assert.deepEqual(await server.json(`${OBJECT}/count`), { count: 1, texts: ['first'] });
      assert.deepEqual(await server.json(`${OBJECT}/miss`), { count: 1, texts: ['first'] });
      assert.deepEqual(await server.json(`${OBJECT}/sync`), { count: 1, texts: ['first'] });
    }
    assert.equal(await flushes(server), before, 'thirty turns that changed nothing made no flush');

    // Writes between them still wait for their flush, each its own (one request at a time).
    for (let i = 0; i < 5; i++) {
      await server.json(`${OBJECT}/add?text=w${i}`, { method: 'POST' });
      await server.json(`${OBJECT}/count`);
    }
    assert.ok(await flushes(server) >= before + 5, 'each acknowledged write was flushed');

    await server.kill9();
    server = await server.restart();
    const after = await server.json(`${OBJECT}/count`);
    assert.deepEqual(after.texts, ['first', 'w0', 'w1', 'w2', 'w3', 'w4']);
  } finally {
    await server.stop();
  }
});

test('while flushes fail, a turn that changed nothing is answered and a write is not', async () => {
  const { server, failFlag } = await startServerWithFailingDisk({ flags: ['--threads', '1'] });
  try {
    await server.deploy(fixture('table_check.js'));
    await server.json(`${OBJECT}/add?text=kept`, { method: 'POST' });
    fs.writeFileSync(failFlag, '');
    // Before, the table check's empty commit waited for a flush, which failed and reset the object.
    assert.deepEqual(await server.json(`${OBJECT}/count`), { count: 1, texts: ['kept'] });
    assert.deepEqual(await server.json(`${OBJECT}/sync`), { count: 1, texts: ['kept'] });
    const failed = await server.request(`${OBJECT}/add?text=lost`, { method: 'POST' });
    assert.equal(failed.status, 500, 'a write whose flush fails is never acknowledged');
    fs.unlinkSync(failFlag);
    const now = await server.json(`${OBJECT}/count`);
    assert.ok(now.texts[0] === 'kept', JSON.stringify(now));
  } finally {
    if (fs.existsSync(failFlag)) fs.unlinkSync(failFlag);
    await server.stop();
  }
});
