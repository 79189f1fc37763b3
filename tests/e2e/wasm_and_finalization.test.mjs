// WebAssembly cannot be compiled at run time, as on workerd (whose answers are recorded below):
// before, `WebAssembly.instantiate(bytes)` returned a promise that never settled, since nothing
// ran V8's compile tasks. And V8's tasks for an isolate now run between its events, so that
// FinalizationRegistry callbacks are called (they never were) as on workerd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('wasm_and_finalization.js'), { name: 'wasm' });
});

after(async () => {
  await server?.stop();
});

test('WebAssembly compilation from bytes is refused with workerd\'s CompileError', async () => {
  const res = await server.request('/_do/wasm/a/compile', { timeoutMs: 10000 });
  assert.equal(res.status, 200, res.text);
  const refused = (api) => ({
    error: 'CompileError', message: `WebAssembly.${api}(): Wasm code generation disallowed by embedder`,
  });
  assert.deepEqual(res.json(), {
    validate: { ok: 'true' },
    module: refused('Module'),
    compile: refused('compile'),
    instantiate: refused('instantiate'),
    streaming: { error: 'TypeError', message: 'WebAssembly.compileStreaming is not a function' },
    table: { ok: '2' },
    global: { ok: '7' },
  });
});

test('FinalizationRegistry callbacks run for objects the collector found', async () => {
  // workerd answered 0, then 1901, 3869, 5837 for four requests in a row.
  let finalized = 0;
  for (let i = 0; i < 8 && finalized === 0; i++) {
    const res = await server.request('/_do/wasm/a/garbage');
    assert.equal(res.status, 200, res.text);
    finalized = res.json().finalized;
    await sleep(20);
  }
  assert.ok(finalized > 0, 'no FinalizationRegistry callback ran');
});
