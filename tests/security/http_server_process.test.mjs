// The server process as a whole (issue 10, items 9 and 17): a second server may not take the same
// port or data folder, unknown command-line options are refused, and at a low descriptor limit
// clients holding every connection they may cannot keep objects from opening their databases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  startServer,
  fixture,
  runCli,
  describeCli,
  dormBin,
  makeTempDir,
  RawConnection,
  httpRequest,
  sleep,
  waitFor,
  runtimePidOf,
  RUNTIME_CRASH,
} from '../e2e/lib/dorm.mjs';

test('a second server on the same port fails to start with a clear error', async () => {
  const first = await startServer();
  try {
    const second = await runCli(['serve', '--listen', `127.0.0.1:${first.port}`, '--data', makeTempDir('second')], {
      timeoutMs: 30000,
    });
    assert.equal(second.code, 1, describeCli(second));
    assert.match(second.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*in use/i, describeCli(second));
    const res = await first.request('/_do/nothing/x');
    assert.equal(res.status, 404);
  } finally {
    await first.stop();
  }
});

test('a second server on the same data folder is refused', async () => {
  const first = await startServer();
  try {
    const second = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', first.dataDir], { timeoutMs: 30000 });
    assert.equal(second.code, 1, describeCli(second));
    assert.match(second.stderr, /data folder .* is in use by another dorm server \(pid \d+\)/, describeCli(second));
    const res = await first.request('/_do/nothing/x');
    assert.equal(res.status, 404);
  } finally {
    await first.stop();
  }
  // Once the first one is gone the folder is free again.
  const again = await startServer({ dataDir: first.dataDir });
  await again.stop();
});

test('unknown command-line options are refused with the usage and status 2', async () => {
  const cases = [
    ['serve', '--clustr', 'x'],
    ['deploy', 'x.js', '--nmae', 'y'],
    ['list', '--ap', 'x'],
    ['get', 'x', '--verbose', '1'],
    ['delete', 'x', '--force', '1'],
    ['env', 'list', '--application', 'x'],
    ['usage', '--sinse', '1h'],
    ['mcp', '--port', '1'],
    ['auth', 'show', '--issuer-url', 'x'],
    ['keys', 'list', '--label', 'x'],
    ['list', '--yes'],
  ];
  for (const args of cases) {
    const result = await runCli([...args, '--data', makeTempDir('flags')], { timeoutMs: 10000 });
    assert.equal(result.code, 2, describeCli(result));
    assert.match(result.stderr, /unknown option --\S+ for 'dorm \w+'/, describeCli(result));
    assert.match(result.stderr, /usage:/, describeCli(result));
  }
});

test('at a low descriptor limit, clients holding every connection cannot starve object storage', async () => {
  const dataDir = makeTempDir('nofile');
  // Soft and hard limit 256: the server sets its connection limit so that object databases keep
  // their descriptors.
  const proc = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', dormBin(), 'serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--threads', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const held = [];
  try {
    const m = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output), { timeoutMs: 30000, what: 'the server' });
    const port = Number(m[1]);
    const deploy = await runCli(['deploy', fixture('echo.js'), '--access', 'public', '--data', dataDir]);
    assert.equal(deploy.code, 0, describeCli(deploy));
    // The victim's connection is open before the flood.
    const victim = await RawConnection.open(port);
    held.push(victim);
    // More connections than descriptors: the server must refuse, not run out.
    for (let i = 0; i < 300; i++) {
      try {
        held.push(await RawConnection.open(port));
      } catch {
        break;
      }
    }
    await sleep(500);
    const runtime = runtimePidOf(proc.pid);
    const cpuBefore = processCpuSeconds(proc.pid) + processCpuSeconds(runtime);
    await sleep(1000);
    const cpu = processCpuSeconds(proc.pid) + processCpuSeconds(runtime) - cpuBefore;
    assert.ok(cpu < 0.5, `the server burned ${cpu.toFixed(2)} s of CPU in 1 s while clients held its connections`);
    // Objects keep opening databases: 40 objects write and read on the victim's connection.
    for (let i = 0; i < 40; i++) {
      await victim.write(`GET /_do/echo/fd-${i}/x?op=put&k=a&v=${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      const res = await victim.readResponse(15000);
      assert.equal(res.status, 200, `object ${i}: ${res.text}\n${output.slice(-2000)}`);
    }
    assert.ok(!/cannot open database/i.test(output), output.slice(-2000));
    assert.equal(output.match(RUNTIME_CRASH), null, output.slice(-2000));
    // Log lines stay few whatever the flood.
    const lines = output.split('\n').filter((l) => /connection refused|accept failed/.test(l));
    assert.ok(lines.length <= 4, `${lines.length} log lines about refused connections`);
  } finally {
    for (const c of held) c.close();
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(20000)]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});

function processCpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the line (12 and 13 after the command).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
