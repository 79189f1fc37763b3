// RPC calls made faster than their callee takes them waited in native memory (the caller's output
// gate, the callee's queue), outside every heap limit: 100,000 calls of 10 KB from each of two
// requests took the runtime process to 2 GiB. An app's calls on their way now hold at most
// 256 MiB per runtime thread; past it a call is refused at once, and calls work again once the
// callee has taken the earlier ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep, allocatorSettled } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const IN_FLIGHT_ERROR = 'Error: Too many RPC calls are on their way to their callees: their arguments hold over 256 MiB on this thread. Await some before making more.';

let server;
before(async () => {
  // One thread: the callee runs only between the caller's turns, so every call waits.
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(path.join(here, 'fixtures', 'rpc_flood.js'), { name: 'rpc-flood' });
});

after(async () => {
  await server?.stop();
});

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

test("an app's RPC calls on their way are bounded; the calls made are all answered", { timeout: 120000 }, async () => {
  const start = rssMiB(server.runtimePid());
  const res = await server.request('/_do/rpc-flood/caller/flood?n=40000&size=30000', { timeoutMs: 100000 });
  assert.equal(res.status, 200, res.text);
  const flood = res.json();
  // About 31 KB counted per call: at most 256 MiB of them at once; the others are refused.
  assert.ok(flood.answered > 7000 && flood.answered < 10000, JSON.stringify(flood));
  assert.equal(flood.refused, 40000 - flood.answered);
  assert.equal(flood.error, IN_FLIGHT_ERROR);
  assert.equal(flood.distinct, 1);
  // Unbounded, the 40,000 calls held over 1 GiB. ASan's quarantine keeps freed memory too.
  await allocatorSettled();
  const grown = rssMiB(server.runtimePid()) - start;
  assert.ok(grown < (process.env.DORM_SANITIZED ? 1000 : 700), `the runtime process grew by ${Math.round(grown)} MiB`);
  // Delivered calls gave their bytes back.
  const again = await server.request('/_do/rpc-flood/caller/call');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json(), 3);
  assert.equal(server.exitInfo, null);
});

// The same for stub.fetch() request bodies: a delivered body stays native memory (the Request's
// bytes, outside the heap limit) while the callee's handler runs. A caller's own copies count
// against its isolate's limit, but a caller reset by that limit started again while the bodies it
// had sent stayed: rounds of requests of 100 KB to a callee that never answered took the runtime
// process past 800 MiB. Bodies now count against a bound of their own until the callee's handler
// settles (or is reset); past it a request is refused at once. A body delivered also counts
// against the callee app's memory limit while JavaScript holds it (retained_bodies.test.mjs).
const FETCH_IN_FLIGHT_ERROR = 'Error: Too many stub fetch() requests are unanswered by their callees: their bodies hold over 256 MiB on this thread. Await some before making more.';
const MEMORY_RESET = "Durable Object's isolate exceeded its memory limit and was reset.";

test("an app's stub.fetch() bodies held by a callee that never answers are bounded", { timeout: 120000 }, async () => {
  const errors = new Set();
  let refused = 0;
  let resets = 0;
  for (let round = 0; round < 14; round++) {
    const res = await server.request(`/_do/rpc-flood/fetcher${round}/fetch-flood?n=500&size=100000`, { timeoutMs: 60000 });
    // The bodies the callee was given count against the app's memory limit (one isolate for
    // caller and callee here), as do the caller's own copies: either may reset the app first.
    if (res.status === 500) {
      assert.equal(res.json().error, MEMORY_RESET);
      resets++;
      continue;
    }
    assert.equal(res.status, 200, res.text);
    const flood = res.json();
    if (flood.error) errors.add(flood.error);
    refused += flood.refused;
  }
  assert.ok(refused > 0 || resets > 0, 'neither refused nor reset');
  for (const error of errors) assert.equal(error, FETCH_IN_FLIGHT_ERROR);
  // At most 256 MiB of about 100 KB each (2,681) were held at once, queued or delivered; the
  // callee answers those that have reached it, until none are left (a reset of the isolate, which
  // may come at any round, answered the earlier ones). Calls an object makes reach their callee in
  // the order made, but a request from outside may overtake them: the requests a flood made just
  // before a reset are still on their way to the fresh callee, a few at a time, after the test has
  // its answer. An RPC call made now arrives behind all of them: once it is answered, every one
  // has reached the callee, and the releases below see them all.
  // (Those bodies count against the app's memory limit once delivered: they may reset it again,
  // and the call with it.)
  for (let flushed = null; flushed?.status !== 200;) {
    flushed = await server.request('/_do/rpc-flood/caller/call');
    if (flushed.status !== 200) assert.equal(flushed.json().error, MEMORY_RESET);
  }
  let held = 0;
  for (let answered = -1; answered !== 0;) {
    const released = await server.request('/_do/rpc-flood/callee/release');
    assert.equal(released.status, 200, released.text);
    answered = released.json();
    held += answered;
    await sleep(200);
  }
  assert.ok(held <= 2681, `the callee held ${held}`);
  // Their bytes are given back: requests go through again.
  const again = await server.request('/_do/rpc-flood/caller/fetch');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json(), 0);
  assert.equal(server.exitInfo, null);
});
