// The hibernation API kept its sockets' tags and attachments in native memory, outside the heap
// limit, for as long as their objects lived. WebSocketPair ends can be accepted for hibernation
// without any connection, so the connection limit did not bound them either: three requests of
// one app (32,768 sockets per object, each with ten 250-character tags and a 16 KiB attachment)
// took the runtime process to 2 GiB. An app's hibernatable sockets now hold at most 64 MiB per
// runtime thread; past it acceptWebSocket() and serializeAttachment() throw, and other apps are
// not affected. Sends on such a socket waited in native memory for a connection that never came
// (500 MiB per request); past 16 MiB they are now dropped, as for a client that does not read, and
// a connection that comes later is closed with 1013.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, allocatorSettled } from '../e2e/lib/dorm.mjs';
import { WsClient } from '../e2e/lib/ws.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const MEMORY_ERROR = "Error: The app's hibernatable WebSockets hold too much memory (their tags and attachments, at most 64 MiB): close some, or keep smaller attachments.";

let server;
before(async () => {
  server = await startServer({ flags: ['--threads', '1'] });
  await server.deploy(fixture('hibernation_hoard.js'), { app: 'hoarder', name: 'hibernation-hoard' });
  await server.deploy(fixture('hibernation_hoard.js'), { app: 'neighbour', name: 'hibernation-hoard' });
});

after(async () => {
  await server?.stop();
});

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

const ask = async (app, object, route) => {
  const res = await server.request(`/_do/hibernation-hoard/${object}${route}`, {
    headers: { host: `${app}.localhost:${server.port}` },
    timeoutMs: 60000,
  });
  assert.equal(res.status, 200, res.text);
  return res.json();
};

test("one app's hibernatable sockets cannot hold memory past their bound", { timeout: 120000 }, async () => {
  const start = rssMiB(server.runtimePid());
  let kept = 0;
  for (const object of ['a', 'b', 'c']) {
    const answer = await ask('hoarder', object, '/hoard?n=32768');
    kept += answer.kept;
    // The socket whose attachment was refused stays accepted, without it.
    assert.ok(answer.sockets - answer.kept <= 1, JSON.stringify(answer));
    assert.equal(answer.error, MEMORY_ERROR);
  }
  // Each socket counts about 19 KiB: at most 64 MiB of them, across the app's objects.
  assert.ok(kept > 3000 && kept < 4000, `kept ${kept} sockets`);
  await allocatorSettled();
  const grown = rssMiB(server.runtimePid()) - start;
  // Unbounded, 2 GiB; ASan's quarantine keeps some freed memory.
  assert.ok(grown < (process.env.DORM_SANITIZED ? 700 : 400), `the runtime process grew by ${Math.round(grown)} MiB`);
  // The app's next object gets no more room...
  const more = await ask('hoarder', 'd', '/hoard?n=100');
  assert.ok(more.kept <= 1, JSON.stringify(more));
  assert.equal(more.error, MEMORY_ERROR);
  // ...but another app's sockets are not affected.
  assert.deepEqual(await ask('neighbour', 'x', '/small'), { ok: 'ann' });
  assert.equal(server.exitInfo, null);
});

test('sends on a socket whose connection has not come are bounded', { timeout: 120000 }, async () => {
  const start = rssMiB(server.runtimePid());
  for (const object of ['s1', 's2', 's3']) {
    assert.deepEqual(await ask('neighbour', object, '/send?n=400'), { sent: 400 });
  }
  await allocatorSettled();
  const grown = rssMiB(server.runtimePid()) - start;
  // Unbounded, 1.2 GiB; ASan's quarantine keeps the dropped messages a while.
  assert.ok(grown < (process.env.DORM_SANITIZED ? 700 : 300), `the runtime process grew by ${Math.round(grown)} MiB`);

  // A client that connects after a few messages gets them all...
  const url = (n) => `ws://127.0.0.1:${server.port}/_do/hibernation-hoard/s4/send?n=${n}&connect=1`;
  const headers = { host: `neighbour.localhost:${server.port}` };
  let client = await WsClient.open(url(3), { headers });
  for (let i = 0; i < 3; i++) assert.ok((await client.next()).startsWith(`${i} m`));
  client.terminate();
  // ...and after more than 16 MiB, none of them but a close with 1013, as a client that does not
  // read its messages.
  client = await WsClient.open(url(40), { headers });
  assert.deepEqual(await client.closed, { code: 1013, reason: 'Client too slow' });
  assert.equal(client.messages.length, 0);
  // The object's own Close after that does not replace the 1013; before it, it is what comes.
  client = await WsClient.open(`${url(40)}&close=1`, { headers });
  assert.deepEqual(await client.closed, { code: 1013, reason: 'Client too slow' });
  client = await WsClient.open(`${url(3)}&close=1`, { headers });
  assert.deepEqual(await client.closed, { code: 1000, reason: 'done' });
  assert.equal(client.messages.length, 3);
  assert.equal(server.exitInfo, null);
});
