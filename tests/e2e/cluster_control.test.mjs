// The cluster's control plane (`dorm serve --cluster`): classes, projects, env vars and service
// keys are deployed once, to any node, and every node runs the same code: changes go through the
// log in PostgreSQL and every node applies them in order, a node started later or cut from
// PostgreSQL catches up, and concurrent deploys end in one version everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describeCli, makeTempDir, runCli, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { startClusterNode } from './lib/cluster.mjs';
import { startProxy } from './lib/pg_proxy.mjs';

const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const RESET = 'Durable Object reset because its code was updated.';

// A class that answers with its code's version, the node that ran it, env GREETING, how many
// requests this instance served (it starts again at 1 in a new instance) and a durable count.
function probeSource(version) {
  return `
export class Probe {
  constructor(state, env) { this.state = state; this.env = env; this.hits = 0; }
  async fetch(request) {
    this.hits++;
    const n = ((await this.state.storage.get('n')) ?? 0) + 1;
    await this.state.storage.put('n', n);
    return Response.json({ version: ${version}, node: this.env.NODE_NAME,
      greeting: this.env.GREETING ?? null, hits: this.hits, n });
  }
}
`;
}

const dir = makeTempDir('control');
function probeFile(version) {
  const file = path.join(dir, `probe-${version}.js`);
  fs.writeFileSync(file, probeSource(version));
  return file;
}

// Writes a Wrangler project (its wrangler.toml and src/index.js) into a folder of the test's
// directory; returns the project's root.
function writeProject(folder, toml, worker) {
  const root = path.join(dir, folder);
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.writeFileSync(path.join(root, 'wrangler.toml'), toml);
  fs.writeFileSync(path.join(root, 'src', 'index.js'), worker);
  return root;
}

// A Wrangler project: a Worker that calls a class by RPC.
function projectDir() {
  return writeProject('project', `name = "cp-proj"
main = "src/index.js"
compatibility_date = "2025-09-01"

[vars]
FLAVOUR = "project"

[[durable_objects.bindings]]
name = "TALLY"
class_name = "Tally"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Tally"]
`, `
import { DurableObject } from 'cloudflare:workers';
export class Tally extends DurableObject {
  async add() {
    const n = ((await this.ctx.storage.get('n')) ?? 0) + 1;
    await this.ctx.storage.put('n', n);
    return { n, node: this.env.NODE_NAME };
  }
}
export default {
  async fetch(request, env) {
    const got = await env.TALLY.getByName('t').add();
    return Response.json({ worker: env.NODE_NAME, flavour: env.FLAVOUR, ...got });
  },
};
`);
}

let pg;
let proxy;
let a;
let b;
let c;
let d;
const extra = [];  // nodes a test starts for itself
before(async () => {
  pg = await startPostgres();
  proxy = await startProxy(pg.port);
  a = await startClusterNode(pg, 'cp-a');
  b = await startClusterNode(pg, 'cp-b');
  c = await startClusterNode(pg, 'cp-c', { url: `postgres://dorm@127.0.0.1:${proxy.port}/postgres` });
});
after(async () => {
  for (const node of [a, b, c, d, ...extra]) if (node && !node.exitInfo) await node.stop();
  await proxy?.close();
  await pg?.stop();
});

async function hit(node, object, cls = 'probe') {
  const res = await node.request(`/_do/${cls}/${object}/hit`);
  assert.equal(res.status, 200, `${node.name} ${cls}/${object}: ${res.status} ${res.body}\n${node.outputTail(8000)}`);
  return res.json();
}

// Hits the object until its answer satisfies `wanted`. A request in flight when a change reaches
// the object's node fails with the reset (as on a single server), and one sent to a node that
// lost its lease (cut from PostgreSQL) and has not registered again with a retryable 503 (it
// serves no object, and may not reach PostgreSQL to find the owner): both count as not yet. (Once
// it registers it has caught up, so no node is placed objects it answers 503.)
async function hitUntil(node, object, wanted, what, cls = 'probe') {
  return waitFor(async () => {
    const res = await node.request(`/_do/${cls}/${object}/hit`);
    if (res.status === 500 && res.json().error === RESET) return false;
    if (res.status === 503) return false;
    assert.equal(res.status, 200, `${node.name} ${cls}/${object}: ${res.status} ${res.body}\n${node.outputTail(8000)}`);
    return wanted(res.json()) && res.json();
  }, { timeoutMs: 10000, what });
}

