// Resource exhaustion through the HTTP front without credentials (issue 10, items 9 and 10):
// connections that never finish (or never start) a request, more connections than the server can
// hold, and large unfinished bodies. Each test checks the server's answer, that it stays up, and
// that another app (the victim) keeps answering within a bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startServer,
  fixture,
  RawConnection,
  httpRequest,
  assertServerError,
  sleep,
  waitFor,
  allocatorSettled,
} from '../e2e/lib/dorm.mjs';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const BUDGET = 16 << 20;
const MAX_CONNECTIONS = 12;
// ASan keeps freed memory in quarantine (256 MiB by default: the body buffers outgrown as bytes
// arrive, the chunks passed to the object), which shows in the RSS; this file's server keeps
// 32 MiB of it, so that RSS still tells held bodies from freed ones.
if (process.env.DORM_SANITIZED) {
  process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ?? ''}:quarantine_size_mb=32`;
}
const RSS_SLACK = (process.env.DORM_SANITIZED ? 32 + 32 : 32) << 20;
// The streamed bodies' chunks become garbage in the object's isolate as they are read; until V8
// collects them they count in the RSS, and V8 lets young ArrayBuffers reach twice its largest
// semi-space (2 x 16 MiB) before a young-generation collection (release: measured 35 to 36 MiB of
// growth here with two test files at once, against the 80 MiB sent). Under the sanitizers
// collection lags further behind (measured 31 to 85 MiB), so the bound there is looser; the
// release build's run checks the window.
const STREAMED_SLACK = (process.env.DORM_SANITIZED ? 40 + 64 : 40) << 20;

let server;

before(async () => {
  server = await startServer({
    flags: [
      '--header-timeout-seconds', '1',
      '--body-timeout-seconds', '1',
      '--keep-alive-timeout-seconds', '1',
      '--max-buffered-body-bytes', String(BUDGET),
      '--max-connections', String(MAX_CONNECTIONS),
    ],
  });
  await server.deploy(path.join(FIXTURES, 'http_probe.js'), { name: 'open-probe' });
  await server.deploy(path.join(FIXTURES, 'http_probe.js'), { name: 'closed-probe', access: 'authenticated' });
  await server.deploy(fixture('echo.js'), { name: 'echo', app: 'victim' });
});

after(async () => {
  await server?.stop();
});

async function assertVictimAnswers() {
  assert.equal(server.exitInfo, null, `the server exited\n${server.outputTail()}`);
  const res = await httpRequest({
    port: server.port,
    path: '/_do/echo/victim/x?tag=alive',
    headers: { host: `victim.localhost:${server.port}` },
    timeoutMs: 10000,
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().tag, 'alive');
}

function rssBytes() {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

const SLOW_STARTS = [
  ['no bytes at all', ''],
  ['half a request line', 'GET /_do/open-probe/a/x HT'],
  ['half the headers', 'GET /_do/open-probe/a/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: '],
  ['half the body', 'POST /_do/open-probe/a/x?op=size HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part'],
  ['half a chunked body', 'POST /_do/open-probe/a/x?op=size HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc'],
];

for (const [label, payload] of SLOW_STARTS) {
  test(`a connection that stops after ${label} is timed out`, async () => {
    const conn = await RawConnection.open(server.port);
    try {
      if (payload) await conn.write(payload);
      // 1 s timeouts; well under the 300 s the attack used to hold a connection.
      assert.ok(await conn.waitClosed(15000), `still open after 15 s (${label})`);
      if (payload) {
        const text = conn.buffer.toString();
        assert.match(text, /^HTTP\/1\.1 408 /, `expected a 408 before the close, got ${JSON.stringify(text.slice(0, 80))}`);
      } else {
        assert.equal(conn.buffer.length, 0);
      }
    } finally {
      conn.close();
    }
    await assertVictimAnswers();
  });
}

test('an idle kept-alive connection is closed after the keep-alive timeout', async () => {
  const conn = await RawConnection.open(server.port);
  try {
    await conn.write('GET /_do/open-probe/k/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const res = await conn.readResponse();
    assert.equal(res.status, 200, res.text);
    assert.ok(await conn.waitClosed(15000), 'an idle keep-alive connection was never closed');
  } finally {
    conn.close();
  }
});

test('past the connection limit a new connection is answered 503 and closed; freed slots serve again', async () => {
  const held = [];
  try {
    // Opened at once, well within the 1 s header timeout: the first ones hold every slot.
    for (let i = 0; i < MAX_CONNECTIONS + 5; i++) held.push(await RawConnection.open(server.port));
    const isRefused = (c) => c.buffer.toString().startsWith('HTTP/1.1 503');
    await waitFor(() => held.filter(isRefused).length >= 5, { what: 'five refused connections' }).catch(() => {});
    const refused = held.filter(isRefused);
    assert.ok(refused.length >= 5, `${refused.length} of ${held.length} connections refused with 503`);
    for (const c of refused) {
      const res = await c.readResponse();
      assertServerError(assert, res, 503);
      assert.ok(await c.waitClosed(5000));
    }
  } finally {
    for (const c of held) c.close();
  }
  await sleep(200);
  await assertVictimAnswers();
  assert.match(server.output, /connection refused: \d+ connections open, the limit is 12/);
});

async function streamUnfinishedBody(target, headers, bytes) {
  const conn = await RawConnection.open(server.port);
  const declared = 99 << 20;
  await conn.write(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${declared}\r\n${headers}\r\n`);
  const chunk = Buffer.alloc(256 << 10, 0x61);
  for (let sent = 0; sent < bytes && !conn.ended; sent += chunk.length) {
    if (!(await conn.write(chunk))) break;
  }
  return conn;
}

