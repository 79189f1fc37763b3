// A storage batch could hold gigabytes of native memory outside the isolate's limits:
// `put()` of an object naming one 3 MB string 1,000 times serialized every occurrence before
// writing (3 GB of RSS), and the key lists of get()/delete() were copied the same way. The bytes a
// batch holds in native memory now count against the isolate's heap limit: past it the isolate is
// reset with Cloudflare's memory-limit error, nothing of the batch is stored, and the server's
// memory stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, allocatorSettled } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const HEAP_MESSAGE = "Durable Object's isolate exceeded its memory limit and was reset.";

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2', '--heap-limit-mb', '64'] });
  await server.deploy(fixture('batch_bomb.js'), { app: 'bomber', name: 'batch' });
});

after(async () => {
  await server?.stop();
});

const bomber = (p) => server.request(`/_do/batch${p}`, { headers: { host: `bomber.localhost:${server.port}` }, timeoutMs: 120000 });

function rssMiB() {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

test('a batch within the heap limit is stored', async () => {
  const res = await bomber('/small/put-values?times=4');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().stored, 4);
});

for (const route of ['put-values', 'get-keys', 'delete-keys']) {
  test(`${route}: one 3 MB string named 1,000 times resets the isolate, not the server's memory`, async () => {
    assert.equal((await bomber('/victim/count')).status, 200);
    const before = rssMiB();
    const res = await bomber(`/big/${route}?times=1000`);
    assert.equal(res.status, 500, res.text);
    assert.equal(res.json().error, HEAP_MESSAGE);
    await allocatorSettled();
    const grown = rssMiB() - before;
    assert.ok(grown < 400, `the runtime's RSS grew by ${grown.toFixed(0)} MiB`);
    // Nothing of the batch was stored, and the app works again with its data.
    const counted = await bomber('/victim/count');
    assert.equal(counted.status, 200, counted.text);
    const stored = await bomber('/big/put-values?times=0');
    assert.equal(stored.json().stored, 0);
  });
}
