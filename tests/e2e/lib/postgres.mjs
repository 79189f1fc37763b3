// A throwaway PostgreSQL for end-to-end tests of the cluster: initdb into a temporary folder, a
// server on a free loopback port and on a unix socket inside that folder, stopped and removed by
// stop(), or by a watchdog when the test process dies first (it waits on a pipe only this process
// holds). PostgreSQL refuses to run as root: as root it runs as the `postgres` system user (the
// Debian package creates it) through runuser, and the folder is that user's. fsync is off: the
// server is discarded with the test, and what the tests check (commit visibility, row locks)
// does not depend on it. Without PostgreSQL, startPostgres() throws and says what to install.

import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function binDir() {
  if (process.env.DORM_PG_BINDIR) return process.env.DORM_PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run ' +
    'scripts/install-deps.sh, or set DORM_PG_BINDIR');
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function shellQuote(text) {
  return `'${String(text).replace(/'/g, `'\\''`)}'`;
}

// Starts a server. Returns {dir, socketDir, port, conninfo, url, psql(sql), psqlInBackground(sql), stop()}.
export async function startPostgres() {
  const bin = binDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-pg-'));
  let asUser = [];
  if (process.getuid && process.getuid() === 0) {
    let ids;
    try {
      ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim() + ':' +
        execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error('PostgreSQL refuses to run as root and there is no `postgres` user to run ' +
        'it as: install PostgreSQL (scripts/install-deps.sh)');
    }
    const [uid, gid] = ids.split(':').map(Number);
    fs.chownSync(dir, uid, gid);
    asUser = ['runuser', '-u', 'postgres', '--'];
  }
  const run = (command, args) => {
    const full = [...asUser, command, ...args];
    return execFileSync(full[0], full.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const data = path.join(dir, 'data');
  try {
    run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'dorm', '-E', 'UTF8', '--no-sync',
      '--no-instructions']);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${e.stderr || e.message}`);
  }
  let port;
  let started = false;
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    port = await freePort();
    const options = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off ` +
      '-c full_page_writes=off';
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', '-s', '-l', path.join(dir, 'postgres.log'),
        '-o', options, 'start']);
      started = true;
    } catch {
      // Another process took the port between freePort() and the server's bind: try another.
    }
  }
  if (!started) {
    const log = fs.existsSync(path.join(dir, 'postgres.log')) ? fs.readFileSync(path.join(dir, 'postgres.log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${log}`);
  }
  const stopCommand = [...asUser, path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-s', 'stop']
    .map(shellQuote).join(' ');
  const watchdog = spawn('/bin/sh', ['-c', `read _ ; ${stopCommand} ; rm -rf ${shellQuote(dir)}`], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.unref();
  watchdog.stdin.unref?.();
  const exited = new Promise((resolve) => watchdog.on('exit', resolve));
  const conninfo = `host=127.0.0.1 port=${port} user=dorm dbname=postgres`;
  return {
    dir,
    socketDir: dir,
    port,
    conninfo,
    url: `postgres://dorm@127.0.0.1:${port}/postgres`,
    // Runs `sql` with psql over the unix socket; returns its unaligned output.
    psql(sql) {
      return execFileSync(path.join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'dorm', '-d', 'postgres',
        '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
    },
    // Runs `sql` with psql in the background (a session that holds a lock while the test goes
    // on); returns a promise of its unaligned output, rejected if psql fails.
    psqlInBackground(sql) {
      return new Promise((resolve, reject) => {
        execFile(path.join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'dorm', '-d', 'postgres',
          '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }, (error, stdout, stderr) => {
          if (error) reject(new Error(`psql failed: ${stderr || error.message}`));
          else resolve(stdout.trim());
        });
      });
    },
    // Stops the server (immediate shutdown) and removes the folder.
    async stop() {
      watchdog.ref();  // keeps the event loop alive until the server is gone
      watchdog.stdin.end();
      await exited;
    },
  };
}
