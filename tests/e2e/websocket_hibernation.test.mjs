// Hibernation and the life of WebSockets around their object: forced hibernation and wake with
// tags and attachments, auto-responses while asleep, standard sockets pinning their object, the
// hibernatable event timeout, the output gate on send, and what clients see on a redeploy and on
// a server shutdown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

const HIBERNATE_MS = 300;
let server;
let wsBase;

before(async () => {
  server = await startServer({ flags: ['--hibernate-after-ms', String(HIBERNATE_MS), '--idle-evict-seconds', '1'] });
  wsBase = `ws://127.0.0.1:${server.port}/_do`;
  await server.deploy(fixture('ws_probe.js'));
  await server.deploy(fixture('ws_standard.js'));
});

after(async () => {
  await server?.stop();
});

// Polls (each poll is a message, which wakes the object) until the instance that answers has lost
// what `remember:` kept in memory: proof that it was evicted in between. Returns that answer.
async function waitEvicted(client) {
  return waitFor(async () => {
    await sleep(HIBERNATE_MS * 3);
    const me = await client.askJson('whoami');
    return me.memory === null ? me : null;
  }, { timeoutMs: 30000, intervalMs: 0, what: 'the object to hibernate' });
}

test('forced hibernation: the object is evicted, and wakes with every socket, its tags and attachment', async () => {
  const url = `${wsBase}/ws-probe/hib`;
  const a = await WsClient.open(`${url}?name=ann&tags=red,admin`);
  const b = await WsClient.open(`${url}?name=bob&tags=red`);
  const c = await WsClient.open(`${url}?name=cat&tags=blue`);
  const first = await a.askJson('whoami');
  assert.equal(await a.ask('remember:kept in memory', 'remembered'), 'remembered');
  assert.deepEqual(await b.askJson('whoami'), { ctorRuns: first.ctorRuns, memory: 'kept in memory' });

  const woken = await waitEvicted(a);
  assert.ok(woken.ctorRuns > first.ctorRuns, `the constructor ran again: ${JSON.stringify(woken)}`);
  const info = await b.askJson('info');
  assert.equal(info.memory, null);
  assert.deepEqual(
    info.sockets.map((s) => ({ tags: s.tags, attachment: s.attachment, readyState: s.readyState, self: s.self })),
    [
      { tags: ['red', 'admin'], attachment: { name: 'ann', joined: 2 }, readyState: 1, self: false },
      { tags: ['red'], attachment: { name: 'bob', joined: 1 }, readyState: 1, self: true },
      { tags: ['blue'], attachment: { name: 'cat', joined: 1 }, readyState: 1, self: false },
    ],
  );
  assert.deepEqual(info.byTag, { red: 2, admin: 1, blue: 1 });

  // A close while the object sleeps wakes it with webSocketClose; the socket is gone afterwards.
  await waitEvicted(a);
  c.ws.close(4005, 'cat leaves');
  assert.equal((await c.waitClosed()).code, 4005);
  const closeEvent = await waitFor(async () => (await server.json('/_do/ws-probe/hib/events')).find((e) => e.name === 'cat'), {
    what: 'webSocketClose of cat',
  });
  // CLOSING in webSocketClose, as on workerd: the handler may still answer the client's Close.
  assert.deepEqual(closeEvent, {
    kind: 'close', name: 'cat', tags: ['blue'], code: 4005, reason: 'cat leaves', wasClean: true, readyState: 2,
  });
  const after = await a.askJson('info');
  assert.deepEqual(after.sockets.map((s) => s.attachment.name), ['ann', 'bob']);
  a.ws.close();
  b.ws.close();
  await Promise.all([a.waitClosed(), b.waitClosed()]);
});

test('auto-responses and pings are answered while the object sleeps, without waking it', async () => {
  const url = `${wsBase}/ws-probe/auto`;
  const a = await WsClient.open(`${url}?name=ann`);
  const b = await WsClient.open(`${url}?name=bob`);
  assert.deepEqual(
    await server.json('/_do/ws-probe/auto/auto-response?req=ping&res=pong', { method: 'POST' }),
    { request: 'ping', response: 'pong' },
  );
  const woken = await waitEvicted(a);
  // This instance keeps a value; it is lost only if the object is evicted while the pings go on,
  // which it must be, since auto-responses and pongs are not events.
  assert.equal(await a.ask('remember:awake', 'remembered'), 'remembered');
  const started = Date.now();
  let answered = 0;
  while (Date.now() - started < HIBERNATE_MS * 10) {
    await a.send('ping');
    assert.equal(await a.next((d) => d === 'pong', { what: 'the auto-response' }), 'pong');
    a.ws.ping();
    answered++;
    await sleep(HIBERNATE_MS / 3);
  }
  await waitFor(() => a.pongs.length >= answered, { what: 'the pongs' });
  const lastPing = Date.now();
  const me = await a.askJson('whoami');
  assert.equal(me.memory, null, 'the object stayed in memory: the auto-responses kept it awake');
  assert.equal(me.ctorRuns, woken.ctorRuns + 1, 'the auto-responses woke the object');
  const info = await a.askJson('info');
  const [ann, bob] = info.sockets;
  assert.ok(ann.autoResponseAt >= started - 1000 && ann.autoResponseAt <= lastPing + 1000, JSON.stringify(ann));
  assert.equal(bob.autoResponseAt, null);
  // Only an exact match is answered automatically.
  assert.equal(await a.ask('ping ', 'unknown:'), 'unknown:ping ');
  a.ws.close();
  b.ws.close();
  await Promise.all([a.waitClosed(), b.waitClosed()]);
});

