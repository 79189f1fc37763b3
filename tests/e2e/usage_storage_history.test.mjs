// The storage size over time in the usage series (GET /_admin/v1/usage/series): each point's
// storage_bytes is the size at the end of its step, from the history the usage store keeps per
// class; nothing before the first write, a class's total after its writes, 0 once it is deleted,
// and the history survives a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, describeCli } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('export_backup.js'), { name: 'sized' });
  await server.deploy(fixture('export_backup.js'), { name: 'other' });
});

after(async () => {
  await server?.stop();
});

const series = async (query = '') => {
  const since = new Date(Date.now() - 9 * 60000).toISOString();
  const res = await server.api('GET', `/usage/series?app=default&since=${since}&step=1${query}`);
  assert.equal(res.status, 200, res.text);
  return res.json();
};
const put = (cls, name, value, key = 'k') =>
  server.json(`/_do/${cls}/${name}/put?key=${key}&value=${encodeURIComponent(JSON.stringify(value))}`);
// About `kb` KiB of values (URLs stay short).
const fill = async (cls, name, kb) => {
  for (let i = 0; i < kb / 4; i++) await put(cls, name, `${i}`.padEnd(4096, 'x'), `fill-${i}`);
};

test('each point holds the storage size at the end of its step', async () => {
  const empty = await series();
  assert.equal(empty.points.length, 10);
  assert.deepEqual(empty.points.map((p) => p.storage_bytes), Array(10).fill(0));

  await fill('sized', 'a', 100);
  await put('other', 'b', 1);
  const one = await series('&name=sized');
  assert.ok(one.storage_bytes > 100000, `${one.storage_bytes}`);
  assert.equal(one.points.at(-1).storage_bytes, one.storage_bytes);
  assert.equal(one.points[0].storage_bytes, 0);
  const all = await series();
  assert.equal(all.points.at(-1).storage_bytes, all.storage_bytes);
  assert.ok(all.storage_bytes > one.storage_bytes);
  const totals = (await server.api('GET', '/usage?app=default')).json();
  assert.equal(all.storage_bytes, totals.storage_bytes);

  // More data: the latest point grows with it.
  await fill('sized', 'c', 200);
  const grown = await series('&name=sized');
  assert.ok(grown.points.at(-1).storage_bytes > one.storage_bytes + 200000);
});

test('a deleted class is 0 from then on; the history survives a restart', async () => {
  const before = await series();
  const removed = await server.cli(['delete', 'other', '--yes']);
  assert.equal(removed.code, 0, describeCli(removed));
  const sized = (await series('&name=sized')).storage_bytes;
  const after = await series();
  assert.equal(after.points.at(-1).storage_bytes, sized);
  assert.ok(after.points.at(-1).storage_bytes < before.points.at(-1).storage_bytes);

  await server.stop();
  server = await server.restart();
  const restarted = await series('&name=sized');
  assert.equal(restarted.points.at(-1).storage_bytes, sized);
  assert.ok(restarted.points.some((p) => p.storage_bytes === 0), 'the minutes before the first write');
});
