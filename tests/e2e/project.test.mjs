// Wrangler projects deployed unmodified with `dorm deploy DIR|wrangler.*`: the configuration read
// as Wrangler reads it (JSONC and TOML), `main` bundled with esbuild (TypeScript, local modules, an
// npm package from the project's node_modules), the Worker serving every request outside `/_do/`
// (a handler object or a WorkerEntrypoint class), classes calling each other over RPC, vars, and
// the refusals: malformed files with the key and the reason, bindings no migration created,
// unsupported keys with --strict, a class missing from the bundle, a class dropped on redeploy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WsClient } from './lib/ws.mjs';
import {
  startServer, fixture, EXAMPLES_DIR, makeTempDir, assertCliFailure, describeCli,
} from './lib/dorm.mjs';

let server;
const chat = (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `chat-app.localhost:${server.port}`, ...(opts.headers ?? {}) } });
const echo = (p, opts = {}) =>
  server.request(p, { ...opts, headers: { host: `echo-app.localhost:${server.port}`, ...(opts.headers ?? {}) } });

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  const chatDeploy = await server.cli(['deploy', path.join(EXAMPLES_DIR, 'wrangler-project')]);
  assert.equal(chatDeploy.code, 0, describeCli(chatDeploy));
  const echoDeploy = await server.cli(['deploy', fixture('project-toml/wrangler.toml')]);
  assert.equal(echoDeploy.code, 0, describeCli(echoDeploy));
});

after(async () => {
  await server?.stop();
});

