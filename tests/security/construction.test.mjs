// A failed construction fails the events waiting for it and is retried only after a backoff:
// it is never re-run in an endless loop (once ~14,000 resets/s, a core at 100%, megabytes of log
// per second, no answer to the client, SIGTERM not honoured). Atomics.wait() throws instead of
// freezing the thread. Objects of another app on the same thread keep answering meanwhile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const sanitized = Boolean(process.env.DORM_SANITIZED);

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1', '--cpu-limit-ms', '300'] });
  await server.deploy(fixture('bad_constructors.js'), { app: 'bad', name: 'bad-ctor' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const bad = (id) => server.request(`/_do/bad-ctor/${id}/`, { headers: { host: `bad.localhost:${server.port}` }, timeoutMs: 30000 });
const victim = (p) => server.request(p, { headers: { host: `victim.localhost:${server.port}` } });

for (const [kind, message] of [
  ['bcw', /Cannot read properties of undefined \(reading 'defaultValue'\)/],
  ['throw', /constructor refuses/],
  ['spin', /exceeded its CPU time limit/],
]) {
  test(`a ${kind} construction failure answers 500 with the error, without a reset loop`, async () => {
    const linesBefore = server.lines().length;
    const started = Date.now();
    const res = await bad(`${kind}-1`);
    assert.equal(res.status, 500, res.text);
    assert.match(res.json().error, message);
    assert.ok(Date.now() - started < 20000, 'answered within a bound');
    // Requests during the backoff fail fast with the same error, without running the constructor.
    for (let i = 0; i < 5; i++) {
      const again = await bad(`${kind}-1`);
      assert.equal(again.status, 500);
      assert.match(again.json().error, message);
    }
    // Idle for a second: nothing keeps resetting the object in the background.
    const settled = server.lines().length;
    await sleep(1000);
    const grown = server.lines().length - settled;
    assert.ok(grown < 5, `the server kept logging after the failure: ${grown} lines`);
    assert.ok(server.lines().length - linesBefore < 200, 'a bounded number of log lines');
    // The thread is free: another app's object answers at once.
    assert.equal((await victim('/_do/vault/v/read')).status, 200);
    // Once the backoff has passed, a new event tries again (and fails again, with the error).
    await sleep(300);
    const later = await bad(`${kind}-1`);
    assert.equal(later.status, 500);
    assert.match(later.json().error, message);
    // Objects of the same class that construct fine are not affected.
    const ok = await bad('ok-1');
    assert.equal(ok.status, 200, ok.text);
  });
}

test('Atomics.wait() throws instead of freezing the thread', async () => {
  const started = Date.now();
  const res = await bad('wait-1');
  assert.equal(res.status, 500, res.text);
  assert.match(res.json().error, /Atomics\.wait cannot be called in this context/);
  assert.ok(Date.now() - started < (sanitized ? 20000 : 5000));
  assert.equal((await victim('/_do/vault/v/read')).status, 200);
});

test('the server stops promptly on SIGTERM after failed constructions', async () => {
  await bad('bcw-2');
  const started = Date.now();
  await server.stop({ timeoutMs: 15000 });
  assert.ok(Date.now() - started < 15000);
  server = null;
});
