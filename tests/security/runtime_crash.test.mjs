// Some tenant code ends the process inside V8 itself, past every isolate limit (here
// String.prototype.split on a 512 MiB string: "Fatal JavaScript invalid size error"). The server
// runs its objects in a runtime process that a supervisor restarts: the other apps answer again
// within a bound, no stored data is lost, and the app whose code crashed it is suspended (503 with
// Retry-After, its alarms and deploys wait), 10 s at first and twice as long for each further
// crash, so that one tenant cannot keep the server down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep, waitFor, RUNTIME_CRASH } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('v8_fatal.js'), { app: 'crasher', name: 'bomb' });
  await server.deploy(fixture('v8_fatal.js'), { app: 'alarmist', name: 'bomb' });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
});

after(async () => {
  await server?.stop();
});

const as = (app) => (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `${app}.localhost:${server.port}`, ...(opts.headers ?? {}) } });
const crasher = as('crasher');
const alarmist = as('alarmist');
const victim = as('victim');

function crashLines() {
  return server.lines().filter((l) => /the runtime process \(pid \d+\) ended by signal/.test(l));
}

async function victimRecovers(since) {
  await waitFor(async () => {
    try {
      return (await victim('/_do/vault/v/read', { timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  }, { timeoutMs: 30000, intervalMs: 50, what: 'the victim app to answer again' });
  return Date.now() - since;
}

test('a crash inside V8 restarts the runtime, keeps data and suspends the crashing app', { timeout: 180000 }, async () => {
  assert.equal((await victim('/_do/vault/v/seed')).status, 200);
  assert.equal((await crasher('/_do/bomb/a/count')).json().n, 1);

  server.expectRuntimeCrashes(1);
  const crashedAt = Date.now();
  await assert.rejects(crasher('/_do/bomb/a/split', { timeoutMs: 60000 }), 'the crashing request has no answer');
  const recovery = await victimRecovers(crashedAt);
  assert.ok(recovery < 10000, `the victim answered again after ${recovery} ms`);
  const lines = crashLines();
  assert.equal(lines.length, 1, server.outputTail());
  assert.match(lines[0], /ended by signal SIG\w+ while running app 'crasher'; the app is suspended for 10 s/);

  // Acknowledged data of both apps survived.
  const read = (await victim('/_do/vault/v/read')).json();
  assert.equal(read.secret, 'victim-secret');
  assert.deepEqual(read.rows, ['victim-row']);
  assert.ok(read.alarm > Date.now(), 'the victim keeps its alarm');

  // The crashing app is suspended: requests and deploys get 503 with Retry-After.
  const suspended = await crasher('/_do/bomb/a/count');
  assert.equal(suspended.status, 503, suspended.text);
  assert.match(suspended.json().error, /^App 'crasher' is suspended for \d+ s: its code crashed the server's runtime process\.$/);
  const retryAfter = Number(suspended.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= 10, `retry-after ${retryAfter}`);
  const redeploy = await server.deploy(fixture('v8_fatal.js'), { app: 'crasher', name: 'bomb', check: false });
  assert.equal(redeploy.code, 1);
  assert.match(redeploy.stderr, /App 'crasher' is suspended for \d+ s/);

  // When the suspension ends the app works again, with its data.
  await sleep(retryAfter * 1000 + 200);
  assert.equal((await crasher('/_do/bomb/a/count')).json().n, 2);

  // A second crash within the hour suspends it twice as long.
  server.expectRuntimeCrashes(1);
  await assert.rejects(crasher('/_do/bomb/b/split', { timeoutMs: 60000 }));
  await victimRecovers(Date.now());
  assert.match(crashLines()[1], /while running app 'crasher'; the app is suspended for 20 s/);
  const again = await crasher('/_do/bomb/a/count');
  assert.equal(again.status, 503, again.text);
  assert.equal((await victim('/_do/vault/v/read')).json().secret, 'victim-secret');
});

test('an alarm that crashes the runtime waits for its app\'s suspension to end', { timeout: 180000 }, async () => {
  const before = crashLines().length;
  server.expectRuntimeCrashes(1);
  assert.equal((await alarmist('/_do/bomb/x/split-in-alarm')).status, 200);
  await waitFor(() => crashLines().length > before, { timeoutMs: 30000, what: 'the alarm to crash the runtime' });
  const crashedAt = Date.now();
  assert.match(crashLines()[before], /while running app 'alarmist'; the app is suspended for 10 s/);
  await victimRecovers(crashedAt);
  // The alarm is still due, but it does not fire (and crash again) while the app is suspended.
  await sleep(5000);
  assert.equal(crashLines().length, before + 1, 'the alarm fired again during the suspension');
  assert.equal((await victim('/_do/vault/v/read')).status, 200);
  // It fires when the suspension ends (and crashes again: it is suspended twice as long).
  server.expectRuntimeCrashes(1);
  await waitFor(() => crashLines().length > before + 1, { timeoutMs: 30000, what: 'the alarm to fire again' });
  assert.ok(Date.now() - crashedAt >= 9000, `the alarm fired ${Date.now() - crashedAt} ms after the crash`);
  assert.match(crashLines()[before + 1], /while running app 'alarmist'; the app is suspended for 20 s/);
  await victimRecovers(Date.now());
});

test('the runtime process is a child of the server that holds the port', () => {
  const runtime = server.runtimePid();
  assert.notEqual(runtime, server.proc.pid);
  assert.equal(server.output.match(RUNTIME_CRASH)?.length, server.runtimeCrashes());
});
