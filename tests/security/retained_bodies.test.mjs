// A request body the runtime hands an object is the request's own memory (not copied into the
// isolate), and it was counted nowhere: an object that kept the requests it was given (or their
// bodies) after answering held them natively without limit. 96 stub.fetch() bodies of 16 MiB took
// the runtime process to 1.6 GiB. They now count against the app's memory limit for as long as
// JavaScript holds them: past it the app is reset (its objects drop what they kept), as for a
// `new ArrayBuffer`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MEMORY_RESET = "Durable Object's isolate exceeded its memory limit and was reset.";

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(path.join(here, 'fixtures', 'body_keeper.js'), { name: 'body-keeper' });
});

after(async () => {
  await server?.stop();
});

function rssMiB(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
}

test('bodies an object keeps after answering count against its app memory limit', { timeout: 120000 }, async () => {
  const pid = server.runtimePid();
  const start = rssMiB(pid);
  let peak = start;
  let resets = 0;
  // 96 bodies of 16 MiB, 16 per request: 1.5 GiB if they were all kept.
  for (let round = 0; round < 6; round++) {
    const res = await server.request(`/_do/body-keeper/sender/send?n=16&size=${16 << 20}`, { timeoutMs: 60000 });
    if (res.status === 500) {
      assert.equal(res.json().error, MEMORY_RESET);
      resets++;
    } else {
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json(), 16);
    }
    peak = Math.max(peak, rssMiB(pid));
  }
  assert.ok(resets > 0, 'the app was never reset');
  // One app's limit (128 MiB of buffers and as much heap), plus the bodies on their way. ASan's
  // quarantine keeps freed memory for a while.
  const bound = process.env.DORM_SANITIZED ? 1200 : 600;
  assert.ok(peak - start < bound, `the runtime process grew by ${Math.round(peak - start)} MiB`);
  // The app answers again afterwards, and its kept bodies were dropped with its objects.
  const count = await server.request('/_do/body-keeper/keeper/count');
  assert.equal(count.status, 200, count.text);
  assert.ok(count.json() < 96, `the keeper still keeps ${count.json()}`);
  const small = await server.request('/_do/body-keeper/sender/send?n=2&size=1000');
  assert.equal(small.status, 200, small.text);
  assert.equal(small.json(), 2);
  assert.equal(server.exitInfo, null);
});
