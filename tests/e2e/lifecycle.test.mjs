// The server process: the listening line and server-address, the default data folder, graceful
// shutdown on SIGTERM/SIGINT (stop accepting, finish in-flight requests, flush, exit 0), idle
// eviction of objects, and --threads.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, runCli, describeCli, RawConnection, sleep, waitFor } from './lib/dorm.mjs';

test('prints "dorm: listening on http://HOST:PORT" on stdout and writes DATA/server-address', async () => {
  const server = await startServer();
  try {
    assert.match(server.stdout, /dorm: listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(server.port > 0);
    const address = fs.readFileSync(path.join(server.dataDir, 'server-address'), 'utf8');
    assert.ok(address.includes(`127.0.0.1:${server.port}`), `server-address says ${JSON.stringify(address)}`);
  } finally {
    await server.stop();
  }
});

test('without --data the data folder is ./.dorm', async () => {
  const cwd = makeTempDir('cwd');
  const server = await startServer({ cwd, dataDir: path.join(cwd, '.dorm'), dataFlag: false });
  try {
    assert.ok(fs.existsSync(path.join(cwd, '.dorm', 'admin-token')), 'admin-token should be in ./.dorm');
    assert.ok(fs.existsSync(path.join(cwd, '.dorm', 'server-address')), 'server-address should be in ./.dorm');
    const res = await runCli(['deploy', fixture('echo.js'), '--access', 'public', '--data', path.join(cwd, '.dorm')]);
    assert.equal(res.code, 0, describeCli(res));
    assert.equal((await server.json('/_do/echo/x?tag=default-data')).tag, 'default-data');
  } finally {
    await server.stop();
  }
});

test('SIGTERM: stops accepting, finishes the in-flight request, flushes storage, exits 0', async () => {
  const server = await startServer();
  try {
    await sigtermScenario(server);
  } finally {
    await server.kill9();
  }
});

async function sigtermScenario(server) {
  await server.deploy(fixture('echo.js'));
  const inflight = server.request('/_do/echo/term?op=sleep-put&ms=2500&k=inflight&v=done', { timeoutMs: 30000 });
  // The object answers other requests while the first one waits on its timer.
  await waitFor(async () => (await server.json('/_do/echo/term?op=status')).sleeping, {
    what: 'the in-flight request to start',
  });

  server.proc.kill('SIGTERM');
  await sleep(500);
  const late = await server.request('/_do/echo/late?tag=late', { timeoutMs: 15000 }).then(
    (res) => res,
    (err) => err,
  );
  assert.ok(
    late instanceof Error || late.status !== 200,
    `a request made after SIGTERM should not be served (got ${late.status} ${late.text})`,
  );

  const res = await inflight;
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), { ok: true, k: 'inflight' });
  assert.equal((await server.stop()).code, 0);

  const again = await server.restart();
  try {
    assert.deepEqual(await again.json('/_do/echo/term?op=get&k=inflight'), { value: 'done' });
  } finally {
    await again.stop();
  }
}

test('SIGTERM with an idle keep-alive connection open still exits 0 promptly', async () => {
  const server = await startServer();
  await server.deploy(fixture('echo.js'));
  const conn = await RawConnection.open(server.port);
  try {
    await conn.write('GET /_do/echo/idle?tag=idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal((await conn.readResponse()).status, 200);
    await server.stop({ signal: 'SIGTERM', timeoutMs: 10000 });
    assert.equal(await conn.waitClosed(5000), true, 'the idle connection should be closed');
  } finally {
    conn.close();
    await server.kill9();
  }
});

test('SIGINT: exits 0 and keeps the data', async () => {
  const server = await startServer();
  try {
    await server.deploy(fixture('echo.js'));
    await server.json('/_do/echo/int?op=put&k=k&v=kept');
    await server.stop({ signal: 'SIGINT' });
  } finally {
    await server.kill9();
  }
  const again = await server.restart();
  try {
    assert.deepEqual(await again.json('/_do/echo/int?op=get&k=k'), { value: 'kept' });
  } finally {
    await again.stop();
  }
});

// The object's write-ahead logs (name and size) under the data folder.
function walFiles(dataDir) {
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.sqlite-wal')) found.push({ name: p, size: fs.statSync(p).size });
    }
  };
  walk(path.join(dataDir, 'objects'));
  return found;
}

test('a graceful stop checkpoints a long write-ahead log; the data is kept', async () => {
  const dir = makeTempDir('walfill');
  const file = path.join(dir, 'walfill.js');
  fs.writeFileSync(
    file,
    `export class Walfill {
  constructor(state) { this.storage = state.storage; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.searchParams.get('op') === 'fill') {
      // About 600 KiB in one commit: some 150 pages in the log.
      for (let i = 0; i < 200; i++) this.storage.put('k' + i, String(i).padEnd(3000, '.'));
      return Response.json({ ok: true });
    }
    const last = await this.storage.get('k199');
    return Response.json({ keys: (await this.storage.list()).size, last: last.slice(0, 3) });
  }
}
`,
  );
  const server = await startServer();
  try {
    await server.deploy(file);
    assert.deepEqual(await server.json('/_do/walfill/a?op=fill'), { ok: true });
    // Stopped at once, before the connection could be closed as idle (which checkpoints too).
    assert.equal((await server.stop({ signal: 'SIGTERM' })).code, 0);
  } finally {
    await server.kill9();
  }
  const logs = walFiles(server.dataDir);
  assert.ok(logs.length > 0, 'expected the object\'s log file to be kept');
  for (const log of logs) assert.equal(log.size, 0, `${log.name} should be checkpointed and emptied`);
  const again = await server.restart();
  try {
    assert.deepEqual(await again.json('/_do/walfill/a'), { keys: 200, last: '199' });
  } finally {
    await again.stop();
  }
});

