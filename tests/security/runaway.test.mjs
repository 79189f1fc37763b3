// Work that never ends on its own is stopped by the object's limits, and the thread goes back to
// the other apps on it:
// - SQL that recurses forever is interrupted at the CPU limit (it once spun inside SQLite past
//   the limit, forever), with Cloudflare's error;
// - printf() that would repeat a character for hours inside one SQLite instruction answers NULL at
//   once;
// - thousands of 1 ms intervals run under the object's CPU limit and do not keep it alive: the
//   object is reset once they have used it, and the server's CPU use falls back to idle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const CPU_LIMIT_MS = 500;

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1', '--cpu-limit-ms', String(CPU_LIMIT_MS)] });
  await server.deploy(fixture('runaway.js'), { app: 'runaway', name: 'runaway' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const runaway = (p) => server.request(`/_do/runaway${p}`, { headers: { host: `runaway.localhost:${server.port}` }, timeoutMs: 60000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });

// The server process's CPU time in milliseconds (user + system), from /proc.
function cpuMs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;  // utime, stime in ticks (USER_HZ=100)
}

test('a recursive SQL query is interrupted at the CPU limit', async () => {
  const started = Date.now();
  const res = await runaway('/s1/sql-spin');
  const elapsed = Date.now() - started;
  assert.equal(res.status, 500, res.text);
  assert.match(res.json().error, /exceeded its CPU time limit/);
  // Far below forever; generous for a sanitized build on a loaded machine.
  assert.ok(elapsed < 30000, `took ${elapsed} ms`);
  const v = await victim('/_do/vault/v/read');
  assert.equal(v.status, 200);
});

test('printf() with huge %c repetitions answers at once, as SQLite answers a result over the length limit', async () => {
  // 1,000 conversions of 2^31 repetitions: hours inside single SQLite instructions before.
  const res = await runaway('/p1/sql-printf?count=1000');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { s: null });
  const v = await victim('/_do/vault/v/read');
  assert.equal(v.status, 200);
});

test('thousands of 1 ms intervals stop at the object\'s CPU limit and leave the thread idle', async () => {
  const armed = await runaway('/t1/intervals?count=2000');
  assert.equal(armed.status, 200, armed.text);
  // Within a few seconds the intervals have used the object's CPU limit and the object is reset.
  await server.waitForOutput(/timers used more than the CPU limit/, 30000);
  const ticks = await runaway('/t1/ticks');
  assert.equal(ticks.status, 200);
  assert.equal(ticks.json().ticks, 0, 'a fresh instance: the old one and its timers are gone');
  // The process is idle again: under 20% of a core over two seconds.
  const pid = server.runtimePid();
  const before = cpuMs(pid);
  await sleep(2000);
  const used = cpuMs(pid) - before;
  assert.ok(used < 400, `the server used ${used} ms of CPU in 2 s after the reset`);
  const v = await victim('/_do/vault/v/read');
  assert.equal(v.status, 200);
});
