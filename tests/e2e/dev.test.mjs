// `dorm dev DIR`: starts a server on the project's own data folder, deploys the project, streams
// the server's log (with the Worker's console output) to the terminal, deploys again after every
// edit, keeps serving the previous code when an edit does not build, and stops the server on
// SIGINT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dormBin, httpRequest, makeTempDir, sleep, waitFor } from './lib/dorm.mjs';

function worker(answer) {
  return `export default {
  fetch(request) {
    console.log('served ${answer} for ' + new URL(request.url).pathname);
    return new Response('${answer}');
  },
};
`;
}

test('dorm dev deploys, redeploys on every change, survives a broken edit and stops on SIGINT', async () => {
  const dir = makeTempDir('dev-project');
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), '// a project under development\n{ "name": "devapp", "main": "src/index.js", }\n');
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'index.js'), worker('first'));
  const child = spawn(dormBin(), ['dev', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => output.includes('watching'), { timeoutMs: 60000, what: `dorm dev to start:\n${output}` });
    const address = fs.readFileSync(path.join(dir, '.dorm', 'server-address'), 'utf8').trim();
    const port = Number(new URL(address).port);
    const ask = async () => (await httpRequest({ port, path: '/hello', headers: { host: `devapp.localhost:${port}` } })).text;
    assert.equal(await ask(), 'first');
    // The Worker's console output is in the terminal.
    await waitFor(() => output.includes('served first for /hello'), { what: `the Worker's log line:\n${output}` });

    fs.writeFileSync(path.join(dir, 'src', 'index.js'), worker('second'));
    await waitFor(async () => (await ask()) === 'second', { timeoutMs: 30000, what: `the edit to be deployed:\n${output}` });

    // A broken edit is reported; the code deployed before keeps serving.
    fs.writeFileSync(path.join(dir, 'src', 'index.js'), 'export default { fetch() { return new Response("x") ;;; }}}');
    await waitFor(() => output.includes('deploy failed: Syntax error at src/index.js:1:'), { timeoutMs: 30000, what: `the failed deploy:\n${output}` });
    assert.equal(await ask(), 'second');

    fs.writeFileSync(path.join(dir, 'src', 'index.js'), worker('third'));
    await waitFor(async () => (await ask()) === 'third', { timeoutMs: 30000, what: `the fix to be deployed:\n${output}` });
    // Files under node_modules and the data folder are not watched. (dorm dev reports a deploy
    // after the server has logged it and served the new code: wait for its third report.)
    const devDeploys = () => output.split('deployed project devapp from').length - 1;
    await waitFor(() => devDeploys() === 3, { timeoutMs: 30000, what: `dorm dev to report the third deploy:\n${output}` });
    const deploys = output.split('deployed project devapp').length;
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node_modules', 'ignored.js'), 'x');
    await sleep(1000);
    assert.equal(output.split('deployed project devapp').length, deploys, output);

    child.kill('SIGINT');
    const { code } = await exited;
    assert.equal(code, 0, output);
    assert.match(output, /dorm dev: stopped/);
    // The server it started is gone too.
    await assert.rejects(httpRequest({ port, path: '/', timeoutMs: 2000 }));
  } finally {
    child.kill('SIGKILL');
  }
});
