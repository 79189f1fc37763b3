// Natives never trust values that user code can shape: a tenant that replaces built-ins
// (Array.prototype.map, String, Promise.prototype.then, index getters and setters on
// Array.prototype and Object.prototype, ...) and then uses storage, SQL, alarms, WebSockets and
// the response path gets at worst an exception in its own request. The server stays up, and an
// app beside it on the same thread keeps answering with its data intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);

const ATTACKS = ['array-map', 'array-isarray', 'string', 'index-getter', 'object-setters',
  'promise-then', 'object-entries', 'symbol-iterator', 'number', 'date'];

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1', '--cpu-limit-ms', '5000'] });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
  for (const attack of ATTACKS) {
    await server.deploy(fixture('builtins.js'), { app: `hostile-${attack}`, name: 'builtins' });
  }
});

after(async () => {
  await server?.stop();
});

test('replaced built-ins never crash the server or reach another app', async () => {
  const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  for (const attack of ATTACKS) {
    const host = `hostile-${attack}.localhost:${server.port}`;
    // The first request poisons the app's isolate; the second runs in the poisoned isolate.
    for (let round = 0; round < 2; round++) {
      const res = await server.request(`/_do/builtins/b/?attack=${round === 0 ? attack : ''}`, { headers: { host } });
      assert.ok([200, 500].includes(res.status), `${attack}: status ${res.status} ${res.text}`);
      assert.ok(res.text.length > 0, `${attack}: an answer with a body`);
    }
    assert.equal(server.exitInfo, null, `the server died during ${attack}: ${server.outputTail()}`);
    const state = await victim('/_do/vault/v/read');
    assert.equal(state.status, 200, `${attack}: victim ${state.text}`);
    assert.equal(state.json().secret, 'victim-secret');
    assert.deepEqual(state.json().rows, ['victim-row']);
  }
});

test('Array.prototype.map replaced: storage.get([...]) and delete([...]) answer, never crash', async () => {
  // The original report: this pair took the whole process down with SIGSEGV.
  const host = `hostile-array-map.localhost:${server.port}`;
  const res = await server.request('/_do/builtins/original/?attack=array-map', { headers: { host } });
  assert.equal(res.status, 200, res.text);
  const results = res.json();
  assert.ok(results.includes('get-many: ok'), results.join('\n'));
  assert.ok(results.includes('delete-many: ok'), results.join('\n'));
});
