// One SQL statement could make SQLite write gigabytes of temporary files (a sort of large rows, a
// write's RETURNING rows) and map them back into memory, outside the storage quotas and the
// isolate's heap: `SELECT randomblob(1000000) FROM <3,000 rows> ORDER BY 1` wrote 3 GB to the
// temporary folder and held 3 GB of RSS within one event's CPU limit. Now a temporary file may
// hold --max-sql-temp-mb (1 GiB by default); past it the statement fails with SQLite's "database
// or disk is full" as for the storage quotas, the object is reset with its stored data intact, and
// the server's memory does not follow the temporary files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, allocatorSettled } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const FULL = /database or disk is full: SQLITE_FULL/;

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2', '--max-sql-temp-mb', '32'] });
  await server.deploy(fixture('sql_temp.js'), { app: 'sorter', name: 'sql-temp' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const sorter = (p) => server.request(`/_do/sql-temp${p}`, { headers: { host: `sorter.localhost:${server.port}` }, timeoutMs: 120000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });

function rssMiB() {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

test('a sort within the limit works', async () => {
  const res = await sorter('/a/sort?rows=8');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().l, 1000000);
});

test('a sort whose temporary file passes the limit fails with SQLITE_FULL; stored data is kept', async () => {
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  assert.equal((await sorter('/a/put?v=before')).status, 200);
  const before = rssMiB();
  // 200 MB of rows, against 32 MiB of temporary file.
  const res = await sorter('/a/sort?rows=200');
  assert.equal(res.status, 500, res.text);
  assert.match(res.text, FULL);
  await allocatorSettled();
  const grown = rssMiB() - before;
  assert.ok(grown < 150, `the runtime's RSS grew by ${grown.toFixed(0)} MiB`);
  const state = (await sorter('/a/state')).json();
  assert.equal(state.kept, 'before');
  assert.equal((await victim('/_do/vault/v/read')).json().secret, 'victim-secret');
});

test('RETURNING rows past the limit fail the write as a whole', async () => {
  const res = await sorter('/b/returning?rows=200');
  assert.equal(res.status, 500, res.text);
  assert.match(res.text, FULL);
  assert.equal((await sorter('/b/state')).json().rows, 0, 'no row of the failed INSERT was kept');
  // Within the limit, the same write works.
  const small = await sorter('/b/returning?rows=5');
  assert.equal(small.status, 200, small.text);
  assert.equal(small.json().returned, 5);
  assert.equal((await sorter('/b/state')).json().rows, 5);
});
