// Cloudwerk's Durable Objects, unmodified: `dorm deploy app/objects/` deploys every file of
// examples/cloudwerk/app/objects as class and binding (chat-room.ts → ChatRoom, CHAT_ROOM), and a
// Worker reaches them through `durableObjects` of @cloudwerk/core/bindings. defineDurableObject's
// state is initialised by init(), persisted after every method and handler and kept across a
// restart; `ctx.sql` runs with array parameters; schemas validate; failed calls are
// DurableObjectRPCError, unknown classes DurableObjectNotFoundError; the chat room's WebSocket
// handlers and helper run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, fixture, EXAMPLES_DIR, describeCli } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

let server;
const app = (p) => server.request(p, { headers: { host: `cloudwerk-app.localhost:${server.port}` } });
const call = async (p) => {
  const res = await app(p);
  assert.equal(res.status, 200, res.text);
  return res.json();
};

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  const objects = await server.cli(['deploy', path.join(EXAMPLES_DIR, 'cloudwerk', 'app', 'objects'), '--app', 'cw', '--access', 'public']);
  assert.equal(objects.code, 0, describeCli(objects));
  const worker = await server.cli(['deploy', fixture('cloudwerk-app')]);
  assert.equal(worker.code, 0, describeCli(worker));
});

after(async () => {
  await server?.stop();
});

test('dorm deploy app/objects/ makes a class per file, named as Cloudwerk names them', async () => {
  assert.deepEqual(await server.classNames('cw'), ['analytics', 'chat-room', 'counter', 'rate-limiter']);
  const counter = await server.request('/_do/counter/x', { headers: { host: `cw.localhost:${server.port}` } });
  assert.equal(counter.status, 500, 'Counter has no fetch handler');
  assert.match(counter.json().error, /fetch/);
});

test('methods are RPC methods; state starts from init() and is persisted after each', async () => {
  assert.deepEqual(await call('/counter/increment?id=a&by=5'), { result: 5 });
  assert.deepEqual(await call('/counter/increment?id=a'), { result: 6 });
  assert.deepEqual(await call('/counter/decrement?id=a&by=100'), { result: 0 });
  assert.deepEqual(await call('/counter/increment?id=a&by=7'), { result: 7 });
  assert.deepEqual(await call('/counter/value?id=b'), { result: 0 }, 'another object starts from init()');
  const limits = [];
  for (let i = 0; i < 3; i++) limits.push((await call('/limit?user=u')).result);
  assert.deepEqual(limits.map((l) => [l.allowed, l.remaining]), [[true, 1], [true, 0], [false, 0]]);
});

test('sqlite: true gives ctx.sql with run() and exec() taking parameters as an array', async () => {
  await call('/track?name=view&page=home');
  const counts = await call('/track?name=click&page=about');
  assert.deepEqual(counts.result, [{ name: 'click', count: 1 }, { name: 'view', count: 1 }]);
  const events = (await call('/events')).result;
  assert.deepEqual(events.map((e) => [e.name, JSON.parse(e.properties).page]), [['click', 'about'], ['view', 'home']]);
});

test('a schema validates the state; failures are DurableObjectRPCError with the method name', async () => {
  assert.deepEqual(await call('/session/set?id=s&user=ann'), { result: 'ann' });
  assert.equal((await call('/session/get?id=s')).result.userId, 'ann');
  const corrupt = await call('/session/corrupt?id=s');
  assert.deepEqual(corrupt, {
    error: 'invalid session state', name: 'DurableObjectRPCError', rpc: true, notFound: false, methodName: 'corrupt',
  });
  const missing = await call('/missing');
  assert.equal(missing.name, 'DurableObjectNotFoundError');
  assert.equal(missing.notFound, true);
});

test('the chat room accepts WebSockets with tags, broadcasts, and keeps its messages', async () => {
  const url = (user) => `ws://127.0.0.1:${server.port}/_do/chat-room/lobby?username=${user}`;
  const headers = { host: `cw.localhost:${server.port}` };
  const ann = await WsClient.open(url('ann'), { headers });
  assert.deepEqual(JSON.parse(await ann.next()), { type: 'history', messages: [] });
  const bob = await WsClient.open(url('bob'), { headers });
  await bob.next((d) => JSON.parse(d).type === 'history');
  const joined = JSON.parse(await ann.next((d) => JSON.parse(d).type === 'join'));
  assert.equal(joined.user, 'bob');
  bob.send(JSON.stringify({ type: 'message', text: 'hi ann' }));
  const said = JSON.parse(await ann.next((d) => JSON.parse(d).type === 'message'));
  assert.deepEqual([said.user, said.text], ['bob', 'hi ann']);
  const carol = await WsClient.open(url('carol'), { headers });
  const history = JSON.parse(await carol.next((d) => JSON.parse(d).type === 'history'));
  assert.deepEqual(history.messages.map((m) => `${m.user}: ${m.text}`), ['bob: hi ann']);
  for (const ws of [ann, bob, carol]) ws.ws.close();
});

test('the state survives a restart of the server', async () => {
  assert.deepEqual(await call('/counter/increment?id=durable&by=3'), { result: 3 });
  await server.stop();
  server = await server.restart();
  assert.deepEqual(await call('/counter/value?id=durable'), { result: 3 });
  assert.deepEqual(await call('/counter/increment?id=durable'), { result: 4 });
});
