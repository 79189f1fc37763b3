// The answer to a client's Close (issue 10, item 18): a hibernatable socket's Close is now answered
// by its webSocketClose handler (its own ws.close(code, reason)), or with the client's code and
// reason once the handler settles. A handler that never settles must not keep the client waiting
// nor the connection open: the connection echoes the client's Close after 10 s by itself, and the
// object keeps serving its other clients meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from '../e2e/lib/dorm.mjs';
import { WsClient } from '../e2e/lib/ws.mjs';

test('a webSocketClose that never settles: the Close is still answered, others are served', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    await server.deploy(fixture('ws_close.js'));
    const base = `ws://127.0.0.1:${server.port}/_do/ws-close/hang`;
    const bystander = await WsClient.open(`${base}/?name=bystander`);
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => WsClient.open(`${base}/?name=h${i}&answer=hang`)));
    const started = Date.now();
    clients.forEach((c, i) => c.ws.close(4000 + i, `bye ${i}`));
    const answers = await Promise.all(clients.map((c) => c.waitClosed(25000)));
    answers.forEach((answer, i) => assert.deepEqual(answer, { code: 4000 + i, reason: `bye ${i}` }));
    const waited = Date.now() - started;
    assert.ok(waited >= 8000 && waited < 25000, `answered after ${waited} ms`);
    // The hanging handlers hold no turn: the object answers its other client.
    assert.deepEqual(await bystander.askJson('props'), { protocol: '', extensions: '', readyState: 1, url: null });
    bystander.ws.close(1000, 'done');
    assert.deepEqual(await bystander.waitClosed(), { code: 1000, reason: 'done' });
    // The hung handlers would hold a shutdown for its whole grace period: a redeploy resets them.
    await server.deploy(fixture('ws_close.js'));
  } finally {
    await server.stop();
  }
});
