// WebAssembly memories live outside V8's heap, so the heap limit did not see them: one request
// held 32 × 64 MiB of written pages (2 GiB) in a 128 MiB-limit isolate, or grew one memory to
// 2 GiB. Now every memory's size is charged against the app's limit, as ArrayBuffers are: the
// isolate is reset with Cloudflare's memory-limit error, the server and the other apps are
// untouched, and memories the program dropped are given back by the garbage collector.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, allocatorSettled } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const MEMORY_LIMIT_ERROR = "Durable Object's isolate exceeded its memory limit and was reset.";

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('wasm_memory_bomb.js'), { app: 'bomber', name: 'bomb' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const bomber = (p) =>
  server.request(`/_do/bomb${p}`, { headers: { host: `bomber.localhost:${server.port}` }, timeoutMs: 120000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });
const rssMiB = () => {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
};

test('WebAssembly memories count against the app memory limit', { timeout: 300000 }, async () => {
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  assert.equal((await bomber('/keeper/bump')).json().n, 1);
  const rssBefore = rssMiB();
  for (const route of ['hold', 'grow', 'subclass']) {
    for (const id of ['a', 'b']) {
      const res = await bomber(`/${id}/${route}`);
      assert.equal(res.status, 500, `${route} on ${id}: ${res.text}`);
      assert.equal(res.json().error, MEMORY_LIMIT_ERROR);
    }
    const read = await victim('/_do/vault/v/read');
    assert.equal(read.status, 200);
    assert.equal(read.json().secret, 'victim-secret');
  }
  // Without the charge, each request above kept up to 2 GiB resident until the collector ran.
  await allocatorSettled();
  const grown = rssMiB() - rssBefore;
  assert.ok(grown < 768, `the server grew by ${grown.toFixed(0)} MiB`);
  // The tenant's storage is intact and its objects work again.
  assert.equal((await bomber('/keeper/bump')).json().n, 2);
});

test('memories that were dropped are given back, so a loop of them stays under the limit', { timeout: 120000 }, async () => {
  for (let i = 0; i < 3; i++) {
    const res = await bomber('/churner/churn');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().total, 100 * 256 * 65536);
  }
});

test('WebAssembly.Memory keeps its interface', async () => {
  const res = await bomber('/small/small');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    before: 2, bytes: 5 * 65536, isMemory: true, sameConstructor: true, name: 'Memory', length: 1,
    growLength: 1, pages: 65536,
  });
});
