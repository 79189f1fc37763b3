// A Worker request whose code can never answer gets workerd's 500 once nothing is left that could
// settle its promise (no timer, subrequest, body or socket); an object's request is never cut
// short, since a later event of the object may still settle it (workerd's answers, recorded with
// the same handlers, are what these tests expect). Asserts that some requests stay unanswered for
// a while: in scripts/test.sh's quiet_files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, describeCli, sleep, waitFor } from './lib/dorm.mjs';

const HUNG = "The Workers runtime canceled this request because it detected that your Worker's code " +
  'had hung and would never generate a response. Refer to: ' +
  'https://developers.cloudflare.com/workers/observability/errors/';
// How long a request that must wait is watched before it counts as still waiting.
const WATCH_MS = 1500;

let server;
const worker = (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `hung-app.localhost:${server.port}`, ...(opts.headers ?? {}) } });

// Resolves to 'waiting' if `request` has not been answered after WATCH_MS, else to its answer.
async function stillWaiting(request) {
  return Promise.race([request.then((res) => res, (err) => err), sleep(WATCH_MS).then(() => 'waiting')]);
}

before(async () => {
  server = await startServer();
  const deployed = await server.cli(['deploy', fixture('hung-project/wrangler.toml')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
});

// Killed: a graceful stop would wait (up to its 30 s) for the objects' requests that still hang.
after(async () => {
  await server?.kill9();
});

test('a Worker whose promise nothing can settle is answered 500 with workerd\'s message', async () => {
  const res = await worker('/hang', { timeoutMs: 10000 });
  assert.equal(res.status, 500);
  assert.deepEqual(res.json(), { error: HUNG });
  // The Worker still serves afterwards.
  const next = await worker('/timer', { timeoutMs: 10000 });
  assert.equal(next.status, 200);
  assert.equal(next.text, 'after the timer');
  assert.match(server.outputTail(), /Uncaught Error: The Workers runtime canceled this request/);
});

test('a Worker request with a timer pending is canceled only once the timer has run', async () => {
  const started = Date.now();
  const res = await worker('/hang-after-timer', { timeoutMs: 10000 });
  const elapsed = Date.now() - started;
  assert.equal(res.status, 500);
  assert.deepEqual(res.json(), { error: HUNG });
  assert.ok(elapsed >= 280, `answered after ${elapsed} ms, before the 300 ms timer ran`);
});

test('a Worker request a later request would settle is canceled, as on workerd', async () => {
  const waiting = worker('/wait', { timeoutMs: 10000 });
  const res = await waiting;
  assert.equal(res.status, 500);
  assert.deepEqual(res.json(), { error: HUNG });
  // The resolver is still there for a later request; calling it changes nothing.
  assert.equal((await worker('/release')).status, 200);
});

test('a Worker waiting on a request to itself that hangs sees that request canceled, as on workerd', async () => {
  const res = await worker('/self-hang', { timeoutMs: 10000 });
  assert.equal(res.status, 200);
  assert.equal(res.text, `caught Error: ${HUNG}`);
});

test('an object\'s fetch() or RPC method that hangs keeps its caller waiting, as on workerd', async () => {
  const [fetched, called] = await Promise.all([
    stillWaiting(worker('/object/hang?name=hang', { timeoutMs: 20000 })),
    stillWaiting(worker('/rpc-hang?name=rpc', { timeoutMs: 20000 })),
  ]);
  assert.equal(fetched, 'waiting');
  assert.equal(called, 'waiting');
});

test('an object\'s promise settled by its timer or by its next request is answered', async () => {
  const timed = await worker('/object/timer?name=timer', { timeoutMs: 10000 });
  assert.equal(timed.status, 200);
  assert.equal(timed.text, 'after the timer');
  const first = worker('/object/wait?name=cross', { timeoutMs: 10000 });
  assert.equal(await stillWaiting(first.then((res) => res)), 'waiting');
  const second = await worker('/object/release?name=cross', { timeoutMs: 10000 });
  assert.equal(second.text, 'did release');
  const res = await first;
  assert.equal(res.status, 200);
  assert.equal(res.text, 'released');
});

test('among many objects, a Worker request waits while one of them has an event running', async () => {
  // The check visits only the objects given something since it last found them idle: the 3,000
  // that answered are dropped from it, the one whose alarm runs keeps the request waiting.
  assert.equal((await worker('/spawn?count=3000', { timeoutMs: 30000 })).text, 'spawned');
  assert.equal((await worker('/object/arm?name=alarmed', { timeoutMs: 10000 })).text, 'armed');
  await waitFor(async () => (await worker('/object/alarm-running?name=alarmed')).text === 'true', { what: 'the alarm' });
  const waiting = worker('/wait', { timeoutMs: 20000 });
  const early = await stillWaiting(waiting.then((res) => res));
  assert.equal(early, 'waiting', early.text);
  // Other Worker requests come and go meanwhile; each runs the check again.
  for (let i = 0; i < 5; i++) assert.equal((await worker('/timer')).text, 'after the timer');
  const released = await worker('/release');
  assert.equal(released.text, 'did release');
  const res = await waiting;
  assert.equal(res.status, 200);
  assert.equal(res.text, 'released');
});
