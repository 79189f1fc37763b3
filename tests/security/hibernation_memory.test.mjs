// The hibernation API kept its sockets' tags and attachments in native memory, outside the heap
// limit, for as long as their objects lived. WebSocketPair ends can be accepted for hibernation
// without any connection, so the connection limit did not bound them either: three requests of
// one app (32,768 sockets per object, each with ten 250-character tags and a 16 KiB attachment)
// took the runtime process to 2 GiB. An app's hibernatable sockets now hold at most 64 MiB per
// runtime thread; past it acceptWebSocket() and serializeAttachment() throw, and other apps are
// not affected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer } from '../e2e/lib/dorm.mjs';
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
  const grown = rssMiB(server.runtimePid()) - start;
  assert.ok(grown < 400, `the runtime process grew by ${Math.round(grown)} MiB`);
  // The app's next object gets no more room...
  const more = await ask('hoarder', 'd', '/hoard?n=100');
  assert.ok(more.kept <= 1, JSON.stringify(more));
  assert.equal(more.error, MEMORY_ERROR);
  // ...but another app's sockets are not affected.
  assert.deepEqual(await ask('neighbour', 'x', '/small'), { ok: 'ann' });
  assert.equal(server.exitInfo, null);
});