test('standard accept() sockets keep their object in memory; without them it is evicted', async () => {
  const c = await WsClient.open(`${wsBase}/ws-standard/pinned`);
  assert.equal(await c.ask('inc', 'count:'), 'count:1');
  // Well past both --hibernate-after-ms and --idle-evict-seconds.
  await sleep(2500);
  assert.equal(await c.ask('inc', 'count:'), 'count:2');
  assert.deepEqual(await server.json('/_do/ws-standard/pinned/inc', { method: 'POST' }), { count: 3 });
  // The control: the same class without a socket loses its counter to eviction.
  assert.deepEqual(await server.json('/_do/ws-standard/unpinned/inc', { method: 'POST' }), { count: 1 });
  await waitFor(async () => {
    await sleep(1500);
    return (await server.json('/_do/ws-standard/unpinned/inc', { method: 'POST' })).count === 1;
  }, { timeoutMs: 30000, intervalMs: 0, what: 'the object without sockets to be evicted' });
  // The close event reaches the listener; the server's close closes the client.
  assert.equal(await c.ask('inc', 'count:'), 'count:4');
  await c.send('close-me');
  assert.deepEqual(await c.waitClosed(), { code: 4100, reason: 'asked to close' });
  const c2 = await WsClient.open(`${wsBase}/ws-standard/pinned`);
  c2.ws.close(4101, 'client leaves');
  await c2.waitClosed();
  const closes = await waitFor(async () => {
    const list = await server.json('/_do/ws-standard/pinned/closes');
    return list.length >= 2 ? list : null;
  }, { what: 'the close events' });
  assert.ok(closes.some((e) => e.code === 4101 && e.reason === 'client leaves' && e.wasClean), JSON.stringify(closes));
});

test('a handler running past setHibernatableWebSocketEventTimeout disconnects the object', async () => {
  const url = `${wsBase}/ws-probe/timeout`;
  const a = await WsClient.open(`${url}?name=ann`);
  const b = await WsClient.open(`${url}?name=bob`);
  assert.equal(await a.ask('timeout:1000', 'timeout-set:'), 'timeout-set:1000');
  // Within the limit: fine.
  assert.equal(await a.ask('slow:20', 'slow-done:'), 'slow-done:20');
  await a.send('slow:20000');
  const message = 'Actor exceeded event execution time and was disconnected.';
  assert.deepEqual(await a.waitClosed(20000), { code: 1011, reason: message });
  assert.deepEqual(await b.waitClosed(20000), { code: 1011, reason: message });
  assert.ok(!a.messages.some((m) => String(m.data).startsWith('slow-done')));
  // The object starts afresh on the next connection.
  const c = await WsClient.open(`${url}?name=cat`);
  assert.equal(await c.ask('echo:again', 'echo:'), 'echo:again');
  c.ws.close();
  await c.waitClosed();
});

test('output gate: a send after a storage write leaves once the write is durable', async () => {
  const gated = await startServer();
  await gated.deploy(fixture('ws_probe.js'));
  const c = await WsClient.open(`ws://127.0.0.1:${gated.port}/_do/ws-probe/gate?name=g`);
  assert.equal(await c.ask('put:durable-value', 'stored:'), 'stored:durable-value');
  await gated.kill9();
  await c.waitClosed();
  const again = await gated.restart();
  try {
    assert.deepEqual(await again.json('/_do/ws-probe/gate/value?key=gated'), { value: 'durable-value' });
  } finally {
    await again.stop();
  }
});

test('a redeploy closes sockets with 1012; a server shutdown closes them with 1001', async () => {
  const s = await startServer();
  await s.deploy(fixture('ws_probe.js'));
  await s.deploy(fixture('ws_standard.js'));
  const base = `ws://127.0.0.1:${s.port}/_do`;
  const hib = await WsClient.open(`${base}/ws-probe/r?name=h`);
  const std = await WsClient.open(`${base}/ws-standard/r`);
  await hib.askJson('whoami');
  assert.equal(await std.ask('inc', 'count:'), 'count:1');
  await s.deploy(fixture('ws_probe.js'));
  const reason = 'Durable Object reset because its code was updated.';
  assert.deepEqual(await hib.waitClosed(), { code: 1012, reason });
  assert.deepEqual(await std.waitClosed(), { code: 1012, reason });

  const h2 = await WsClient.open(`${base}/ws-probe/r?name=h2`);
  const s2 = await WsClient.open(`${base}/ws-standard/r`);
  assert.equal(await s2.ask('inc', 'count:'), 'count:1');
  await h2.askJson('whoami');
  await s.stop();
  assert.equal((await h2.waitClosed()).code, 1001);
  assert.equal((await s2.waitClosed()).code, 1001);
});