// A project folder with `files` (name → text), for the refusals.
function project(files) {
  const dir = makeTempDir('project');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const workerSource = `
import { DurableObject } from 'cloudflare:workers';
export class Counter extends DurableObject { add() { return 1; } }
export default { fetch() { return new Response('ok'); } };
`;

test('the example Wrangler project runs: Worker → ChatRoom → UserProfile over RPC, with vars', async () => {
  const joined = await chat('/rooms/lobby/join?user=ann', { method: 'POST' });
  assert.equal(joined.status, 200, joined.text);
  assert.deepEqual(joined.json(), { welcome: 'Welcome to the room, ann', rooms: ['lobby'] });
  const posted = await chat('/rooms/lobby/post?user=ann', { method: 'POST', body: 'hello' });
  assert.equal(posted.status, 200, posted.text);
  assert.equal(posted.json().posts, 1);
  assert.deepEqual(posted.json().history.map((m) => m.text), ['hello']);
  // The error a method throws reaches the Worker, which answers it.
  const stranger = await chat('/rooms/lobby/post?user=bob', { method: 'POST', body: 'hi' });
  assert.equal(stranger.status, 400);
  assert.deepEqual(stranger.json(), { error: 'bob has not joined this room' });
  const history = await chat('/rooms/lobby');
  assert.deepEqual(history.json().map((m) => `${m.user}: ${m.text}`), ['ann: hello']);
  assert.equal((await chat('/elsewhere')).status, 404);
});

test('the deploy lists the project classes, not the Worker; their /_do/ URLs keep their access mode', async () => {
  assert.deepEqual(await server.classNames('chat-app'), ['chat-room', 'user-profile']);
  const direct = await chat('/_do/chat-room/lobby');
  assert.equal(direct.status, 401, direct.text);
});

test('a TOML project: WorkerEntrypoint class, npm package, local module, vars, unbound KV', async () => {
  const res = await echo('/?q=1', { method: 'POST', body: 'payload' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    greeting: 'hello, dorm (esm)',
    mode: 'toml',
    moduleMode: 'toml',
    limit: 3,  // as on Cloudflare, a var that is not a string keeps its JSON type
    cache: 'unbound',
    url: `http://echo-app.localhost:${server.port}/?q=1`,
    method: 'POST',
    body: 'payload',
  });
  assert.deepEqual((await echo('/tally?by=2')).json(), { total: 2 });
  assert.deepEqual((await echo('/tally?by=3')).json(), { total: 5 });
});

test('a WorkerEntrypoint gets a new instance per request; ctx.waitUntil work outlives the response', async () => {
  const first = (await echo('/instances')).json().instances;
  const second = (await echo('/instances')).json().instances;
  assert.ok(second > first, `${first} then ${second}`);
  const waited = await echo('/wait-until');
  assert.equal(waited.status, 200);
  // Workers are stateless: a later request may run on the other thread's isolate, so ask until
  // the isolate that ran the promise answers.
  let settled = false;
  for (let i = 0; i < 50 && !settled; i++) {
    settled = (await echo('/settled')).json().settled.includes('late');
    if (!settled) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(settled, 'the waitUntil promise never settled');
});

test('a Worker that throws answers 500 with the message, as an object does', async () => {
  const res = await echo('/throw');
  assert.equal(res.status, 500);
  assert.deepEqual(res.json(), { error: 'the Worker failed' });
});

test('a Worker is public; a valid credential still gets its verified headers, a forged one none', async () => {
  const bare = await echo('/headers', { headers: { 'x-dorm-auth-claims': '{"sub":"forged"}', 'x-dorm-service-key-id': 'sk_forged' } });
  assert.equal(bare.status, 200);
  assert.deepEqual(bare.json(), { claims: null, key: null, authorization: false });
  const created = await server.cli(['keys', 'create', '--app', 'echo-app', '--name', 'worker-test']);
  assert.equal(created.code, 0, describeCli(created));
  const key = /(dorm_sk_[0-9a-f]{64})/.exec(created.stdout + created.stderr)?.[1];
  assert.ok(key, describeCli(created));
  const keyId = /(sk_[0-9a-f]+)/.exec(created.stderr)?.[1];
  const withKey = await echo('/headers', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(withKey.status, 200);
  assert.equal(withKey.json().key, keyId);
  const forged = await echo('/headers', { headers: { authorization: `Bearer dorm_sk_${'0'.repeat(64)}` } });
  assert.equal(forged.status, 200, 'a refused credential does not keep a request from a Worker');
  assert.deepEqual(forged.json(), { claims: null, key: null, authorization: true });
});

test('bindings Dorm does not provide are named in warnings; --strict refuses them', async () => {
  const again = await server.cli(['deploy', fixture('project-toml')]);
  assert.equal(again.code, 0, describeCli(again));
  assert.match(again.stderr, /kv_namespaces: not provided by Dorm; left unbound/);
  assert.match(again.stderr, /triggers: not provided by Dorm; left unbound/);
  const strict = await server.cli(['deploy', fixture('project-toml'), '--strict']);
  assertCliFailure(assert, strict, /kv_namespaces: not provided by Dorm; left unbound \(refused with --strict\)/);
});

test('malformed configurations are refused with the key and the reason', async () => {
  const cases = [
    [{ 'wrangler.jsonc': '{ "name": "bad", "main": 5 }' }, /wrangler\.jsonc: main: expected a string/],
    [{ 'wrangler.json': '{ "name": "bad", "main": "a.js", "durable_objects": { "bindings": [{ "name": "X" }] } }' },
      /wrangler\.json: durable_objects\.bindings\[0\]\.class_name: missing/],
    [{ 'wrangler.jsonc': '{ "name": "bad", "main": "a.js", "migrations": [{ "new_sqlite_classes": ["A"] }] }' },
      /migrations\[0\]\.tag: missing/],
    [{ 'wrangler.jsonc': '{ "name": "bad" "main": "a.js" }' }, /wrangler\.jsonc: not valid JSON/],
    [{ 'wrangler.toml': 'name = "bad"\nmain = \n' }, /wrangler\.toml:2:/],
    [{ 'wrangler.jsonc': '{ "name": "bad" }' }, /main: missing: the Worker's entry module/],
    [{ 'wrangler.jsonc': '{ "name": "bad", "main": "a.js", "vars": [1] }' }, /vars: expected an object/],
  ];
  for (const [files, expected] of cases) {
    const result = await server.cli(['deploy', project(files)]);
    assertCliFailure(assert, result, expected);
  }
});

test('a binding whose class no migration created is refused, with Cloudflare\'s words', async () => {
  const dir = project({
    'wrangler.jsonc': JSON.stringify({
      name: 'unmigrated', main: 'index.js',
      durable_objects: { bindings: [{ name: 'COUNTER', class_name: 'Counter' }] },
    }),
    'index.js': workerSource,
  });
  const result = await server.cli(['deploy', dir]);
  assertCliFailure(assert, result, /Cannot create binding for class 'Counter' because it is not currently configured to implement Durable Objects/);
  assert.equal((await server.api('GET', '/apps/unmigrated/classes')).json().classes.length, 0);
});

test('a bound class missing from the bundle is refused as Wrangler refuses it', async () => {
  const dir = project({
    'wrangler.jsonc': JSON.stringify({
      name: 'missing-export', main: 'index.js',
      durable_objects: { bindings: [{ name: 'GHOST', class_name: 'Ghost' }] },
      migrations: [{ tag: 'v1', new_sqlite_classes: ['Ghost'] }],
    }),
    'index.js': workerSource,
  });
  const result = await server.cli(['deploy', dir]);
  assertCliFailure(assert, result, /Your Worker depends on the following Durable Objects, which are not exported in your entrypoint file: Ghost/);
});

test('a redeploy that drops a class is refused; one that keeps it replaces the code', async () => {
  const config = (bindings) => JSON.stringify({
    name: 'evolving', main: 'index.js',
    durable_objects: { bindings },
    migrations: [{ tag: 'v1', new_sqlite_classes: ['Counter'] }],
  });
  const dir = project({ 'wrangler.jsonc': config([{ name: 'COUNTER', class_name: 'Counter' }]), 'index.js': workerSource });
  assert.equal((await server.cli(['deploy', dir])).code, 0);
  const host = { host: `evolving.localhost:${server.port}` };
  assert.equal((await server.request('/', { headers: host })).text, 'ok');
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config([]));
  const dropped = await server.cli(['deploy', dir]);
  assertCliFailure(assert, dropped, /does not bind class 'Counter'/);
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config([{ name: 'COUNTER', class_name: 'Counter' }]));
  fs.writeFileSync(path.join(dir, 'index.js'), workerSource.replace("'ok'", "'v2'"));
  assert.equal((await server.cli(['deploy', dir])).code, 0);
  assert.equal((await server.request('/', { headers: host })).text, 'v2');
});

test('a bundling failure names the import that cannot be resolved', async () => {
  const dir = project({
    'wrangler.jsonc': JSON.stringify({ name: 'unbundled', main: 'index.js' }),
    'index.js': "import { x } from 'not-installed';\nexport default { fetch() { return new Response(x); } };\n",
  });
  const result = await server.cli(['deploy', dir]);
  assertCliFailure(assert, result, /Could not resolve "not-installed"/);
});

test('migrations: a rename keeps the objects, a delete removes them, tags apply once', async () => {
  const source = (className) => `
import { DurableObject } from 'cloudflare:workers';
export class ${className} extends DurableObject {
  add(by) { const n = (this.ctx.storage.kv.get('n') ?? 0) + by; this.ctx.storage.kv.put('n', n); return n; }
  idOf() { return this.ctx.id.toString(); }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stub = env.TALLY.getByName(url.searchParams.get('name') ?? 'a');
    if (url.pathname === '/id') return new Response(await stub.idOf());
    return new Response(String(await stub.add(Number(url.searchParams.get('by') ?? 1))));
  },
};`;
  const config = (className, migrations) => JSON.stringify({
    name: 'migrating', main: 'index.js',
    durable_objects: { bindings: className ? [{ name: 'TALLY', class_name: className }] : [] },
    migrations,
  });
  const v1 = [{ tag: 'v1', new_sqlite_classes: ['Counter'] }];
  const dir = project({ 'wrangler.jsonc': config('Counter', v1), 'index.js': source('Counter') });
  const first = await server.cli(['deploy', dir]);
  assert.equal(first.code, 0, describeCli(first));
  const host = { host: `migrating.localhost:${server.port}` };
  assert.equal((await server.request('/?by=5', { headers: host })).text, '5');
  const idBefore = (await server.request('/id', { headers: host })).text;
  const objectsDir = path.join(server.dataDir, 'objects', 'migrating');
  assert.deepEqual(fs.readdirSync(objectsDir), ['counter']);

  // v2 renames Counter to Tally: same ids, same data, the new URL name.
  const v2 = [...v1, { tag: 'v2', renamed_classes: [{ from: 'Counter', to: 'Tally' }] }];
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config('Tally', v2));
  fs.writeFileSync(path.join(dir, 'index.js'), source('Tally'));
  const renamed = await server.cli(['deploy', dir]);
  assert.equal(renamed.code, 0, describeCli(renamed));
  assert.equal((await server.request('/?by=2', { headers: host })).text, '7', 'the data moved with the class');
  assert.equal((await server.request('/id', { headers: host })).text, idBefore);
  assert.deepEqual(await server.classNames('migrating'), ['tally']);
  const token = server.adminToken();
  const viaUrl = await server.request('/_do/tally/a', { headers: { ...host, authorization: `Bearer ${token}` } });
  assert.equal(viaUrl.status, 401, 'the renamed class keeps its access mode');
  assert.equal((await server.request('/_do/counter/a', { headers: host })).status, 404);

  // Deploying the same migrations again applies nothing twice.
  const again = await server.cli(['deploy', dir]);
  assert.equal(again.code, 0, describeCli(again));
  assert.equal((await server.request('/?by=1', { headers: host })).text, '8');

  // A migration list that drops the applied tags is refused.
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config('Tally', [{ tag: 'w1', new_sqlite_classes: ['Tally'] }]));
  assertCliFailure(assert, await server.cli(['deploy', dir]), /The last migration applied, tag 'v2', is not in the project's migrations/);

  // v3 deletes it: the objects and their files are gone.
  const v3 = [...v2, { tag: 'v3', deleted_classes: ['Tally'] }];
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config(null, v3));
  fs.writeFileSync(path.join(dir, 'index.js'), 'export default { fetch() { return new Response("empty"); } };\n');
  const deleted = await server.cli(['deploy', dir]);
  assert.equal(deleted.code, 0, describeCli(deleted));
  assert.deepEqual(await server.classNames('migrating'), []);
  assert.equal((await server.request('/', { headers: host })).text, 'empty');
  assert.deepEqual(fs.existsSync(objectsDir) ? fs.readdirSync(objectsDir) : [], []);

  // A class created again under the old name starts empty.
  const v4 = [...v3, { tag: 'v4', new_sqlite_classes: ['Tally'] }];
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config('Tally', v4));
  fs.writeFileSync(path.join(dir, 'index.js'), source('Tally'));
  assert.equal((await server.cli(['deploy', dir])).code, 0);
  assert.equal((await server.request('/?by=1', { headers: host })).text, '1');
});

