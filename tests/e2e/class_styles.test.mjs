// Both class styles (plain constructor(state, env), and `extends DurableObject` with this.ctx and
// this.env), TypeScript sources, and the example classes shipped in examples/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, fixture, EXAMPLES_DIR } from './lib/dorm.mjs';

let server;

before(async () => {
  // Many classes go into the default app here; the per-app limit has its own tests.
  server = await startServer({ flags: ['--max-classes-per-app', '100'] });
});

after(async () => {
  await server?.stop();
});

test('plain class: constructor(state, env) with state.storage and state.id', async () => {
  await server.deploy(fixture('plain_style.js'));
  const first = await server.json('/_do/plain-style/p1');
  assert.equal(first.n, 1);
  assert.equal(first.idName, 'p1');
  assert.match(first.idHex, /^[0-9a-f]{64}$/);
  assert.equal(first.envType, 'object');
  assert.equal((await server.json('/_do/plain-style/p1')).n, 2);
});

test('extends DurableObject from cloudflare:workers, with export default alongside', async () => {
  await server.deploy(fixture('modern_style.js'));
  const first = await server.json('/_do/modern-style/m1');
  assert.deepEqual(
    { n: first.n, idName: first.idName, envType: first.envType, isDurableObject: first.isDurableObject },
    { n: 1, idName: 'm1', envType: 'object', isDurableObject: true },
  );
  assert.match(first.idHex, /^[0-9a-f]{64}$/);
  assert.equal((await server.json('/_do/modern-style/m1')).n, 2);
});

test('TypeScript: extends DurableObject with its own constructor calling super()', async () => {
  await server.deploy(fixture('modern_ctor.ts'));
  assert.deepEqual(await server.json('/_do/modern-ctor/c1'), { sawCtx: true, loaded: 0, idName: 'c1' });
});

test('TypeScript: interfaces, generics, parameter properties, modifiers, casts', async () => {
  await server.deploy(fixture('ts_features.ts'));
  assert.deepEqual(await server.json('/_do/typed-tally/t?dir=up'), { count: 1, last: 'tt:up', clamped: 1, note: null });
  assert.deepEqual(await server.json('/_do/typed-tally/t?dir=up'), { count: 2, last: 'tt:up', clamped: 2, note: null });
  assert.deepEqual(await server.json('/_do/typed-tally/t?dir=down'), { count: 1, last: 'tt:down', clamped: 1, note: null });
});

test('TypeScript: enums', async () => {
  await server.deploy(fixture('ts_enum.ts'));
  assert.deepEqual(await server.json('/_do/enum-user/e'), { green: 1, blue: 10, nameOfOne: 'Green' });
});

test('examples/counter.ts deploys as "counter" and counts', async () => {
  await server.deploy(path.join(EXAMPLES_DIR, 'counter.ts'));
  assert.deepEqual(await server.json('/_do/counter/c/increment'), { count: 1 });
  assert.deepEqual(await server.json('/_do/counter/c/increment'), { count: 2 });
  assert.deepEqual(await server.json('/_do/counter/c/get'), { count: 2 });
  const other = await server.request('/_do/counter/c/elsewhere');
  assert.equal(other.status, 404);
  assert.equal(other.text, 'Not found');
});

test('examples/rpc-counter.ts deploys as "rpc-counter" and counts', async () => {
  await server.deploy(path.join(EXAMPLES_DIR, 'rpc-counter.ts'));
  for (const expected of ['Count: 1', 'Count: 2']) {
    const res = await server.request('/_do/rpc-counter/r');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, expected);
  }
});

test('examples/chat-room.ts deploys as "chat-room" and serves its message list', async () => {
  await server.deploy(path.join(EXAMPLES_DIR, 'chat-room.ts'));
  const detail = await server.api('GET', '/apps/default/classes/chat-room');
  assert.equal(detail.status, 200, detail.text);
  assert.equal(detail.json().class_name, 'ChatRoom');
  assert.deepEqual(await server.json('/_do/chat-room/lobby'), []);
});
