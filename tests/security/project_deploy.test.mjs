// Project deploys sized to hold the control thread, every admin request waiting behind them:
// 100,000 migrations took minutes (each new class was checked against every class before it); a
// deploy may now list at most 10,000 migrations naming at most 10,000 classes in all, and planning
// them takes time in proportion; `main` (the module's name in stack traces) of 40 MB was kept
// too. 200,000 `vars` took over a minute (one write each) and passed the
// bounds `dorm env set` keeps (128 vars of at most 5 KiB per app); a project's vars now share them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../e2e/lib/dorm.mjs';

const MODULE = 'export class A { fetch() { return new Response("a"); } }\n' +
  'export default { fetch() { return new Response("w"); } }';

function project(migrations, vars = undefined) {
  return JSON.stringify({
    main: 'index.js',
    module: MODULE,
    classes: [{ class_name: 'A', binding: 'A' }],
    migrations: [...migrations, { tag: 'last', new_sqlite_classes: ['A'] }],
    vars,
  });
}

const steps = (n) => Array.from({ length: n }, (_, i) => ({ tag: `v${i}`, new_sqlite_classes: [`C${i}`] }));

test('a deploy cannot hold the control thread with the size of its migrations', { timeout: 120000 }, async () => {
  const server = await startServer();
  try {
    // Past the bounds: refused at once, naming the limit.
    let started = Date.now();
    let res = await server.api('POST', '/apps/many/project', project(steps(100000)));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error, 'Too many migrations: 100001 (the limit is 10000).');
    const names = Array.from({ length: 20000 }, (_, i) => `C${i}`);
    res = await server.api('POST', '/apps/wide/project', project([{ tag: 'v0', new_sqlite_classes: names }]));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error, 'The migrations name too many classes: over 10000 in all.');
    assert.ok(Date.now() - started < 10000, `refusals took ${Date.now() - started} ms`);
    // `main` names the module in stack traces: a path, not 40 MB.
    for (const main of ['m'.repeat(40 << 20), 'index.js\n2026-01-01T00:00:00Z ERROR forged']) {
      const body = JSON.parse(project([]));
      res = await server.api('POST', '/apps/named/project', JSON.stringify({ ...body, main }));
      assert.equal(res.status, 400, res.text);
      assert.equal(res.json().error, '"main" must be a file path of at most 4096 bytes on one line.');
    }

    // At the bounds: 9,999 steps, then 10,000 classes in one step, are planned quickly (they
    // took seconds, and 100,000 minutes). Only the bound class is created.
    started = Date.now();
    res = await server.api('POST', '/apps/long/project', project(steps(9999)));
    assert.equal(res.status, 201, res.text);
    res = await server.api('POST', '/apps/wide/project', project([{ tag: 'v0', new_sqlite_classes: names.slice(0, 9999) }]));
    assert.equal(res.status, 201, res.text);
    assert.ok(Date.now() - started < 20000, `the deploys took ${Date.now() - started} ms`);
    assert.deepEqual(await server.classNames('long'), ['a']);
    assert.equal((await server.api('GET', '/apps')).status, 200);
  } finally {
    await server.stop();
  }
});

test('a project\'s vars keep the bounds of dorm env set: 128 per app, 5 KiB each', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    const many = (n, from = 0) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${from + i}`, 'v'.repeat(100)]));
    const started = Date.now();
    let res = await server.api('POST', '/apps/wide/project', project([], many(200000)));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error, "Too many env vars for app 'wide' (the limit is 128).");
    assert.ok(Date.now() - started < 10000, `the refusal took ${Date.now() - started} ms`);
    res = await server.api('POST', '/apps/wide/project', project([], { BIG: 'x'.repeat(5 * 1024 + 1) }));
    assert.equal(res.status, 413, res.text);
    assert.equal(res.json().error, 'Env var value is too large: BIG has 5121 bytes (the limit is 5 KiB).');
    // A JSON var is measured as its JSON text: 5,120 bytes of it are accepted, 5,121 refused.
    res = await server.api('POST', '/apps/jsonvar/project', project([], { J: ['x'.repeat(5117)] }));
    assert.equal(res.status, 413, res.text);
    assert.equal(res.json().error, 'Env var value is too large: J has 5121 bytes (the limit is 5 KiB).');
    res = await server.api('POST', '/apps/jsonvar/project', project([], { J: ['x'.repeat(5116)] }));
    assert.equal(res.status, 201, res.text);
    assert.deepEqual((await server.api('GET', '/apps/jsonvar/env')).json().keys, ['J']);
    // Nothing of a refused deploy was applied.
    assert.equal((await server.api('GET', '/apps/wide/env')).status, 200);
    assert.deepEqual((await server.api('GET', '/apps/wide/env')).json().keys, []);
    // At the bound, counting the vars the app already has.
    res = await server.api('PUT', '/apps/wide/env/OLD', JSON.stringify({ value: 'kept' }));
    assert.equal(res.status, 201, res.text);
    res = await server.api('POST', '/apps/wide/project', project([], many(128)));
    assert.equal(res.status, 400, res.text);
    res = await server.api('POST', '/apps/wide/project', project([], many(127)));
    assert.equal(res.status, 201, res.text);
    assert.equal((await server.api('GET', '/apps/wide/env')).json().keys.length, 128);
  } finally {
    await server.stop();
  }
});

test('a project\'s classes and service bindings are bounded before they cost time or memory', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    // 60,000 bound classes were compared pairwise before the count was checked: the control
    // thread was held for over half a minute, every admin request waiting behind it.
    const classes = Array.from({ length: 60000 }, (_, i) => ({ class_name: `C${i}`, binding: `B${i}` }));
    let started = Date.now();
    let res = await server.api('POST', '/apps/wide/project', JSON.stringify({ main: 'index.js', module: MODULE, classes }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error, 'Too many DO classes for one app (the limit is 5).');
    assert.ok(Date.now() - started < 5000, `the refusal took ${Date.now() - started} ms`);

    // 1,000,000 service bindings were accepted; every isolate of the app then built them all in
    // its env, past its heap limit, after a gigabyte of native memory.
    const services = (n) => Array.from({ length: n }, (_, i) => ({ binding: `S${i}`, service: 'wide' }));
    started = Date.now();
    res = await server.api('POST', '/apps/wide/project', JSON.stringify({ main: 'index.js', module: MODULE, services: services(200000) }));
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error, 'Too many service bindings: 200000 (the limit is 1000).');
    assert.ok(Date.now() - started < 5000, `the refusal took ${Date.now() - started} ms`);
    assert.equal((await server.api('GET', '/apps/wide/classes')).json().classes.length, 0);

    // At the bound: deployed, and the Worker sees every binding.
    const counting = 'export default { fetch(request, env) { return new Response(String(Object.keys(env).length)); } }';
    res = await server.api('POST', '/apps/wide/project', JSON.stringify({ main: 'index.js', module: counting, services: services(1000) }));
    assert.equal(res.status, 201, res.text);
    const worker = await server.request('/', { headers: { host: `wide.localhost:${server.port}` } });
    assert.equal(worker.status, 200, worker.text);
    assert.equal(worker.text, '1000');
  } finally {
    await server.stop();
  }
});