test('a class created by new_classes is key-value only: SQL and sync KV fail as on Cloudflare', async () => {
  const dir = project({
    'wrangler.jsonc': JSON.stringify({
      name: 'kv-backed', main: 'index.js',
      durable_objects: { bindings: [{ name: 'OLD', class_name: 'Old' }, { name: 'NEW', class_name: 'New' }] },
      migrations: [{ tag: 'v1', new_classes: ['Old'], new_sqlite_classes: ['New'] }],
    }),
    'index.js': `
import { DurableObject } from 'cloudflare:workers';
class Probe extends DurableObject {
  async probe() {
    const out = {};
    await this.ctx.storage.put('k', 1);
    out.asyncKv = await this.ctx.storage.get('k');
    for (const [name, run] of Object.entries({
      sql: () => this.ctx.storage.sql.exec('SELECT 1').one(),
      syncKv: () => this.ctx.storage.kv.get('k'),
    })) {
      try { out[name] = run(); } catch (e) { out[name] = e.constructor.name + ': ' + e.message; }
    }
    return out;
  }
}
export class Old extends Probe {}
export class New extends Probe {}
export default {
  async fetch(request, env) {
    return Response.json({ old: await env.OLD.getByName('a').probe(), new: await env.NEW.getByName('a').probe() });
  },
};`,
  });
  const deployed = await server.cli(['deploy', dir]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  const res = await server.request('/', { headers: { host: `kv-backed.localhost:${server.port}` } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    old: {
      asyncKv: 1,
      sql: 'Error: This Durable Object is not backed by SQLite storage, so the SQL API is not ' +
        'available. SQL can be enabled on a new Durable Object class by using the ' +
        '`new_sqlite_classes` instead of `new_classes` under `[[migrations]]` in your ' +
        'wrangler.toml, but an already-deployed class cannot be converted to SQLite (except by ' +
        'deleting the existing data).',
      syncKv: 'Error: The storage.kv (synchronous KV) API is only available for SQLite-backed ' +
        "Durable Objects, but this object's namespace is not declared to use SQLite. You can use " +
        'the older, asyncronous interface via methods of `storage` itself (e.g. ' +
        '`storage.get()`). SQLite can be enabled on a new Durable Object class by using the ' +
        '`new_sqlite_classes` instead of `new_classes` under `migrations` in your ' +
        'wrangler.jsonc or wrangler.toml, but an already-deployed class cannot be converted ' +
        'to SQLite (except by deleting the existing data).',
    },
    new: { asyncKv: 1, sql: { 1: 1 }, syncKv: 1 },
  });
});

test('a single-file deploy cannot replace a class of a project', async () => {
  const file = path.join(makeTempDir('single'), 'chat-room.js');
  fs.writeFileSync(file, "import { DurableObject } from 'cloudflare:workers';\nexport class ChatRoom extends DurableObject {}\n");
  const result = await server.deploy(file, { app: 'chat-app', check: false });
  assertCliFailure(assert, result, /Class 'chat-room' belongs to the app's Wrangler project/);
});

test('service bindings to the project\'s own Worker: RPC to its entrypoints and fetch()', async () => {
  const res = await echo('/services');
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  assert.equal(body.ping, 'pong self');
  assert.equal(body.add, 5);
  assert.equal(typeof body.total, 'number');
  assert.equal(body.fetched, 'admin saw PUT /inside');
  assert.deepEqual(body.selfFetch, { claims: null, key: null, authorization: false });
  assert.equal(body.billing, 'bound');
  const errors = (await echo('/services/errors')).json();
  assert.deepEqual(errors.thrown, { name: 'RangeError', message: 'admin refused', remote: true });
  assert.deepEqual(errors.missing, { name: 'TypeError', message: 'The RPC receiver does not implement the method "nope".', remote: true });
  assert.equal(errors.reserved.name, 'TypeError');
});

test('references across a project: a Worker\'s callback called by an object, an entrypoint\'s RpcTarget', async () => {
  const res = await echo('/references');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    mapped: [10, 20, 30], greeted: 'hello, ann', user: 'ann', piped: 'hi, bob',
  });
});

