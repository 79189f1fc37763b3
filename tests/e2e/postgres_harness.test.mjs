// The throwaway PostgreSQL that the cluster's end-to-end tests run against (lib/postgres.mjs):
// it answers on loopback TCP and on its socket, never runs as root, and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startPostgres } from './lib/postgres.mjs';

test('a throwaway PostgreSQL starts, answers, runs unprivileged and is removed', async () => {
  const pg = await startPostgres();
  let stopped = false;
  try {
    assert.equal(pg.psql("SELECT current_user || ' ' || current_setting('fsync')"), 'dorm off');
    // The server process runs as an unprivileged user even when the tests run as root.
    const pid = Number(pg.psql('SELECT pg_backend_pid()'));
    const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1];
    assert.notEqual(uid, '0');
    // Reachable on loopback TCP at the advertised port.
    await new Promise((resolve, reject) => {
      const socket = net.connect(pg.port, '127.0.0.1', () => { socket.destroy(); resolve(); });
      socket.on('error', reject);
    });
    await pg.stop();
    stopped = true;
    assert.equal(fs.existsSync(pg.dir), false);
    assert.equal(fs.existsSync(`/proc/${pid}`), false);
  } finally {
    if (!stopped) await pg.stop();
  }
});
