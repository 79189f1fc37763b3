// A project deploy whose configuration lists 100,000 migrations held the control thread for
// minutes (each new class was checked against every class before it), and every admin request
// waited behind it. A deploy may now list at most 10,000 migrations naming at most 10,000 classes
// in all, and planning them takes time in proportion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../e2e/lib/dorm.mjs';

const MODULE = 'export class A { fetch() { return new Response("a"); } }\n' +
  'export default { fetch() { return new Response("w"); } }';

function project(migrations) {
  return JSON.stringify({
    main: 'index.js',
    module: MODULE,
    classes: [{ class_name: 'A', binding: 'A' }],
    migrations: [...migrations, { tag: 'last', new_sqlite_classes: ['A'] }],
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
