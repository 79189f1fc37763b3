// Close handshakes compared with workerd (tests/e2e/fixtures/ws_close.js ran on both, workerd
// 2026-10-23 at compatibility date 2026-10-01): who answers the peer's Close and with what, what
// the object's close handler hears when the server closes first, readyState in the handler, and
// protocol/extensions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, waitFor } from './lib/dorm.mjs';
import { WsClient, RawWs, frame } from './lib/ws.mjs';

let server;
let wsBase;

before(async () => {
  server = await startServer();
  wsBase = `ws://127.0.0.1:${server.port}/_do/ws-close`;
  await server.deploy(fixture('ws_close.js'));
});

after(async () => {
  await server?.stop();
});

async function events(id, count = 1) {
  return waitFor(async () => {
    const list = (await server.json(`/_do/ws-close/${id}/events`)).filter((e) => typeof e === 'object');
    return list.length >= count ? list : null;
  }, { what: `${count} close event(s) of ${id}` });
}

// The client closes with 4321 "client bye"; resolves with what it received back.
async function clientCloses(id, query) {
  const c = await WsClient.open(`${wsBase}/${id}/?name=c&${query}`);
  c.ws.close(4321, 'client bye');
  return c.waitClosed();
}

test('the server closes first: the close handler hears the client\'s answering code and reason, wasClean', async () => {
  for (const mode of ['hib', 'std']) {
    const id = `server-first-${mode}`;
    const c = await WsClient.open(`${wsBase}/${id}/?name=s&mode=${mode}`);
    // ws answers with the server's code; it is what the handler hears, not 1006.
    await c.send('server-close:4100:server bye');
    assert.deepEqual(await c.waitClosed(), { code: 4100, reason: 'server bye' });
    assert.deepEqual(await events(id), [{ name: 's', code: 4100, reason: 'server bye', wasClean: true, readyState: 3 }], mode);
  }
  // A client that answers with a code and reason of its own.
  const raw = await RawWs.open(server.port, '/_do/ws-close/server-first-raw/?name=r');
  raw.write(frame({ opcode: 1, payload: 'server-close:4200:go away' }));
  const close = await raw.nextClose();
  assert.deepEqual([close.code, close.reason], [4200, 'go away']);
  raw.write(frame({ opcode: 8, payload: Buffer.concat([Buffer.from([0x0f, 0xa1]), Buffer.from('my own words')]) }));
  await raw.waitEnded();
  raw.destroy();
  assert.deepEqual(await events('server-first-raw'), [{ name: 'r', code: 4001, reason: 'my own words', wasClean: true, readyState: 3 }]);
});

test("webSocketClose's own close(4000, 'Closing') is what the client receives (Cloudflare's skill ChatRoom)", async () => {
  assert.deepEqual(await clientCloses('hib-close', 'answer=close'), { code: 4000, reason: 'Closing' });
  // In the handler the socket is CLOSING until it closes, then CLOSED.
  assert.deepEqual(await events('hib-close'), [{
    name: 'c', code: 4321, reason: 'client bye', wasClean: true, readyState: 2, readyStateAfterClose: 3,
  }]);
  // The skill's ChatRoom closes with the client's code and its own reason.
  assert.deepEqual(await clientCloses('hib-skill', 'answer=skill'), { code: 4321, reason: 'Closing' });
  // After an await (a storage write, which the output gate waits for) too.
  assert.deepEqual(await clientCloses('hib-await', 'answer=await-close'), { code: 4001, reason: 'after await' });
});

test('a webSocketClose that does not close, or throws, gets the client\'s code and reason echoed', async () => {
  // workerd leaves such a connection without a Close (the client sees 1006 after its own timeout);
  // answering with the client's Close completes the handshake instead.
  assert.deepEqual(await clientCloses('hib-none', 'answer=none'), { code: 4321, reason: 'client bye' });
  assert.deepEqual(await events('hib-none'), [{ name: 'c', code: 4321, reason: 'client bye', wasClean: true, readyState: 2 }]);
  assert.deepEqual(await clientCloses('hib-throw', 'answer=throw'), { code: 4321, reason: 'client bye' });
  // A Close without a code is answered by a Close without a code.
  const raw = await RawWs.open(server.port, '/_do/ws-close/hib-empty/?name=e');
  raw.write(frame({ opcode: 8 }));
  const answer = await raw.nextClose();
  assert.equal(answer.payload.length, 0);
  await raw.waitEnded();
  raw.destroy();
  assert.deepEqual(await events('hib-empty'), [{ name: 'e', code: 1005, reason: '', wasClean: true, readyState: 2 }]);
});

test('an accept()ed socket answers the client at once, echoing code and reason, as workerd does', async () => {
  for (const answer of ['none', 'close']) {
    const id = `std-${answer}`;
    assert.deepEqual(await clientCloses(id, `mode=std&answer=${answer}`), { code: 4321, reason: 'client bye' });
    const [event] = await events(id);
    assert.deepEqual([event.code, event.reason, event.wasClean, event.readyState], [4321, 'client bye', true, 3]);
  }
});

test("protocol and extensions are '' and url null, as on workerd", async () => {
  for (const mode of ['hib', 'std']) {
    const c = await WsClient.open(`${wsBase}/props-${mode}/?mode=${mode}`);
    assert.deepEqual(await c.askJson('props'), { protocol: '', extensions: '', readyState: 1, url: null });
    c.ws.close(1000);
    await c.waitClosed();
  }
});
