// Cross-tenant isolation: an attacker app deployed next to a victim app, on the same runtime
// thread (so they share the thread's object table), tries every way it has to name the victim's
// objects from inside its own code. Nothing may reach the victim: no read, no write, no freeze,
// no cancelled timer; the victim keeps answering and its data stays exactly as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, sleep } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);

let server;
const victimHost = () => `victim.localhost:${server.port}`;
const attackerHost = () => `attacker.localhost:${server.port}`;

async function call(host, reqPath) {
  const res = await server.request(reqPath, { headers: { host } });
  return res;
}

async function victimState(id = 'v1') {
  const res = await call(victimHost(), `/_do/vault/${id}/read`);
  assert.equal(res.status, 200, res.text);
  return res.json();
}

before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(fixture('victim.js'), { app: 'victim', name: 'vault' });
  await server.deploy(fixture('attacker.js'), { app: 'attacker', name: 'attacker' });
});

after(async () => {
  await server?.stop();
});

test('handles cannot be read, set or forged to reach another app\'s object', async () => {
  // Several victim objects live on the thread, so low slot numbers name them.
  for (const id of ['v1', 'v2', 'v3']) {
    const res = await call(victimHost(), `/_do/vault/${id}/seed`);
    assert.equal(res.status, 200, res.text);
  }
  const before = await victimState('v1');
  assert.equal(before.secret, 'victim-secret');

  const res = await call(attackerHost(), '/_do/attacker/a1/probe?slots=64');
  assert.equal(res.status, 200, res.text);
  const { attempts } = res.json();
  const leaks = attempts.filter((a) => JSON.stringify(a).includes('victim-'));
  assert.deepEqual(leaks, [], 'the attacker saw victim data');

  const ownKeys = attempts.find((a) => a.name === 'own-keys');
  assert.deepEqual(ownKeys.value, [], 'ctx.storage exposes no handle property');
  const constructed = attempts.filter((a) => a.name.startsWith('new '));
  assert.ok(constructed.length >= 24, `expected every constructor to be tried: ${constructed.length}`);
  for (const a of constructed) {
    assert.equal(a.threw, true, `${a.name} made an object: ${JSON.stringify(a)}`);
    assert.equal(a.error, 'TypeError: Illegal constructor', a.name);
  }

  // The victim still answers, with exactly its data.
  for (const id of ['v1', 'v2', 'v3']) {
    const after = await victimState(id);
    assert.equal(after.secret, 'victim-secret');
    assert.deepEqual(after.rows, ['victim-row']);
    assert.ok(after.alarm > Date.now(), 'the victim\'s alarm is still set');
    assert.deepEqual(after.keys.sort(), ['secret']);
  }
  // The attacker's own storage works and holds only its own data.
  const own = await call(attackerHost(), '/_do/attacker/a1/own');
  assert.deepEqual(own.json(), { mine: 'attacker-value', secret: null });
});

test('one app cannot cancel another app\'s timers', async () => {
  const armed = await call(victimHost(), '/_do/vault/t1/arm-timer?ms=1500');
  assert.equal(armed.status, 200, armed.text);
  const cleared = await call(attackerHost(), '/_do/attacker/a2/clear-timers');
  assert.equal(cleared.status, 200, cleared.text);
  let state;
  for (let i = 0; i < 40; i++) {
    await sleep(150);
    state = await victimState('t1');
    if (state.timer === 'fired') break;
  }
  assert.equal(state.timer, 'fired', 'the victim\'s timer was cancelled by another app');
});