// Each of these waits seconds for an eviction on a server of its own: they wait together.
describe('idle eviction', { concurrency: true }, () => {
  test('--idle-evict-seconds: an idle object is evicted (constructor runs again), storage kept', async () => {
    const server = await startServer({ flags: ['--idle-evict-seconds', '1'] });
    try {
      await server.deploy(fixture('echo.js'));
      const first = await server.json('/_do/echo/evict?op=mem');
      const second = await server.json('/_do/echo/evict?op=mem');
      assert.equal(second.boot, first.boot);
      assert.deepEqual([first.hits, second.hits, second.stored], [1, 2, 2]);
      // Four times the idle timeout: time for the eviction to happen on any reasonable sweep.
      await sleep(4000);
      const third = await server.json('/_do/echo/evict?op=mem');
      assert.notEqual(third.boot, first.boot, 'the constructor should have run again');
      assert.equal(third.hits, 1, 'in-memory state should be gone');
      assert.equal(third.stored, 3, 'storage should be kept');
    } finally {
      await server.stop();
    }
  });

  test('--idle-evict-seconds: an object in use is not evicted', async () => {
    const server = await startServer({ flags: ['--idle-evict-seconds', '1'] });
    try {
      await server.deploy(fixture('echo.js'));
      const first = await server.json('/_do/echo/busy?op=mem');
      let last = first;
      // Requests every 100 ms for 2.5 s: never idle for anywhere near a second.
      for (let i = 0; i < 25; i++) {
        await sleep(100);
        last = await server.json('/_do/echo/busy?op=mem');
        assert.equal(last.boot, first.boot, `evicted while in use (after ${i + 1} requests)`);
      }
      assert.equal(last.hits, 26);
    } finally {
      await server.stop();
    }
  });

  // The sweep skips its walk until the earliest moment any object can have been idle long enough
  // (thread_engine_timers.cc): an object kept in use must not postpone the eviction of another,
  // nor must one past the (shorter) hibernation period that has no sockets to hibernate with.
  for (const flags of [['--idle-evict-seconds', '1'], ['--idle-evict-seconds', '2', '--hibernate-after-ms', '300']]) {
    test(`${flags.join(' ')}: an idle object is evicted while another on its thread stays in use`, async () => {
      const server = await startServer({ flags: [...flags, '--threads', '1'] });
      try {
        await server.deploy(fixture('echo.js'));
        const busy = await server.json('/_do/echo/kept?op=mem');
        await sleep(300);
        const idle = await server.json('/_do/echo/left?op=mem');
        let last = busy;
        // The busy object every 100 ms for 3.5 s; the other is not asked meanwhile.
        for (let i = 0; i < 35; i++) {
          await sleep(100);
          last = await server.json('/_do/echo/kept?op=mem');
          assert.equal(last.boot, busy.boot, `evicted while in use (after ${i + 1} requests)`);
        }
        const again = await server.json('/_do/echo/left?op=mem');
        assert.notEqual(again.boot, idle.boot, 'the idle object should have been evicted');
        assert.equal(again.hits, 1, 'in-memory state should be gone');
        assert.equal(again.stored, 2, 'storage should be kept');
      } finally {
        await server.stop();
      }
    });
  }

  test('an app nothing uses has its isolate disposed; an app with a live object keeps it', async () => {
    const server = await startServer({ flags: ['--idle-evict-seconds', '1', '--threads', '1'] });
    try {
      await server.deploy(fixture('echo.js'), { app: 'alpha' });
      await server.deploy(fixture('echo.js'), { app: 'beta' });
      const call = async (app, id) => {
        const res = await server.request(`/_do/echo/${id}?op=mem`, { headers: { host: `${app}.localhost` } });
        assert.equal(res.status, 200, res.text);
        return res.json();
      };
      const heapApps = async () => {
        const res = await server.request('/_admin/metrics', { headers: { authorization: `Bearer ${server.adminToken()}` } });
        assert.equal(res.status, 200, res.text);
        const apps = new Set();
        for (const m of res.text.matchAll(/^dorm_isolate_heap_used_bytes\{[^}]*app="([^"]+)"/gm)) apps.add(m[1]);
        return apps;
      };
      await call('beta', 'b');
      const first = await call('alpha', 'a');
      assert.deepEqual([...(await heapApps())].sort(), ['alpha', 'beta']);
      // alpha's object is used every 100 ms; beta's is evicted after 1 s idle, then its isolate
      // after another second with nothing of beta's on the thread.
      for (let i = 0; i < 40; i++) {
        await sleep(100);
        assert.equal((await call('alpha', 'a')).boot, first.boot);
      }
      assert.deepEqual([...(await heapApps())], ['alpha']);
    } finally {
      await server.stop();
    }
  });
});

test('--threads 2 serves concurrent requests to many objects', async () => {
  const server = await startServer({ flags: ['--threads', '2'] });
  try {
    await server.deploy(fixture('echo.js'));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => server.json(`/_do/echo/t${i % 8}?op=delay&ms=20&tag=${i}`)),
    );
    assert.deepEqual(
      results.map((r) => r.tag),
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
  } finally {
    await server.stop();
  }
});
