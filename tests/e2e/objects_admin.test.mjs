// The objects list and the storage browser: GET /_admin/v1/apps/<app>/classes/<class>/objects
// (paging by id with cursors, name prefixes, sizes, live/evicted, alarms), the storage commands
// (list/get/put/delete and SQL, read-only unless asked) that run on the object's own thread
// behind its input gate, their CLI (`dorm objects list`, `dorm storage ...`), app scoping, and the
// one-time indexing of objects stored before the index existed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, fixture, waitFor } from './lib/dorm.mjs';

const CLASS = 'browsed';
const COUNT = 250;
let server;

const names = Array.from({ length: COUNT }, (_, i) => `obj-${String(i).padStart(3, '0')}`);
const ids = new Map(); // name -> id, as the object itself reports it

before(async () => {
  // Objects leave memory after a second idle: the list must tell live from evicted.
  server = await startServer({ flags: ['--idle-evict-seconds', '1'] });
  await server.deploy(fixture('objects_admin.js'), { name: CLASS });
  await server.deploy(fixture('objects_admin.js'), { name: CLASS, app: 'other' });
  for (let i = 0; i < COUNT; i += 25) {
    await Promise.all(
      names.slice(i, i + 25).map(async (name, j) => {
        const value = encodeURIComponent(JSON.stringify({ n: i + j }));
        await server.json(`/_do/${CLASS}/${name}/put?key=n&value=${value}`);
        ids.set(name, (await server.json(`/_do/${CLASS}/${name}/touch`)).id);
      }),
    );
  }
});

after(async () => {
  await server?.stop();
});

