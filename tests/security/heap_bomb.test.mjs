// A tenant's single allocation larger than the headroom left at its isolate's heap limit
// (`new Array(33554431)`: a 256 MiB backing store) ended the whole server with "Fatal javascript
// OOM in Reached heap limit". Now the headroom granted at the limit holds the largest object one
// allocation can ask for: the isolate is terminated and reset with Cloudflare's memory-limit
// error, and the server, the tenant's stored data and the other apps are untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('heap_bomb.js'), { app: 'bomber', name: 'bomb' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const bomber = (p) =>
  server.request(`/_do/bomb${p}`, { headers: { host: `bomber.localhost:${server.port}` }, timeoutMs: 120000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });

test('allocations larger than the heap headroom reset the isolate, not the server', { timeout: 300000 }, async () => {
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  assert.equal((await bomber('/keeper/count')).json().n, 1);
  for (const route of ['holey-arrays', 'filled-array']) {
    // Twice on each of several objects (both threads), and twice at once.
    for (const id of ['a', 'b', 'c']) {
      const res = await bomber(`/${id}/${route}`);
      assert.equal(res.status, 500, `${route} on ${id}: ${res.text}`);
      assert.equal(res.json().error, "Durable Object's isolate exceeded its memory limit and was reset.");
    }
    const both = await Promise.all([bomber(`/d/${route}`), bomber(`/e/${route}`)]);
    for (const res of both) assert.equal(res.status, 500, res.text);
    const read = await victim('/_do/vault/v/read');
    assert.equal(read.status, 200);
    assert.equal(read.json().secret, 'victim-secret');
  }
  // The tenant's own storage is intact and its objects work again.
  assert.equal((await bomber('/keeper/count')).json().n, 2);
});