test('ten unauthenticated 99 MiB bodies are refused on their head; RSS stays bounded', async () => {
  const before = rssBytes();
  const conns = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      streamUnfinishedBody(i % 2 ? '/_do/closed-probe/a/x?op=size' : '/_do/no-such-class/a/x', '', 8 << 20),
    ),
  );
  try {
    for (const [i, conn] of conns.entries()) {
      const res = await conn.readResponse(10000);
      assertServerError(assert, res, i % 2 ? 401 : 404);
    }
    await allocatorSettled();
    const grown = rssBytes() - before;
    // Before the fix the bodies were buffered whole (1 GiB for ten); now none of them is.
    assert.ok(grown < RSS_SLACK, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
  } finally {
    for (const c of conns) c.close();
  }
  await assertVictimAnswers();
});

test('bodies in flight are bounded server-wide: a streamed body holds only its window; RSS stays bounded', async () => {
  // The object and its isolate first: their memory is not the bodies'.
  const warm = await httpRequest({ port: server.port, method: 'POST', path: '/_do/open-probe/big/x?op=count', body: Buffer.alloc(1 << 20) });
  assert.equal(warm.status, 200, warm.text);
  const before = rssBytes();
  // Ten public uploads, each 8 MiB into a 99 MiB body, to an object that reads them as they come:
  // none is held whole, so none is refused and memory does not follow the 80 MiB sent.
  const conns = [];
  try {
    for (let i = 0; i < 10; i++) conns.push(await streamUnfinishedBody('/_do/open-probe/big/x?op=count', '', 8 << 20));
    await sleep(300);
    // None refused for the budget (one stalled past the 1 s body timeout gets its 408).
    for (const c of conns) {
      const answer = c.buffer.toString();
      assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408 '), `answered: ${answer.slice(0, 80)}`);
    }
    // Well under the 80 MiB sent (the chunks' garbage not yet collected is most of it).
    await allocatorSettled();
    const grown = rssBytes() - before;
    assert.ok(grown < BUDGET + STREAMED_SLACK, `RSS grew by ${(grown / 1048576).toFixed(1)} MiB`);
    await assertVictimAnswers();
  } finally {
    for (const c of conns) c.close();
  }
  await sleep(300);
  const body = Buffer.alloc(4 << 20, 0x62);
  const res = await httpRequest({ port: server.port, method: 'POST', path: '/_do/open-probe/after/x?op=size', body });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().bytes, body.length);
});

test('past the server-wide body budget a new body gets 503; a closed one gives its share back', async () => {
  // Room for one streamed body's window (192 KiB), not two.
  const small = await startServer({ flags: ['--max-buffered-body-bytes', String(300 << 10)] });
  try {
    await small.deploy(path.join(FIXTURES, 'http_probe.js'), { name: 'open-probe' });
    const open = async () => {
      const conn = await RawConnection.open(small.port);
      await conn.write(`POST /_do/open-probe/b/x?op=count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${1 << 20}\r\n\r\n`);
      await conn.write(Buffer.alloc(1000, 0x61));
      return conn;
    };
    const first = await open();
    await sleep(200);
    const second = await open();
    const res = await second.readResponse(10000);
    assertServerError(assert, res, 503);
    assert.equal(res.headers['retry-after'], '5');
    second.close();
    first.close();
    await sleep(300);
    const third = await open();
    await third.write(Buffer.alloc((1 << 20) - 1000, 0x61));
    const done = await third.readResponse(10000);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json().bytes, 1 << 20);
    third.close();
  } finally {
    await small.stop();
  }
});

test('an admin request with a wrong token is refused before its body is read', async () => {
  const conn = await streamUnfinishedBody('/_admin/v1/apps/default/classes', 'Authorization: Bearer wrong\r\n', 4 << 20);
  try {
    const res = await conn.readResponse(10000);
    assertServerError(assert, res, 401);
  } finally {
    conn.close();
  }
});

test('Expect: 100-continue is answered before the body is read, refusals without it', async () => {
  const conn = await RawConnection.open(server.port);
  try {
    await conn.write('POST /_do/open-probe/e/x?op=size HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (!conn.buffer.toString().includes('100 Continue') && Date.now() < deadline) await sleep(20);
    assert.match(conn.buffer.toString(), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    conn.buffer = conn.buffer.subarray('HTTP/1.1 100 Continue\r\n\r\n'.length);
    await conn.write('abc');
    const res = await conn.readResponse();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().bytes, 3);
  } finally {
    conn.close();
  }
  const refused = await RawConnection.open(server.port);
  try {
    await refused.write('POST /_do/closed-probe/e/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
    const res = await refused.readResponse();
    assertServerError(assert, res, 401);
  } finally {
    refused.close();
  }
});