async function api(method, apiPath, body, expectStatus = 200, app = 'default') {
  const res = await server.api(method, `/apps/${app}/classes/${CLASS}${apiPath}`,
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  assert.equal(res.status, expectStatus, `${method} ${apiPath}: ${res.status} ${res.text}`);
  return res.json();
}

const objectPath = (name) => `/objects/${encodeURIComponent(name)}`;

test('the objects list pages through every object by id, 100 at a time', async () => {
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const page = await api('GET', `/objects?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.app, 'default');
    assert.equal(page.class, CLASS);
    assert.ok(page.objects.length <= 100);
    seen.push(...page.objects);
    cursor = page.cursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(seen.length, COUNT);
  const sorted = [...seen.map((o) => o.id)].sort();
  assert.deepEqual(seen.map((o) => o.id), sorted, 'ordered by id');
  assert.equal(new Set(sorted).size, COUNT, 'no object twice');
  for (const o of seen) {
    assert.equal(o.id, ids.get(o.name), `${o.name}'s id as the object reports it`);
    assert.ok(o.storage_bytes > 0, `${o.name} has storage`);
    assert.match(o.last_active, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(['live', 'evicted'].includes(o.state), o.state);
    assert.equal(o.websockets, 0);
    assert.equal(o.alarm, null);
  }
});

test('the objects list filters by name prefix and bounds its limit', async () => {
  const page = await api('GET', '/objects?prefix=obj-1&limit=1000');
  assert.equal(page.objects.length, 100);
  assert.ok(page.objects.every((o) => o.name.startsWith('obj-1')));
  assert.equal(page.cursor, null);
  const none = await api('GET', '/objects?prefix=nobody');
  assert.deepEqual(none.objects, []);
  for (const bad of ['limit=0', 'limit=1001', 'limit=ten', 'color=red']) {
    const res = await server.api('GET', `/apps/default/classes/${CLASS}/objects?${bad}`);
    assert.equal(res.status, 400, bad);
  }
  const res = await server.api('GET', '/apps/default/classes/missing/objects');
  assert.equal(res.status, 404);
  assert.equal(res.json().error, "No Durable Object class named 'missing' in app 'default'.");
});

test('live, then evicted, with its alarm and its size', async () => {
  const at = Date.now() + 3600_000;
  await server.json(`/_do/${CLASS}/watched/alarm?at=${at}`);
  let entry = (await api('GET', '/objects?prefix=watched')).objects[0];
  assert.equal(entry.name, 'watched');
  assert.equal(entry.state, 'live');
  assert.equal(entry.alarm, new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000', ''));
  await waitFor(async () => {
    entry = (await api('GET', '/objects?prefix=watched')).objects[0];
    return entry.state === 'evicted';
  }, { timeoutMs: 15000, what: 'eviction' });
  const before = entry.storage_bytes;
  await server.json(`/_do/${CLASS}/watched/put?key=big&value=${encodeURIComponent(JSON.stringify('x'.repeat(20000)))}`);
  entry = (await api('GET', '/objects?prefix=watched')).objects[0];
  assert.ok(entry.storage_bytes > before + 16000, `${before} -> ${entry.storage_bytes}`);
});

test('storage list, get, put and delete round-trip with the object\'s own code', async () => {
  const o = objectPath('obj-007');
  assert.deepEqual(await api('GET', `${o}/storage/n`), { key: 'n', value: { n: 7 } });
  assert.deepEqual(await api('PUT', `${o}/storage/${encodeURIComponent('a/b c')}`, [1, 'two', { three: null }]),
    { key: 'a/b c', stored: true });
  assert.deepEqual(await server.json(`/_do/${CLASS}/obj-007/get?key=${encodeURIComponent('a/b c')}`),
    { value: [1, 'two', { three: null }] });
  await server.json(`/_do/${CLASS}/obj-007/put?key=later&value=42`);
  assert.deepEqual((await api('GET', `${o}/storage/later`)).value, 42);
  const list = await api('GET', `${o}/storage`);
  assert.deepEqual(list.entries.map((e) => e.key), ['a/b c', 'later', 'n']);
  assert.equal(list.cursor, null);
  const first = await api('GET', `${o}/storage?limit=2`);
  assert.deepEqual(first.entries.map((e) => e.key), ['a/b c', 'later']);
  assert.equal(first.cursor, 'later');
  const second = await api('GET', `${o}/storage?limit=2&cursor=${first.cursor}`);
  assert.deepEqual(second.entries, [{ key: 'n', value: { n: 7 } }]);
  assert.deepEqual((await api('GET', `${o}/storage?prefix=la`)).entries, [{ key: 'later', value: 42 }]);
  assert.deepEqual(await api('DELETE', `${o}/storage/later`), { key: 'later', deleted: true });
  assert.deepEqual(await api('DELETE', `${o}/storage/later`), { key: 'later', deleted: false });
  assert.deepEqual(await server.json(`/_do/${CLASS}/obj-007/get?key=later`), { value: null });
  const missing = await api('GET', `${o}/storage/later`, undefined, 404);
  assert.equal(missing.error, 'No key "later" in the object\'s storage.');
  assert.equal((await api('GET', `${o}/storage/%FF`, undefined, 400)).error,
    'Keys, prefixes and cursors must be UTF-8.');
  const bad = await api('PUT', `${o}/storage/x`, '{not json', 400);
  assert.equal(bad.error, 'The value is not JSON: Unexpected token n in JSON at position 1');
  // The object is named by its id as well as by its name.
  assert.deepEqual((await api('GET', `${objectPath(ids.get('obj-007'))}/storage/n`)).value, { n: 7 });
});

test('values JSON cannot hold are shown in their tagged form', async () => {
  await server.json(`/_do/${CLASS}/rich/rich`);
  const { value } = await api('GET', `${objectPath('rich')}/storage/rich`);
  assert.deepEqual(value, {
    $type: 'Object',
    value: {
      map: { $type: 'Map', entries: [['k', 1]] },
      set: { $type: 'Set', values: ['s'] },
      date: { $type: 'Date', value: '1970-01-01T00:00:00.000Z' },
      bytes: { $type: 'Uint8Array', base64: 'AQID' },
      big: { $type: 'bigint', value: '12345678901234567890' },
      nothing: { $type: 'undefined' },
      nan: { $type: 'number', value: 'NaN' },
      re: { $type: 'RegExp', source: 'a+b', flags: 'gi' },
      err: { $type: 'Error', name: 'TypeError', message: 'bad' },
      $type: 'mine',
    },
  });
});

test('SQL is read-only unless asked, and can read the key-value table', async () => {
  const o = objectPath('sql-obj');
  await server.json(`/_do/${CLASS}/sql-obj/sql?label=one`);
  await server.json(`/_do/${CLASS}/sql-obj/sql?label=two`);
  assert.deepEqual(await api('POST', `${o}/sql`, { sql: 'SELECT id, label FROM items ORDER BY id' }),
    { columns: ['id', 'label'], rows: [[1, 'one'], [2, 'two']], truncated: false, rows_written: 0 });
  const needsWrite = 'The statement may change the database: run it with --write ("write": true) to allow changes.';
  for (const sql of ["INSERT INTO items (label) VALUES ('x')", 'DELETE FROM _cf_KV', 'DROP TABLE items',
    "UPDATE _cf_KV SET value = x''"]) {
    assert.equal((await api('POST', `${o}/sql`, { sql }, 400)).error, needsWrite, sql);
  }
  assert.equal((await api('POST', `${o}/sql`, { sql: 'SELECT 1; SELECT 2' }, 400)).error,
    'Only one SQL statement can be run at a time.');
  for (const sql of ["ATTACH DATABASE '/etc/hostname' AS x", 'BEGIN', 'PRAGMA writable_schema = 1']) {
    assert.equal((await api('POST', `${o}/sql`, { sql, write: true }, 400)).error, 'not authorized', sql);
  }
  const kv = await api('POST', `${o}/sql`, { sql: 'SELECT count(*) AS n FROM _cf_KV' });
  assert.deepEqual(kv.rows, [[0]]);
  const written = await api('POST', `${o}/sql`, { sql: 'DELETE FROM items WHERE label = ?', params: ['one'], write: true });
  assert.equal(written.rows_written, 1);
  assert.equal((await server.json(`/_do/${CLASS}/sql-obj/sql?label=three`)).count, 2);
  const limited = await api('POST', `${o}/sql`, { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c', limit: 5 });
  assert.equal(limited.rows.length, 5);
  assert.equal(limited.truncated, true);
});

test('a storage command never sees half of a turn\'s writes', async () => {
  const o = objectPath('pairs');
  let stop = false;
  const writer = (async () => {
    for (let n = 1; n <= 300 && !stop; n++) await server.json(`/_do/${CLASS}/pairs/pair?n=${n}`);
  })();
  let reads = 0;
  let nonzero = 0;
  try {
    while (reads < 400) {
      const { entries } = await api('GET', `${o}/storage?prefix=pair-`);
      reads++;
      if (entries.length === 0) continue;
      assert.equal(entries.length, 2, JSON.stringify(entries));
      assert.equal(entries[0].value, entries[1].value, JSON.stringify(entries));
      nonzero++;
      if (nonzero > 50 && reads > 100) break;
    }
  } finally {
    stop = true;
    await writer;
  }
  assert.ok(nonzero > 0);
});

test('an app reaches only its own objects', async () => {
  await server.json(`/_admin/v1/apps/other/classes/${CLASS}/objects`, {
    headers: { authorization: `Bearer ${server.adminToken()}` },
  }).then((page) => assert.deepEqual(page.objects, []));
  // The same name in another app is another object, with storage of its own.
  await api('GET', `${objectPath('obj-007')}/storage/n`, undefined, 404, 'other');
  const key = (await server.cli(['keys', 'create', '--app', 'default'])).stdout.trim();
  assert.match(key, /^dorm_sk_/);
  // The app's own service key lists its objects (the rest in service_key_objects.test.mjs).
  const res = await server.api('GET', `/apps/default/classes/${CLASS}/objects`, undefined, { token: key });
  assert.equal(res.status, 200, res.text);
  const refused = await server.api('GET', `/apps/other/classes/${CLASS}/objects`, undefined, { token: key });
  assert.equal(refused.status, 403, refused.text);
});

test('the CLI prints the objects list and runs storage commands', async () => {
  const list = await server.cli(['objects', 'list', CLASS, '--prefix', 'obj-0', '--limit', '2']);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.match(lines[0], /^ID\s+NAME\s+STORAGE_BYTES\s+LAST_ACTIVE\s+STATE\s+WS\s+ALARM$/);
  assert.equal(lines.length, 4);
  assert.match(lines[3], /^next page: --cursor [0-9a-f]{64}$/);
  const cursor = lines[3].split(' ').pop();
  const next = await server.cli(['objects', 'list', CLASS, '--prefix', 'obj-0', '--limit', '2', '--cursor', cursor]);
  assert.equal(next.code, 0, next.stderr);
  assert.ok(next.stdout.split('\n')[1] > cursor);

  const put = await server.cli(['storage', 'put', CLASS, 'cli-obj', 'greeting', '{"hello":"world"}']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.stdout, 'stored\n');
  const get = await server.cli(['storage', 'get', CLASS, 'cli-obj', 'greeting']);
  assert.equal(get.stdout, '{"hello":"world"}\n');
  const ls = await server.cli(['storage', 'list', CLASS, 'cli-obj']);
  assert.equal(ls.stdout, 'greeting\t{"hello":"world"}\n');
  const sql = await server.cli(['storage', 'sql', CLASS, 'cli-obj', 'SELECT key FROM _cf_KV']);
  assert.equal(sql.stdout, 'key\n"greeting"\n');
  const refused = await server.cli(['storage', 'sql', CLASS, 'cli-obj', 'DELETE FROM _cf_KV']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /may change the database: run it with --write/);
  const written = await server.cli(['storage', 'sql', CLASS, 'cli-obj', 'DELETE FROM _cf_KV', '--write']);
  assert.equal(written.code, 0, written.stderr);
  assert.equal(written.stdout, 'rows written: 1\n');
  const gone = await server.cli(['storage', 'get', CLASS, 'cli-obj', 'greeting']);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, 'dorm: No key "greeting" in the object\'s storage.\n');
  const del = await server.cli(['storage', 'delete', CLASS, 'cli-obj', 'greeting']);
  assert.equal(del.stdout, 'not found\n');
});

test('objects stored before the index existed are indexed once at start-up', async () => {
  await server.stop();
  const registry = path.join(server.dataDir, 'registry.sqlite');
  execFileSync('sqlite3', [registry, 'DELETE FROM object_index; DELETE FROM object_index_meta;']);
  server = await server.restart();
  const page = await api('GET', '/objects?prefix=obj-00&limit=1000');
  assert.equal(page.objects.length, 10);
  for (const o of page.objects) {
    assert.equal(o.id, ids.get(o.name), 'the name comes back from the usage meters');
    assert.ok(o.storage_bytes > 0);
    assert.equal(o.state, 'evicted');
  }
  const all = [];
  let cursor = null;
  do {
    const p = await api('GET', `/objects?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...p.objects);
    cursor = p.cursor;
  } while (cursor);
  assert.ok(all.length >= COUNT + 4, `${all.length} objects`);
});
