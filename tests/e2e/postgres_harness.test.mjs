// The throwaway PostgreSQL that the cluster's end-to-end tests run against (lib/postgres.mjs):
// it answers on loopback TCP and on its socket, never runs as root, and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startPostgres } from './lib/postgres.mjs';

test('a throwaway PostgreSQL starts, answers, runs unprivileged and is removed', async () => {
  const pg = await startPostgres();
  let stopped = false;
  try {
    assert.equal(pg.psql("SELECT current_user || ' ' || current_setting('fsync')"), 'dorm off');
    // The server process runs as an unprivileged user even when the tests run as root. (The
    // postmaster's pid, from its pid file: a backend's ends with the psql session that asked.)
    const pid = Number(fs.readFileSync(path.join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
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
    // Gone, or a zombie waiting for whichever process reaps orphans here.
    const ended = () => {
      try {
        return /^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return true;
      }
    };
    for (let i = 0; i < 100 && !ended(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(ended(), `the server process ${pid} still runs`);
  } finally {
    if (!stopped) await pg.stop();
  }
});