function projectRequest(node) {
  return node.request('/', { headers: { host: `cp-proj.localhost:${node.port}` } });
}

function rowsOf(table, cls, app = 'default') {
  return Number(pg.psql(`SELECT count(*) FROM ${table} WHERE starts_with(object, '${app}' || chr(10) || '${cls}' || chr(10))`));
}

// The project's next version: its class deleted by a migration, the Worker alone.
function projectWithoutClass() {
  return writeProject('project-v2', `name = "cp-proj"
main = "src/index.js"
compatibility_date = "2025-09-01"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Tally"]

[[migrations]]
tag = "v2"
deleted_classes = ["Tally"]
`, `
export default { fetch() { return new Response('no tally'); } };
`);
}

test('deployed to one node, a class runs on every node; env, keys, redeploys and deletes are the cluster\'s', { timeout: TIMEOUT_MS }, async () => {
  await a.deploy(probeFile(1), { name: 'probe' });
  // The admin API of every node answers from the log's end.
  for (const node of [a, b, c]) assert.deepEqual(await node.classNames(), ['probe'], node.name);

  // Objects reached through B and C run version 1, on whichever node owns them.
  const owners = new Map();
  for (let i = 0; i < 12; i++) {
    const answer = await hit([b, c][i % 2], `obj-${i}`);
    assert.equal(answer.version, 1);
    owners.set(`obj-${i}`, answer.node);
  }
  const onA = [...owners].filter(([, node]) => node === 'cp-a').map(([object]) => object);
  assert.ok(onA.length > 0, `some object lives on cp-a: ${[...owners]}`);
  const object = onA[0];

  // An env var set on B reaches the objects on A; its value is sealed in PostgreSQL.
  const set = await b.api('PUT', '/apps/default/env/GREETING', { value: 'hello-sealed-value' });
  assert.equal(set.status, 201, set.body);
  const greeted = await hitUntil(b, object, (answer) => answer.greeting === 'hello-sealed-value',
    'the env var on cp-a');
  assert.equal(greeted.node, 'cp-a');
  assert.equal(pg.psql("SELECT count(*) FROM control_changes WHERE position(convert_to('hello-sealed-value', 'UTF8') in change) > 0"), '0');
  const before = await hit(a, object);
  assert.ok(before.hits >= 2, `one instance served ${before.hits}`);

  // A redeploy on C resets the live instance on A; its next request runs the new code.
  await c.deploy(probeFile(2), { name: 'probe' });
  const after = await hitUntil(a, object, (answer) => answer.version === 2, 'version 2 on cp-a');
  assert.equal(after.node, 'cp-a');
  assert.equal(after.hits, 1, 'a new instance');
  // Every request (the ones that still met version 1 too) counted once more.
  assert.ok(after.n > before.n, `its storage stayed: ${after.n} after ${before.n}`);
  for (const node of [a, b, c]) {
    const got = await node.api('GET', '/apps/default/classes/probe');
    assert.equal(got.status, 200);
    assert.match(got.json().source, /version: 2/, node.name);
  }

  // The app's env var NODE_NAME does not shadow each node's own var (--var NODE_NAME).
  assert.equal((await hit(a, object)).hits, 2);
  const shadow = await b.api('PUT', '/apps/default/env/NODE_NAME', { value: 'shared' });
  assert.equal(shadow.status, 201, shadow.body);
  const shadowed = await hitUntil(a, object, (answer) => answer.hits === 1, 'the env change on cp-a');
  assert.equal(shadowed.node, 'cp-a');

  // A service key made on A authenticates on B and C (once they applied the change: requests are
  // authorized against the node's copy, polled every 0.25 s).
  const made = await a.api('POST', '/apps/default/keys', { name: 'ops' });
  assert.equal(made.status, 201, made.body);
  const { key } = made.json();
  for (const node of [b, c]) {
    const listed = await waitFor(async () => {
      const res = await node.api('GET', '/apps/default/classes/probe/objects', undefined, { token: key });
      return res.status !== 401 && res;
    }, { timeoutMs: 3000, what: `the key on ${node.name}` });
    assert.equal(listed.status, 200, `${node.name}: ${listed.body}`);
    const refused = await node.api('GET', '/apps/default/classes', undefined, { token: key });
    assert.equal(refused.status, 401, node.name);
  }

  // A project deployed through B runs on A and C.
  const deployed = await b.cli(['deploy', projectDir()]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  for (const node of [a, c]) {
    const res = await waitFor(async () => {
      const got = await projectRequest(node);
      return got.status !== 404 && got;
    }, { timeoutMs: 3000, what: `the project on ${node.name}` });
    assert.equal(res.status, 200, `${node.name}: ${res.body}`);
    assert.equal(res.json().flavour, 'project');
    assert.equal(res.json().worker, node.name);
  }

  // A delete on B removes the class on every node and its objects' rows in PostgreSQL, once.
  assert.ok(rowsOf('owners', 'probe') > 0 && rowsOf('log', 'probe') > 0);
  const deleted = await b.api('DELETE', '/apps/default/classes/probe');
  assert.equal(deleted.status, 200, deleted.body);
  for (const table of ['owners', 'log', 'snapshots', 'alarms']) assert.equal(rowsOf(table, 'probe'), 0, table);
  for (const node of [a, b, c]) assert.deepEqual(await node.classNames(), [], node.name);
  await waitFor(async () => (await a.request(`/_do/probe/${object}/hit`)).status === 404,
    { timeoutMs: 5000, what: 'the class gone on cp-a' });
});

test('a node started later applies every change before it serves', { timeout: TIMEOUT_MS }, async () => {
  d = await startClusterNode(pg, 'cp-d');
  // No wait: the project is there as soon as the node listens.
  assert.deepEqual(await d.classNames('cp-proj'), ['tally']);
  const res = await projectRequest(d);
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json().flavour, 'project');
  assert.equal(res.json().worker, 'cp-d');

  // A migration that deletes the project's class, deployed through D: the class is gone on every
  // node and its objects' rows in PostgreSQL with it.
  assert.ok(rowsOf('owners', 'tally', 'cp-proj') > 0 && rowsOf('log', 'tally', 'cp-proj') > 0);
  const deployed = await d.cli(['deploy', projectWithoutClass()]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  for (const table of ['owners', 'log', 'snapshots', 'alarms']) assert.equal(rowsOf(table, 'tally', 'cp-proj'), 0, table);
  for (const node of [a, b, c, d]) assert.deepEqual(await node.classNames('cp-proj'), [], node.name);
  const worker = await waitFor(async () => {
    const got = await projectRequest(a);
    return got.text === 'no tally' && got;
  }, { timeoutMs: 3000, what: 'the new Worker on cp-a' });
  assert.equal(worker.status, 200);
});

test('a node cut from PostgreSQL catches up when it reconnects, before it serves its objects again', { timeout: TIMEOUT_MS }, async () => {
  await a.deploy(probeFile(3), { name: 'late' });
  // (An admin request applies what the log holds.)
  assert.deepEqual(await c.classNames(), ['late']);
  // An object that C owns, running version 3.
  let object;
  for (let i = 0; !object; i++) {
    assert.ok(i < 40, 'an object placed on cp-c');
    const answer = await hitUntil(c, `l-${i}`, () => true, 'an answer', 'late');
    if (answer.node === 'cp-c') object = `l-${i}`;
  }
  proxy.cut();
  // Past the lease (2 s): C stops serving its objects.
  await sleep(3000);
  await a.deploy(probeFile(4), { name: 'late' });
  // C answers from its own copy, which does not have the change.
  const stale = await c.api('GET', '/apps/default/classes/late');
  assert.equal(stale.status, 200);
  assert.match(stale.json().source, /version: 3/);
  proxy.restore();
  // The first answer C gives for its object once it has its lease again runs version 4.
  let first;
  const answer = await hitUntil(c, object, (got) => {
    first ??= got;
    return got.version === 4;
  }, 'cp-c serving again', 'late');
  assert.equal(first.version, 4, 'never the code the cluster replaced');
  assert.match((await c.api('GET', '/apps/default/classes/late')).json().source, /version: 4/);
});

test('two deploys of one name on two nodes at once end in one version on every node', { timeout: TIMEOUT_MS }, async () => {
  for (let round = 0; round < 3; round++) {
    const [x, y] = await Promise.all([
      a.deploy(probeFile(10 + 2 * round), { name: 'race' }),
      b.deploy(probeFile(11 + 2 * round), { name: 'race' }),
    ]);
    assert.equal(x.code, 0);
    assert.equal(y.code, 0);
    const sources = [];
    for (const node of [a, b, c, d]) {
      const got = await node.api('GET', '/apps/default/classes/race');
      assert.equal(got.status, 200, node.name);
      sources.push(got.json().source);
    }
    assert.equal(new Set(sources).size, 1, `round ${round}: one source everywhere`);
    const version = Number(/version: (\d+)/.exec(sources[0])[1]);
    for (const node of [a, b, c, d]) {
      const answer = await hitUntil(node, `r-${round}`, (got) => got.version === version,
        `${node.name} running version ${version}`, 'race');
      assert.equal(answer.version, version);
    }
  }
});

test('the usage API of any node answers for the objects of every node', { timeout: TIMEOUT_MS }, async () => {
  await a.deploy(probeFile(5), { name: 'metered' });
  const nodes = [a, b, c, d];
  // (An admin request applies what the log holds: every node has the class before it is asked.)
  for (const node of nodes) assert.ok((await node.classNames()).includes('metered'));
  const owners = new Set();
  for (let i = 0; i < 12; i++) {
    for (let round = 0; round < 2; round++) {
      const answer = await hitUntil(nodes[(i + round) % nodes.length], `m-${i}`, () => true, 'an answer', 'metered');
      owners.add(answer.node);
    }
  }
  assert.ok(owners.size >= 2, `objects on several nodes: ${[...owners]}`);
  // A name that is not UTF-8 text is counted too (names are kept as bytes).
  const odd = await hitUntil(b, 'odd%FF%00name', () => true, 'an answer', 'metered');
  assert.equal(odd.version, 5);
  // A node adds its meters to the cluster's when it reads them (and every 10 s); a request's meters
  // may reach them just after its answer.
  const metered = () => nodes.map((node) => node.api('GET', '/usage?app=default&name=metered'));
  let counts;
  await waitFor(async () => {
    counts = (await Promise.all(metered())).map((res) => res.json().http_requests);
    return counts.every((n) => n === 25);
  }, { timeoutMs: 10000, what: 'every node counting 25 requests' }).catch((e) => {
    throw new Error(`${e.message}: the nodes count ${counts}`);
  });
  for (const node of nodes) {
    const usage = await node.api('GET', '/usage?app=default&name=metered');
    assert.equal(usage.status, 200, usage.body);
    const body = usage.json();
    assert.equal(body.http_requests, 25, node.name);
    assert.equal(body.objects.length, 13, node.name);
    assert.equal(body.objects.filter((o) => o.http_requests === 2).length, 12, node.name);
    // The dashboard's charts too: every node's series sums every node's requests.
    const series = await node.api('GET', '/usage/series?app=default&name=metered&step=60');
    assert.equal(series.status, 200, series.body);
    const points = series.json().points;
    assert.equal(points.reduce((sum, p) => sum + p.http_requests, 0), 25, `${node.name} series`);
    assert.ok(series.json().storage_bytes > 0, `${node.name} storage`);
    // The storage gauge's history is the cluster's too (objects of several nodes): its last point
    // is the cluster's size now on every node, and a day ago the class had none.
    assert.equal(points.at(-1).storage_bytes, series.json().storage_bytes, `${node.name} storage history`);
    assert.equal(points[0].storage_bytes, 0, `${node.name} storage a day ago`);
  }
});

function changeCount() {
  return Number(pg.psql('SELECT count(*) FROM control_changes'));
}

async function keysNamed(node, name) {
  const listed = await node.api('GET', '/apps/default/keys');
  assert.equal(listed.status, 200, listed.body);
  return listed.json().keys.filter((key) => key.name === name);
}

test('a change whose COMMIT lost its connection is answered with its outcome and made once', { timeout: TIMEOUT_MS }, async () => {
  // The COMMIT reaches PostgreSQL, its answer never reaches C: C reads back that the change
  // committed and answers as for any change.
  let count = changeCount();
  let cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  const made = await c.api('POST', '/apps/default/keys', { name: 'cut-once' });
  await cut;
  assert.equal(made.status, 201, made.body);
  assert.equal(changeCount(), count + 1);
  for (const node of [a, c]) assert.equal((await keysNamed(node, 'cut-once')).length, 1, node.name);
  // The key answered is the key made.
  const listed = await waitFor(async () => {
    const res = await a.api('GET', '/apps/default/classes/metered/objects', undefined, { token: made.json().key });
    return res.status !== 401 && res;
  }, { timeoutMs: 3000, what: 'the key on cp-a' });
  assert.equal(listed.status, 200, listed.body);

  count = changeCount();
  cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  const set = await c.api('PUT', '/apps/default/env/CUT', { value: 'once' });
  await cut;
  assert.equal(set.status, 201, set.body);
  assert.equal(changeCount(), count + 1);

  // The COMMIT never reaches PostgreSQL: C finds that the change is not in the log and says that it
  // was not made, so a retry makes it once.
  count = changeCount();
  cut = proxy.trap('INSERT INTO control_changes', 'COMMIT', { drop: true });
  const lost = await c.api('POST', '/apps/default/keys', { name: 'cut-retried' });
  await cut;
  assert.equal(lost.status, 503, lost.body);
  assert.match(lost.json().error, /was not made/);
  assert.equal(lost.headers['retry-after'], '1');
  assert.equal(changeCount(), count);
  const retried = await c.api('POST', '/apps/default/keys', { name: 'cut-retried' });
  assert.equal(retried.status, 201, retried.body);
  for (const node of [a, c]) assert.equal((await keysNamed(node, 'cut-retried')).length, 1, node.name);
});

test('a change sent again under its Idempotency-Key is made once and answered with the first outcome', { timeout: TIMEOUT_MS }, async () => {
  // The COMMIT reaches PostgreSQL, its answer is lost, and C cannot read the outcome back
  // (PostgreSQL unreachable through the proxy for a while): "it may have been made".
  const headers = { 'idempotency-key': `idem-${process.pid}-1` };
  let count = changeCount();
  let cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  cut.then(() => proxy.cut());
  const first = await c.api('POST', '/apps/default/keys', { name: 'idem' }, { headers });
  assert.equal(first.status, 503, first.body);
  assert.match(first.json().error, /it may have been made/);
  assert.equal(changeCount(), count + 1);
  proxy.restore();
  // Sent again under the key (to C, which applies the change first, and to A): made once, and
  // answered with the key that was made.
  for (const node of [c, a]) {
    const again = await waitFor(async () => {
      const res = await node.api('POST', '/apps/default/keys', { name: 'idem' }, { headers });
      return res.status !== 503 && res;
    }, { timeoutMs: 10000, what: `the retry on ${node.name}` });
    assert.equal(again.status, 201, `${node.name}: ${again.body}`);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    const listed = await a.api('GET', '/apps/default/classes/metered/objects', undefined, { token: again.json().key });
    assert.equal(listed.status, 200, `${node.name}: the key answered authenticates: ${listed.body}`);
  }
  assert.equal(changeCount(), count + 1);
  for (const node of [a, c]) assert.equal((await keysNamed(node, 'idem')).length, 1, node.name);
  // The same key with another request is refused, and makes nothing.
  const other = await b.api('POST', '/apps/default/keys', { name: 'idem-other' }, { headers });
  assert.equal(other.status, 422, other.body);
  assert.match(other.json().error, /was used in the last 24 hours for another request/);
  assert.equal(changeCount(), count + 1);
  const bad = await b.api('PUT', '/apps/default/env/IDEM', { value: 'x' }, { headers: { 'idempotency-key': 'has space' } });
  assert.equal(bad.status, 400, bad.body);

  // The CLI sends a key of its own and retries a 503 with it: a change whose outcome C could not
  // read back is made once.
  count = changeCount();
  cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  cut.then(() => {
    proxy.cut();
    setTimeout(() => proxy.restore(), 1500);
  });
  const set = await c.cli(['env', 'set', 'IDEM_CLI', 'once']);
  await cut;
  assert.equal(set.code, 0, describeCli(set));
  assert.equal(changeCount(), count + 1);
  const listed = await a.api('GET', '/apps/default/env');
  assert.ok(JSON.stringify(listed.json()).includes('IDEM_CLI'), listed.body);
  // C may have lost its lease while cut off: the next tests need it serving its objects again.
  for (let i = 0; ; i++) {
    assert.ok(i < 40, 'an object served by cp-c');
    const answer = await hitUntil(c, `idem-${i}`, () => true, 'cp-c serving again', 'metered');
    if (answer.node === 'cp-c') break;
  }
});

// A project of app cp-cut with class Gauge (v1), then the migration that deletes it (v2).
function gaugeProject(version) {
  const migrations = version === 1 ? '' : `
[[migrations]]
tag = "v2"
deleted_classes = ["Gauge"]
`;
  return writeProject(`gauge-${version}`, `name = "cp-cut"
main = "src/index.js"
compatibility_date = "2025-09-01"
${version === 1 ? `
[[durable_objects.bindings]]
name = "GAUGE"
class_name = "Gauge"
` : ''}
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Gauge"]
${migrations}`, version === 1 ? `
import { DurableObject } from 'cloudflare:workers';
export class Gauge extends DurableObject {
  async add() {
    const n = ((await this.ctx.storage.get('n')) ?? 0) + 1;
    await this.ctx.storage.put('n', n);
    await this.ctx.storage.setAlarm(Date.now() + 3600000);
    return n;
  }
  async alarm() {}
}
export default {
  async fetch(request, env) {
    return Response.json(await env.GAUGE.getByName(new URL(request.url).pathname).add());
  },
};
` : `
export default { fetch() { return new Response('no gauge'); } };
`);
}

test('a migration\'s deleted class leaves PostgreSQL in the change\'s own transaction, even when its COMMIT lost its connection', { timeout: TIMEOUT_MS }, async () => {
  const first = await c.cli(['deploy', gaugeProject(1)]);
  assert.equal(first.code, 0, describeCli(first));
  for (const [i, node] of [a, b, c, d].entries()) {
    // (A node serves the project once the change reached it.)
    const res = await waitFor(async () => {
      const got = await node.request(`/g-${i}`, { headers: { host: `cp-cut.localhost:${node.port}` } });
      return got.status !== 404 && got;
    }, { timeoutMs: 3000, what: `the project on ${node.name}` });
    assert.equal(res.status, 200, `${node.name}: ${res.body}`);
  }
  for (const table of ['owners', 'log', 'alarms']) assert.ok(rowsOf(table, 'gauge', 'cp-cut') > 0, table);
  const cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  const second = await c.cli(['deploy', gaugeProject(2)]);
  await cut;
  assert.equal(second.code, 0, describeCli(second));
  for (const table of ['owners', 'log', 'snapshots', 'alarms']) assert.equal(rowsOf(table, 'gauge', 'cp-cut'), 0, table);
  for (const node of [a, b, c, d]) assert.deepEqual(await node.classNames('cp-cut'), [], node.name);
});

// A project of app `name` whose Worker adds to object `?name=` of class `className` (binding ITEMS).
function itemsProject(name, className, migrations) {
  const root = makeTempDir(`items-${name}`);
  fs.writeFileSync(path.join(root, 'wrangler.jsonc'), JSON.stringify({
    name, main: 'index.js', durable_objects: { bindings: [{ name: 'ITEMS', class_name: className }] }, migrations,
  }));
  fs.writeFileSync(path.join(root, 'index.js'), `
import { DurableObject } from 'cloudflare:workers';
export class ${className} extends DurableObject {
  add() { const n = (this.ctx.storage.kv.get('n') ?? 0) + 1; this.ctx.storage.kv.put('n', n); return n; }
}
export default {
  async fetch(request, env) {
    return Response.json(await env.ITEMS.getByName(new URL(request.url).searchParams.get('name')).add());
  },
};
`);
  return root;
}

test('a migration\'s transferred class moves its objects\' rows in the change\'s own transaction', { timeout: TIMEOUT_MS }, async () => {
  const shop = await c.cli(['deploy', itemsProject('cp-shop', 'Cart', [{ tag: 'v1', new_sqlite_classes: ['Cart'] }])]);
  assert.equal(shop.code, 0, describeCli(shop));
  const call = (node, app, name) => waitFor(async () => {
    const got = await node.request(`/?name=${name}`, { headers: { host: `${app}.localhost:${node.port}` } });
    return got.status !== 404 && got;
  }, { timeoutMs: 3000, what: `${app} on ${node.name}` });
  for (const [i, node] of [a, b, c, d].entries()) {
    const res = await call(node, 'cp-shop', `cart-${i}`);
    assert.equal(res.status, 200, `${node.name}: ${res.body}\n${node.outputTail(8000)}`);
  }
  const before = rowsOf('log', 'cart', 'cp-shop');
  assert.ok(before >= 4, `${before} log rows`);
  const allowed = await a.cli(['transfers', 'allow', 'Cart', '--to', 'cp-store', '--app', 'cp-shop']);
  assert.equal(allowed.code, 0, describeCli(allowed));
  const cut = proxy.trap('INSERT INTO control_changes', 'COMMIT');
  const store = await c.cli(['deploy', itemsProject('cp-store', 'Basket', [
    { tag: 'v1', transferred_classes: [{ from: 'Cart', from_script: 'cp-shop', to: 'Basket' }] }])]);
  await cut;
  assert.equal(store.code, 0, describeCli(store));
  for (const table of ['owners', 'log']) assert.equal(rowsOf(table, 'cart', 'cp-shop'), 0, table);
  assert.equal(rowsOf('log', 'cart@cp-shop', 'cp-store'), before);
  // The objects answer in the new app with their data, through any node.
  for (const [i, node] of [d, c, b, a].entries()) {
    const res = await call(node, 'cp-store', `cart-${3 - i}`);
    assert.equal(res.status, 200, `${node.name}: ${res.body}`);
    assert.equal(res.json(), 2, node.name);
  }
});

test('a usage push whose connection was lost after its statement counts once', { timeout: TIMEOUT_MS }, async () => {
  await a.deploy(probeFile(6), { name: 'tolled' });
  for (const node of [a, b, c, d]) assert.ok((await node.classNames()).includes('tolled'), node.name);
  // C's next push is cut once its counters reached PostgreSQL; C sends it again.
  const cut = proxy.trap('INSERT INTO usage_minutes', 'INSERT INTO usage_minutes');
  let requests = 0;
  let onC = 0;
  for (let i = 0; i < 40 && (i < 8 || onC === 0); i++) {
    const answer = await hit(c, `t-${i}`, 'tolled');
    requests++;
    if (answer.node === 'cp-c') {
      onC++;
      await hit(c, `t-${i}`, 'tolled');
      requests++;
    }
  }
  assert.ok(onC > 0, 'some object lives on cp-c');
  // A usage answer pushes the node's meters first.
  assert.equal((await c.api('GET', '/usage?app=default&name=tolled')).status, 200);
  await cut;
  let counts;
  await waitFor(async () => {
    counts = await Promise.all([a, b, c, d].map(async (node) =>
      (await node.api('GET', '/usage?app=default&name=tolled')).json().http_requests));
    return counts.every((n) => n === requests);
  }, { timeoutMs: 10000, what: `every node counting ${requests} requests` }).catch((e) => {
    throw new Error(`${e.message}: the nodes count ${counts}`);
  });
  assert.equal(Number(pg.psql("SELECT sum(http_requests) FROM usage_minutes WHERE app = 'default' AND class = 'tolled'")), requests);
});

// What a node's admin API says of the control state: every app's classes with their sources, env
// keys, service keys, JWT configuration and service callers.
async function controlState(node, apps) {
  const state = {};
  for (const app of apps) {
    const get = async (what) => {
      const res = await node.api('GET', `/apps/${app}/${what}`);
      return { status: res.status, body: res.status === 200 ? res.json() : res.body };
    };
    const classes = await get('classes');
    const sources = {};
    for (const name of await node.classNames(app)) {
      const got = await node.api('GET', `/apps/${app}/classes/${name}`);
      assert.equal(got.status, 200, `${node.name} ${app}/${name}`);
      sources[name] = got.json().source;
    }
    state[app] = { classes, sources, env: await get('env'), keys: await get('keys'),
      auth: await get('auth'), callers: await get('service-callers') };
  }
  return state;
}

test('the control log is compacted: a node behind the snapshot and a new node load it and serve what the others do', { timeout: TIMEOUT_MS }, async () => {
  // D stops with its copy at today's end of the log; E compacts every 8 changes.
  const dData = d.dataDir;
  await d.stop();
  const e = await startClusterNode(pg, 'cp-e', { flags: ['--control-snapshot-every', '8'] });
  extra.push(e);
  // (A class that D has and the snapshot will not: an app holds at most 5.)
  assert.equal((await e.api('DELETE', '/apps/default/classes/race')).status, 200);
  await e.deploy(probeFile(7), { name: 'compacted' });
  for (let i = 0; i < 9; i++) {
    const set = await e.api('PUT', `/apps/default/env/SNAP_${i}`, { value: `snapshot-secret-${i}` });
    assert.equal(set.status, 201, set.body);
  }
  const made = await e.api('POST', '/apps/default/keys', { name: 'compacted-key' });
  assert.equal(made.status, 201, made.body);
  assert.equal((await e.api('DELETE', '/apps/default/env/SNAP_0')).status, 200);
  assert.equal((await e.cli(['service-callers', 'allow', 'cp-proj'])).code, 0);
  const jwt = await e.api('PUT', '/apps/default/auth', { hs256_secret_base64: Buffer.alloc(32, 5).toString('base64'), issuer: 'https://snap.example' });
  assert.equal(jwt.status, 200, jwt.body);
  const greeting = await e.api('PUT', '/apps/default/env/GREETING', { value: 'from-the-snapshot' });
  assert.ok(greeting.status === 200 || greeting.status === 201, greeting.body);
  const snapshot = await waitFor(() => {
    const at = Number(pg.psql('SELECT coalesce(max(version), 0) FROM control_snapshots'));
    return at > 0 && at;
  }, { timeoutMs: 5000, what: 'a snapshot of the control state' });
  assert.equal(pg.psql('SELECT count(*) FROM control_snapshots'), '1');
  assert.equal(pg.psql(`SELECT count(*) FROM control_changes WHERE version <= ${snapshot}`), '0');
  assert.ok(Number(pg.psql('SELECT count(*) FROM control_changes')) < 8, 'the log holds only what follows the snapshot');
  assert.equal(pg.psql("SELECT count(*) FROM control_snapshots WHERE position(convert_to('snapshot-secret-1', 'UTF8') in snapshot) > 0"), '0');
  // A change after the snapshot, which a node that loads it must apply too.
  await e.deploy(probeFile(8), { name: 'after-snapshot' });

  // D comes back behind the snapshot (the changes it lacks are gone), F starts from nothing.
  d = await startClusterNode(pg, 'cp-d', { dataDir: dData });
  const f = await startClusterNode(pg, 'cp-f');
  extra.push(f);
  for (const node of [d, f]) assert.match(node.output, /loaded the snapshot at version/, node.name);
  const apps = ['default', 'cp-proj', 'cp-store'];
  const want = await controlState(a, apps);
  assert.ok(want.default.sources.compacted && want.default.sources['after-snapshot']);
  assert.equal(want.default.sources.race, undefined);
  assert.equal(want.default.auth.body.issuer, 'https://snap.example');
  for (const node of [b, e, d, f]) assert.deepEqual(await controlState(node, apps), want, node.name);
  // Objects reached through D and F run the code and env of the snapshot; the key made before it
  // authenticates there.
  for (const node of [d, f]) {
    const answer = await hitUntil(node, `snap-${node.name}`, () => true, 'an answer', 'compacted');
    assert.equal(answer.version, 7, node.name);
    assert.equal(answer.greeting, 'from-the-snapshot', node.name);
    assert.equal((await hitUntil(node, 'snap-after', () => true, 'an answer', 'after-snapshot')).version, 8);
    const listed = await node.api('GET', '/apps/default/classes/compacted/objects', undefined, { token: made.json().key });
    assert.equal(listed.status, 200, `${node.name}: ${listed.body}`);
  }
  const project = await projectRequest(f);
  assert.equal(project.status, 200, project.body);
});

test('a node whose secrets key is not the cluster\'s refuses to start', { timeout: TIMEOUT_MS }, async () => {
  const data = makeTempDir('other-key');
  fs.writeFileSync(path.join(data, 'secrets.key'), Buffer.alloc(32, 7), { mode: 0o600 });
  const started = await runCli(['serve', '--data', data, '--listen', '127.0.0.1:0', '--cluster', pg.url,
    '--node', 'cp-other', '--advertise', 'http://127.0.0.1:9'], { timeoutMs: 30000 });
  assert.equal(started.code, 1, describeCli(started));
  assert.match(started.stderr, /this node's secrets key \(DATA\/secrets\.key\) is not the cluster's/);
});