test('ctx.exports: loopback bindings to the module\'s entrypoints and classes, in Workers and objects', async () => {
  const res = await echo('/exports');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    keys: ['Admin', 'Tally', 'default'],
    add: 3,
    tally: 5,
    fetched: 200,
    fromObject: { keys: ['Admin', 'Tally', 'default'], admin: 42 },
  });
});

test('a WebSocket through the Worker: stub.fetch(request) hands the object\'s socket to the client', async () => {
  const headers = { host: `echo-app.localhost:${server.port}` };
  const url = (room) => `ws://127.0.0.1:${server.port}/ws?room=${room}`;
  // Rooms on both threads: the connection moves to the thread of the object that owns the socket.
  const clients = [];
  for (const room of ['r1', 'r2', 'r3', 'r4']) {
    const client = await WsClient.open(url(room), { headers });
    client.send('hello');
    assert.equal(await client.next(), `${room}:hello:1`);
    clients.push(client);
  }
  const second = await WsClient.open(url('r1'), { headers });
  second.send('again');
  assert.equal(await second.next(), 'r1:again:2', 'both sockets are the object\'s');
  for (const client of [...clients, second]) client.ws.close();
  // A socket that came through stub.fetch() can only be passed on.
  await assert.rejects(WsClient.open(url('x').replace('/ws?', '/ws-kept?'), { headers }), (error) => {
    assert.equal(error.status, 409);
    assert.match(error.body, /return it in a Response instead/);
    return true;
  });
});
