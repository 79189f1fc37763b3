// Natives made their ArrayBuffers with v8::ArrayBuffer::New, which ends the process when the
// allocator refuses; the isolates' allocator refuses past the app's memory budget, which the app
// fills at will. A tenant holding 112 MiB of ArrayBuffers and then encoding a 16 MiB string
// crashed the runtime process ("Fatal process OOM in v8::ArrayBuffer::New") and every request of
// every app in it. Now such a buffer is refused like a `new ArrayBuffer` over the budget: the
// app's objects are reset with the memory-limit error, and nothing else notices.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';
import { WebSocket } from '../e2e/lib/ws.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const MEMORY_LIMIT_ERROR = "Durable Object's isolate exceeded its memory limit and was reset.";

let server;
before(async () => {
  // One thread, so one isolate for the app: each reset below gives every object a fresh one.
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(path.join(here, 'fixtures', 'buffer_budget.js'), { app: 'filler', name: 'budget' });
  await server.deploy(path.join(here, 'fixtures', 'victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const filler = (p) =>
  server.request(`/_do/budget/${p}`, { headers: { host: `filler.localhost:${server.port}` }, timeoutMs: 60000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });

// Each measured step starts from a fresh isolate, after a request that resets the app (holding
// 200 MiB), so that what the step holds is all the budget holds.
const RESET = 'r/hold?n=200';

test('a native buffer past the app memory budget resets the app, not the runtime process', { timeout: 120000 }, async () => {
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  // SQL storage is the object's own: both measured objects get the row.
  for (const setup of ['a/sql-put', 'b/sql-put', 's/cache-put']) assert.equal((await filler(setup)).status, 200, setup);
  // [step, MiB held that still fit with the step's buffers (all within 128 MiB), MiB held that do
  // not, the size the step reports]. The cipher's 16 MiB input is in the budget as well as its
  // output (it is read in place, outside the budget only as the native's own copy).
  const steps = [
    ['encode', 80, 120, 16 << 20],
    ['clone', 80, 120, 16 << 20],
    ['sql', 100, 126, 3.5 * (1 << 20)],
    ['cache', 80, 122, 8 << 20],
    ['encrypt', 80, 100, (16 << 20) + 16],
  ];
  for (const [step, fits, over, size] of steps) {
    assert.equal((await filler(RESET)).status, 500);
    const refused = await filler(`b/${step}?n=${over}`);
    assert.equal(refused.status, 500, `${step}: ${refused.text}`);
    assert.equal(refused.json().error, MEMORY_LIMIT_ERROR, step);
    const read = await victim('/_do/vault/v/read');
    assert.equal(read.status, 200, `victim after ${step}`);
    assert.equal(read.json().secret, 'victim-secret');
    // The isolate is fresh again: the same step with less held works.
    const res = await filler(`a/${step}?n=${fits}`);
    assert.equal(res.status, 200, `${step}: ${res.text}`);
    assert.equal(res.json().size, size, step);
  }
  assert.equal(server.runtimeCrashes(), 0, server.outputTail());
});

// Dropped buffers count against the budget until the collector frees them. A refusal used to
// reset the app at once, before V8 had collected garbage and asked again: a request that held
// 120 MiB and returned made the next request's 100 MiB reset every object of the app.
test('buffers that are only garbage do not count once collected: V8 and the natives ask again', { timeout: 60000 }, async () => {
  assert.equal((await filler(RESET)).status, 500);
  for (const n of [120, 100, 120, 110]) {
    const res = await filler(`g/hold?n=${n}`);
    assert.equal(res.status, 200, `hold ${n}: ${res.text}`);
    assert.equal(res.json().held, n);
  }
  // A native's buffer (TextEncoder's output) when what the object kept has just become garbage.
  for (const n of [120, 124]) {
    assert.equal((await filler(`g/keep?n=${n}`)).status, 200);
    const res = await filler('g/release-encode');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().size, 16 << 20);
  }
  // Live buffers still count: the same with 120 MiB held is refused, and resets the app.
  const refused = await filler('g/encode?n=120');
  assert.equal(refused.status, 500);
  assert.equal(refused.json().error, MEMORY_LIMIT_ERROR);
  assert.equal(server.runtimeCrashes(), 0, server.outputTail());
});

// A client's binary message when the object's app holds most of its budget: the runtime's copy of
// it for the handler ended the process, so one unauthenticated client could take every app down.
test("a client's WebSocket message past the budget resets the app, not the runtime process", { timeout: 60000 }, async () => {
  const exchange = async (id, n) => {
    assert.equal((await filler(RESET)).status, 500);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/_do/budget/${id}/socket?n=${n}`, {
      headers: { host: `filler.localhost:${server.port}` },
    });
    try {
      return await new Promise((resolve, reject) => {
        ws.on('open', () => ws.send(Buffer.alloc(4 << 20)));
        ws.on('message', (data) => resolve(`message ${data}`));
        ws.on('close', (code, reason) => resolve(`close ${code} ${reason}`));
        ws.on('error', reject);
      });
    } finally {
      ws.terminate();
    }
  };
  assert.equal(await exchange('w1', 80), `message got ${4 << 20}`);
  assert.equal(await exchange('w2', 126), `close 1011 ${MEMORY_LIMIT_ERROR}`);
  const read = await victim('/_do/vault/v/read');
  assert.equal(read.status, 200);
  assert.equal(read.json().secret, 'victim-secret');
  assert.equal(server.runtimeCrashes(), 0, server.outputTail());
});
