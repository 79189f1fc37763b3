// Deploy limits: at most N classes per app (5 by default, --max-classes-per-app), and a source
// size limit of 5 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, describeCli, assertCliFailure } from './lib/dorm.mjs';

const TOO_MANY = 'Too many DO classes for one app';

test('default: 5 classes per app; a 6th is refused, redeploys and other apps are not affected', async () => {
  const server = await startServer();
  try {
    for (let i = 1; i <= 5; i++) await server.deploy(fixture('echo.js'), { name: `c${i}` });
    const sixth = await server.deploy(fixture('echo.js'), { name: 'c6', check: false });
    assertCliFailure(assert, sixth, TOO_MANY);
    assert.deepEqual(await server.classNames(), ['c1', 'c2', 'c3', 'c4', 'c5']);
    // Replacing an existing class does not add one.
    const again = await server.deploy(fixture('echo.js'), { name: 'c3', check: false });
    assert.equal(again.code, 0, describeCli(again));
    // The limit is per app.
    const other = await server.deploy(fixture('echo.js'), { name: 'c6', app: 'other', check: false });
    assert.equal(other.code, 0, describeCli(other));
  } finally {
    await server.stop();
  }
});

test('--max-classes-per-app sets the limit; deleting a class frees its slot', async () => {
  const server = await startServer({ flags: ['--max-classes-per-app', '2'] });
  try {
    await server.deploy(fixture('echo.js'), { name: 'one' });
    await server.deploy(fixture('echo.js'), { name: 'two' });
    assertCliFailure(assert, await server.deploy(fixture('echo.js'), { name: 'three', check: false }), TOO_MANY);
    assert.deepEqual(await server.classNames(), ['one', 'two']);
    const del = await server.cli(['delete', 'one', '--yes']);
    assert.equal(del.code, 0, describeCli(del));
    const three = await server.deploy(fixture('echo.js'), { name: 'three', check: false });
    assert.equal(three.code, 0, describeCli(three));
    assert.deepEqual(await server.classNames(), ['three', 'two']);
  } finally {
    await server.stop();
  }
});

// A valid class padded with comment lines up to about `bytes` bytes.
function paddedSource(dir, name, bytes) {
  const head = 'export class Padded {\n  async fetch() {\n    return Response.json({ ok: true });\n  }\n}\n';
  const line = `// ${'x'.repeat(97)}\n`; // 100 bytes
  const file = path.join(dir, name);
  fs.writeFileSync(file, head + line.repeat(Math.ceil((bytes - head.length) / line.length)));
  return file;
}

test('sources up to 5 MB are accepted, larger ones refused with a clear error', async () => {
  const server = await startServer();
  const dir = makeTempDir('sources');
  try {
    // 4.5 MB and 5.5 MB are on the right side of 5 MB whether it means 5,000,000 or 5 MiB.
    const small = paddedSource(dir, 'small.js', 4_500_000);
    const ok = await server.deploy(small, { name: 'padded-ok', check: false });
    assert.equal(ok.code, 0, describeCli(ok));
    assert.deepEqual(await server.json('/_do/padded-ok/x'), { ok: true });

    const big = paddedSource(dir, 'big.js', 5_500_000);
    const res = await server.deploy(big, { name: 'padded-big', check: false });
    assertCliFailure(assert, res, /MB|too (large|big)|size|limit|bytes/i);
    assert.ok(!(await server.classNames()).includes('padded-big'));
  } finally {
    await server.stop();
  }
});
