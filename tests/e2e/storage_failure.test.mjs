// A storage failure (here: the file-size limit, which makes writes fail like a full disk) resets
// the object, fails its request with a 500, never leaves half a transaction behind, and leaves
// the server serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dormBin, fixture, httpRequest, makeTempDir, runCli, waitFor } from './lib/dorm.mjs';

const LISTENING = /listening on (http:\/\/[^\s]+)/;

test('a write that fails resets the object and leaves only whole transactions', async () => {
  const data = makeTempDir('storage-failure');
  // prlimit applies RLIMIT_FSIZE to the server alone: writes past 3 MB per file fail.
  const proc = spawn('prlimit', ['--fsize=3000000', '--', dormBin(), 'serve', '--listen', '127.0.0.1:0',
    '--data', data, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  try {
    await waitFor(() => LISTENING.test(output), { what: 'listening line', timeoutMs: 30000 });
    const port = Number(new URL(LISTENING.exec(output)[1]).port);
    const deployed = await runCli(['deploy', fixture('big_writer.js'), '--access', 'public', '--data', data]);
    assert.equal(deployed.code, 0, deployed.stderr);

    const statuses = [];
    for (let n = 1; n <= 12; n++) {
      const res = await httpRequest({ port, method: 'POST', path: `/_do/big-writer/o/fill?n=${n}` });
      statuses.push(res.status);
      if (res.status === 500) {
        assert.match(res.text, /storage/i, 'the 500 names the storage failure');
      }
    }
    assert.ok(statuses.includes(200), `some writes fit: ${statuses}`);
    assert.ok(statuses.includes(500), `the limit was reached: ${statuses}`);
    const firstFailure = statuses.indexOf(500);
    assert.ok(statuses.slice(0, firstFailure).every((s) => s === 200), `${statuses}`);

    // Every acknowledged transaction is whole, and no failed one left a part behind.
    const state = (await httpRequest({ port, path: '/_do/big-writer/o/list' })).json();
    const acknowledged = statuses.flatMap((s, i) => (s === 200 ? [i + 1] : []));
    for (const n of acknowledged) {
      assert.ok(state.keys.includes(`a${n}`) && state.keys.includes(`b${n}`), `transaction ${n} is whole`);
    }
    for (let n = 1; n <= 12; n++) {
      assert.equal(state.keys.includes(`a${n}`), state.keys.includes(`b${n}`), `transaction ${n} is atomic`);
    }

    // The server and other objects keep working.
    const other = await httpRequest({ port, method: 'POST', path: '/_do/big-writer/other/small?v=7' });
    assert.equal(other.status, 200);
    const otherState = (await httpRequest({ port, path: '/_do/big-writer/other/list' })).json();
    assert.equal(otherState.small, 7);
  } finally {
    proc.kill('SIGKILL');
  }
});
