// A failed flush (fsync/syncfs error) leaves its commit's outcome unknown: the commit is in the
// WAL and may survive a restart. The write gets a 500 with Cloudflare's message, and nothing built
// on top of that commit is acknowledged until a flush of the whole WAL succeeds: a read of the
// object made while flushes still fail gets a 500 too, never a 200 that a client could act on.
// The failing disk is simulated by a preloaded library (native/failing_fsync.c) that makes
// fsync(), fdatasync() and syncfs() fail with EIO while a flag file exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, startServerWithFailingDisk } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const e2eFixture = (name) => path.join(here, '..', 'e2e', 'fixtures', name);

test('after a failed flush nothing built on the unconfirmed commit is acknowledged', async () => {
  const started = await startServerWithFailingDisk({ flags: ['--threads', '1'] });
  let server = started.server;
  const flag = started.failFlag;
  try {
    await server.deploy(e2eFixture('crash_counter.js'), { name: 'counter' });
    for (let n = 1; n <= 3; n++) {
      const res = await server.request('/_do/counter/c/inc');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().n, n);
    }

    fs.writeFileSync(flag, '');
    const failed = await server.request('/_do/counter/c/inc');
    assert.equal(failed.status, 500, failed.text);
    assert.match(failed.json().error, /Internal error in Durable Object storage write caused object to be reset/);
    // The disk still fails: a read of the object would show the unconfirmed write, so it is not
    // acknowledged either.
    const unconfirmedRead = await server.request('/_do/counter/c/get');
    assert.equal(unconfirmedRead.status, 500, `a read built on an unconfirmed commit was answered: ${unconfirmedRead.text}\n${server.outputTail()}`);

    fs.unlinkSync(flag);
    // Once a flush succeeds, the commit whose outcome was unknown is durable, and visible.
    const read = await server.request('/_do/counter/c/get');
    assert.equal(read.status, 200, read.text);
    assert.equal(read.json().n, 4);
    const next = await server.request('/_do/counter/c/inc');
    assert.equal(next.status, 200, next.text);
    assert.equal(next.json().n, 5);

    await server.stop();
    server = await startServer({ dataDir: server.dataDir, flags: ['--threads', '1'] });
    const after = await server.request('/_do/counter/c/get');
    assert.equal(after.json().n, 5, 'everything acknowledged survives a restart');
  } finally {
    if (fs.existsSync(flag)) fs.unlinkSync(flag);
    await server?.stop();
  }
});
