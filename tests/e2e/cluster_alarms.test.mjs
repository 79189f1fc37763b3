// Alarms in a cluster (`dorm serve --cluster`): a commit that sets or deletes an object's alarm
// writes it to PostgreSQL's `alarms` in the same statement as its log row (a fenced commit writes
// neither); when the node that owns an object dies, the alarm fires on a surviving node (the one
// rendezvous hashing picks among the survivors) within a few seconds of its time, exactly as on
// the local path (the handler's failure is retried), and an alarm deleted by an acknowledged
// commit never fires. `dorm cluster status` shows the nodes and their leases running out, and
// `dorm cluster drain NODE` makes NODE hand its objects over (no acknowledged write lost, its
// hibernatable WebSockets closed with 1012) and go on running as a forwarder that owns nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { deployOnce, startClusterNode, rendezvous, nodesStoppedAfterEachTest } from './lib/cluster.mjs';
import { WsClient } from './lib/ws.mjs';

const CLASS = 'alarm-keeper';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const OWNERSHIP_LOST = 'Durable Object reset because this node no longer owns it; retry the request.';

let pg;
const nodes = nodesStoppedAfterEachTest();
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

async function startNode(name, { retryBaseMs = 300 } = {}) {
  const node = await startClusterNode(pg, name, {
    flags: ['--alarm-retry-base-ms', String(retryBaseMs), '--hibernate-after-ms', '300'],
  });
  nodes.push(node);
  await deployOnce(node, fixture('cluster_alarm.js'), { name: CLASS });
  return node;
}

async function ok(node, reqPath, opts) {
  const res = await node.request(reqPath, opts);
  assert.equal(res.status, 200, `${node.name} ${reqPath}: ${res.status} ${res.body}`);
  return res.json();
}

// Retries what a moving object answers with a retryable 503 (its owner just died or left).
async function eventually(node, reqPath) {
  let last;
  await waitFor(async () => {
    last = await node.request(reqPath);
    if (last.status === 200) return true;
    assert.equal(last.status, 503, `${node.name} ${reqPath}: ${last.status} ${last.body}`);
    return false;
  }, { timeoutMs: 15000, intervalMs: 100, what: `${reqPath} through ${node.name}` });
  return last.json();
}

const keyOf = (id) => `default\n${CLASS}\n${id}`;
const sqlText = (text) => `'${text.replaceAll("'", "''")}'`;
const sqlKey = (id) => `'default' || chr(10) || '${CLASS}' || chr(10) || ${sqlText(id)}`;
const ownerOf = (id) => pg.psql(`SELECT coalesce(node, '-') FROM owners WHERE object = ${sqlKey(id)}`);
const alarmOf = (id) => pg.psql(`SELECT (extract(epoch FROM at) * 1000)::bigint FROM alarms WHERE object = ${sqlKey(id)}`);

async function clusterStatus(node) {
  const res = await node.api('GET', '/cluster');
  assert.equal(res.status, 200, `status: ${res.status} ${res.body}`);
  return res.json();
}

// Objects (by name) that `owner` holds, made through `via` (which forwards to the owner the
// rendezvous hash gives): `count` of them, with their ids.
async function objectsOn(owner, via, prefix, count) {
  const found = [];
  for (let i = 0; found.length < count; i++) {
    assert.ok(i < 20 * count, `${owner.name} takes ${count} of the new objects`);
    const name = `${prefix}-${i}`;
    const answer = await ok(via, `/_do/${CLASS}/${name}/incr`);
    if (answer.node === owner.name) found.push({ name, id: answer.id });
  }
  return found;
}

test('alarms of a killed node fire on a survivor, as on the local path; deleted ones never', { timeout: TIMEOUT_MS }, async (t) => {
  const a = await startNode('alarm-a');
  const b = await startNode('alarm-b');
  const c = await startNode('alarm-c');
  const on = await objectsOn(a, b, 'orphan', 6);
  const [plain1, plain2, failing, deleted, late, adopted] = on;
  const due = Date.now() + 5000;
  for (const object of [plain1, plain2]) {
    assert.equal((await ok(b, `/_do/${CLASS}/${object.name}/set?at=${due}`)).alarm, due);
  }
  await ok(c, `/_do/${CLASS}/${failing.name}/set?at=${due}&fail=1`);
  await ok(b, `/_do/${CLASS}/${deleted.name}/set?at=${due}`);
  // Far enough ahead that the test ends first: it must stay in `alarms`, untouched by takeovers.
  const far = Date.now() + 3600_000;
  await ok(b, `/_do/${CLASS}/${late.name}/set?at=${far}`);
  // Due after a request has taken its object on a survivor: not orphaned then, it must fire from
  // the schedule of the node that took it.
  const adoptedDue = due + 7000;
  await ok(b, `/_do/${CLASS}/${adopted.name}/set?at=${adoptedDue}`);
  // Each set alarm is in PostgreSQL with its commit, to the millisecond.
  for (const object of [plain1, plain2, failing, deleted]) assert.equal(alarmOf(object.id), String(due));
  assert.equal(alarmOf(late.id), String(far));
  // The acknowledged deletion is in `alarms` too: the row is gone.
  assert.equal((await ok(c, `/_do/${CLASS}/${deleted.name}/delete`)).alarm, null);
  assert.equal(alarmOf(deleted.id), '');

  const before = await clusterStatus(b);
  assert.deepEqual(before.nodes.filter((n) => n.node.startsWith('alarm-')).map((n) => [n.node, n.live]),
    [['alarm-a', true], ['alarm-b', true], ['alarm-c', true]]);
  const statusOfA = before.nodes.find((n) => n.node === 'alarm-a');
  // PostgreSQL's now() is when a transaction began: a renewal that began just after the status
  // query's transaction and committed before its snapshot ends 2,000 ms after a slightly later
  // now(), and the milliseconds are rounded (2,001 was seen).
  assert.ok(statusOfA.lease_remaining_ms > 0 && statusOfA.lease_remaining_ms <= 2050, JSON.stringify(statusOfA));
  assert.ok(statusOfA.objects >= 5, JSON.stringify(statusOfA));
  assert.ok(statusOfA.addr.startsWith('http://127.0.0.1:'));
  assert.equal(before.self.node, 'alarm-b');
  assert.equal(before.self.serving, true);
  assert.equal(typeof before.self.pending_commits, 'number');
  assert.ok(before.alarms >= 4);

  await a.kill9();
  const holder = (await eventually(c, `/_do/${CLASS}/${adopted.name}/get`)).node;
  assert.ok(Date.now() < adoptedDue - 2000, 'taken well before its alarm is due');
  assert.equal(ownerOf(adopted.id), holder);
  // Nobody reads the other objects until well after their time: only the alarms can move them.
  await waitFor(() => Date.now() > due + 5000, { timeoutMs: 15000, intervalMs: 100 });
  const survivors = ['alarm-b', 'alarm-c'];
  for (const object of [plain1, plain2, failing]) {
    const taker = rendezvous(survivors, keyOf(object.id));
    assert.equal(ownerOf(object.id), taker, `${object.name} taken by the survivors' rendezvous winner`);
    assert.equal(alarmOf(object.id), '', `${object.name}'s alarm done and deleted`);
  }
  // No alarm, nothing to move it: the deleted alarm's object still names the dead node.
  assert.equal(ownerOf(deleted.id), 'alarm-a');
  assert.equal(ownerOf(late.id), 'alarm-a');
  assert.equal(alarmOf(late.id), String(far));

  // `cluster status` through the CLI: A's lease has run out.
  const printed = await c.cli(['cluster', 'status']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /alarm-a\s+http:\/\/127\.0\.0\.1:\d+\s+gone\s+expired\s+\d+/);
  assert.match(printed.stdout, /alarm-b\s+http:\/\/127\.0\.0\.1:\d+\s+live\s+\d+ ms\s+\d+\s+\d+\s+\d+\s+\d+ ms/);
  assert.match(printed.stdout, /this node \(alarm-c\): serving; commits not yet durable: \d+/);
  const after = await clusterStatus(c);
  const deadA = after.nodes.find((n) => n.node === 'alarm-a');
  assert.equal(deadA.live, false);
  assert.ok(deadA.lease_remaining_ms < 0, JSON.stringify(deadA));
  // Every node's flush lag, as its renewals (every 0.5 s) report it; A's stops with it.
  const liveB = after.nodes.find((n) => n.node === 'alarm-b');
  assert.ok(liveB.reported_ms_ago >= 0 && liveB.reported_ms_ago < 2000, JSON.stringify(liveB));
  assert.ok(liveB.pending_commits >= 0 && liveB.pending_bytes >= 0, JSON.stringify(liveB));
  assert.ok(deadA.reported_ms_ago > liveB.reported_ms_ago, JSON.stringify(deadA));

  // Read through any node: each alarm ran once (the failing one twice: the retry), on the node
  // that took it, within a few seconds of its time.
  for (const [object, via] of [[plain1, b], [plain2, c], [failing, b]]) {
    const state = await ok(via, `/_do/${CLASS}/${object.name}/get`);
    const taker = rendezvous(survivors, keyOf(object.id));
    const expected = object === failing ? [0, 1] : [0];
    assert.deepEqual(state.fired.map((f) => f.retryCount), expected, JSON.stringify(state.fired));
    for (const run of state.fired) {
      assert.equal(run.node, taker);
      // Woken by the takeover alone, the handler still has the name the object was reached by
      // (workerd gives ctx.id.name in alarm handlers).
      assert.equal(run.name, object.name);
      assert.ok(run.at >= due, `ran ${run.at - due} ms after its time`);
    }
    assert.ok(state.fired[0].at - due < 4000, `ran ${state.fired[0].at - due} ms after its time`);
    t.diagnostic(`${object.name}: ran ${state.fired[0].at - due} ms after its time on ${taker}`);
    assert.equal(state.alarm, null);
    assert.equal(state.n, 1, 'the write made before the kill is there');
  }
  await waitFor(() => Date.now() > adoptedDue + 1500, { timeoutMs: 15000, intervalMs: 100 });
  const adoptedState = await ok(b, `/_do/${CLASS}/${adopted.name}/get`);
  assert.equal(adoptedState.fired.length, 1, JSON.stringify(adoptedState.fired));
  assert.equal(adoptedState.fired[0].node, holder);
  assert.ok(adoptedState.fired[0].at >= adoptedDue && adoptedState.fired[0].at < adoptedDue + 1500,
    `ran ${adoptedState.fired[0].at - adoptedDue} ms after its time`);
  assert.equal(alarmOf(adopted.id), '');
  // The deleted alarm never ran (reading it now takes the object, restoring its state).
  const gone = await eventually(b, `/_do/${CLASS}/${deleted.name}/get`);
  assert.deepEqual(gone.fired, []);
  assert.equal(gone.alarm, null);
  // Taken by a request, the far alarm is still set, in the object and in `alarms`.
  const kept = await eventually(c, `/_do/${CLASS}/${late.name}/get`);
  assert.equal(kept.alarm, far);
  assert.equal(alarmOf(late.id), String(far));
  await b.stop();
  await c.stop();
});

test('a failing alarm whose node dies goes on with its retry count on the node that takes it', { timeout: TIMEOUT_MS }, async () => {
  // G retries a failed alarm only after 60 s: the retry runs on H, which takes the object once G
  // is killed, as retry 1 (with the name the object was reached by).
  const g = await startNode('alarm-g', { retryBaseMs: 60000 });
  const h = await startNode('alarm-h');
  try {
  const [object] = await objectsOn(g, h, 'retried', 1);
  const due = Date.now() + 1500;
  await ok(h, `/_do/${CLASS}/${object.name}/set?at=${due}&fail=1`);
  const retriesOf = () => pg.psql(`SELECT retries FROM alarms WHERE object = ${sqlKey(object.id)}`);
  assert.equal(retriesOf(), '0');
  await waitFor(() => retriesOf() === '1', { timeoutMs: 15000, intervalMs: 50, what: 'the failed run noted in alarms' });
  await g.kill9();
  await waitFor(async () => {
    const res = await h.request(`/_do/${CLASS}/${object.name}/get`);
    return res.status === 200 && res.json().fired.length >= 2;
  }, { timeoutMs: 15000, intervalMs: 200, what: 'the retry on H' });
  const state = await ok(h, `/_do/${CLASS}/${object.name}/get`);
  assert.deepEqual(state.fired.map((f) => [f.node, f.retryCount, f.name]),
    [['alarm-g', 0, object.name], ['alarm-h', 1, object.name]], JSON.stringify(state.fired));
  assert.equal(state.alarm, null);
  assert.equal(alarmOf(object.id), '');
  } finally {
    if (!g.exitInfo) await g.kill9();
    await h.stop();
  }
});

test('a fenced commit changes neither the log nor alarms', { timeout: TIMEOUT_MS }, async () => {
  const d = await startNode('alarm-d');
  try {
    const first = Date.now() + 3600_000;
    const { id } = await ok(d, `/_do/${CLASS}/fenced/set?at=${first}`);
    assert.equal(alarmOf(id), String(first));
    const rows = pg.psql(`SELECT count(*) FROM log WHERE object = ${sqlKey(id)}`);
    // As if another node had taken the object (a new epoch) while D still thinks it holds it.
    pg.psql(`UPDATE owners SET epoch = epoch + 1 WHERE object = ${sqlKey(id)}`);
    const refused = await d.request(`/_do/${CLASS}/fenced/set?at=${first + 1000}`);
    assert.equal(refused.status, 500, refused.body);
    assert.equal(refused.json().error, OWNERSHIP_LOST);
    assert.equal(alarmOf(id), String(first));
    assert.equal(pg.psql(`SELECT count(*) FROM log WHERE object = ${sqlKey(id)}`), rows);
    // The next request takes the object again and restores it from the log: the fenced alarm
    // change is not there.
    const restored = await ok(d, `/_do/${CLASS}/fenced/get`);
    assert.equal(restored.alarm, first);
    // And a change acknowledged under the new epoch is.
    await ok(d, `/_do/${CLASS}/fenced/delete`);
    assert.equal(alarmOf(id), '');
  } finally {
    await d.stop();
  }
});

test('cluster drain: the node hands its objects over with every acknowledged write and forwards', { timeout: TIMEOUT_MS }, async () => {
  const e = await startNode('alarm-e');
  const f = await startNode('alarm-f');
  const on = await objectsOn(f, e, 'drained', 4);
  // An alarm of a drained object fires on the node that takes it.
  const due = Date.now() + 4000;
  await ok(e, `/_do/${CLASS}/${on[0].name}/set?at=${due}`);
  const socket = await WsClient.open(`ws://127.0.0.1:${f.port}/_do/${CLASS}/${on[1].name}/ws`);
  // Its object gets no other event: after 300 ms it hibernates, leaving the socket to the node.
  await sleep(1000);
  // Writes keep coming through E and through F while F drains; each acknowledged count must
  // survive. A write refused meanwhile is refused retryably (503).
  const written = on.filter((o) => o !== on[1]);
  const acknowledged = new Map(on.map((o) => [o.name, 1]));
  let writing = true;
  const writer = (async () => {
    for (let round = 0; writing; round++) {
      for (const object of written) {
        const via = round % 2 ? f : e;
        const res = await via.request(`/_do/${CLASS}/${object.name}/incr`);
        if (res.status === 200) acknowledged.set(object.name, Math.max(acknowledged.get(object.name), res.json().n));
        else assert.equal(res.status, 503, `${via.name}: ${res.status} ${res.body}`);
      }
    }
  })();
  await sleep(300);
  const asked = await e.cli(['cluster', 'drain', 'alarm-f']);
  assert.equal(asked.code, 0, asked.stderr);
  assert.match(asked.stdout, /node 'alarm-f' is draining/);
  const unknown = await e.cli(['cluster', 'drain', 'no-such-node']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /No node named 'no-such-node' in the cluster\./);
  // F hands everything over and keeps running.
  await f.waitForOutput(/drained: released \d+ objects/, 20000);
  assert.equal((await socket.closed).code, 1012);
  assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node = 'alarm-f'"), '0');
  assert.ok(!f.exitInfo, 'the drained node runs on');
  await sleep(300);
  writing = false;
  await writer;
  // Every object is served by E now, through either node: F forwards to the owner.
  for (const object of on) {
    for (const via of [e, f]) {
      const state = await eventually(via, `/_do/${CLASS}/${object.name}/get`);
      assert.equal(state.node, 'alarm-e', `${object.name} through ${via.name}`);
      assert.ok(state.n >= acknowledged.get(object.name), `${object.name}: ${state.n} < ${acknowledged.get(object.name)}`);
    }
  }
  // New objects asked through F are placed on E (F takes nothing).
  for (let i = 0; i < 6; i++) {
    assert.equal((await eventually(f, `/_do/${CLASS}/after-drain-${i}/incr`)).node, 'alarm-e');
  }
  assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node = 'alarm-f'"), '0');
  await waitFor(async () => (await ok(e, `/_do/${CLASS}/${on[0].name}/get`)).fired.length > 0,
    { timeoutMs: 10000, intervalMs: 200, what: 'the drained object\'s alarm' });
  const fired = (await ok(e, `/_do/${CLASS}/${on[0].name}/get`)).fired;
  assert.equal(fired.length, 1);
  assert.equal(fired[0].node, 'alarm-e');
  // `dorm cluster status` shows F drained: live (its lease renewed), draining, owning nothing.
  const status = await clusterStatus(e);
  const drained = status.nodes.find((n) => n.node === 'alarm-f');
  assert.equal(drained.draining, true);
  assert.equal(drained.live, true);
  assert.equal(drained.drained, true);
  assert.equal(drained.objects, 0);
  const printed = await e.cli(['cluster', 'status']);
  assert.match(printed.stdout, /alarm-f\s+\S+\s+drained\s/);
  // A drained node stops as any other.
  await f.stop();
  await e.stop();
});

test('an alarm of an object that moved to a live node costs its old node no activation', { timeout: TIMEOUT_MS }, async () => {
  // P holds an object whose alarm is in P's own index; P is killed, Q takes the object for a
  // request, and P starts again on its data folder, its index still naming the object. At the
  // alarm's time P asks its directory where the object is served, finds it on Q and forgets the
  // alarm without trying to take the object; Q runs it, once.
  const p = await startNode('alarm-p');
  const q = await startNode('alarm-q');
  let again;
  try {
    const [object] = await objectsOn(p, q, 'moved', 1);
    const due = Date.now() + 7000;
    await ok(q, `/_do/${CLASS}/${object.name}/set?at=${due}`);
    await p.kill9();
    const taker = (await eventually(q, `/_do/${CLASS}/${object.name}/get`)).node;
    assert.notEqual(taker, 'alarm-p');
    again = await startClusterNode(pg, 'alarm-p', {
      dataDir: p.dataDir,
      flags: ['--alarm-retry-base-ms', '300', '--hibernate-after-ms', '300'],
    });
    nodes.push(again);
    assert.ok(Date.now() < due - 1000, 'P is back before the alarm is due');
    await again.waitForOutput(new RegExp(`alarm left to node ${taker}, which serves the object`), 15000);
    await waitFor(async () => (await eventually(q, `/_do/${CLASS}/${object.name}/get`)).fired.length > 0,
      { timeoutMs: 10000, intervalMs: 100, what: `the alarm on ${taker}` });
    await sleep(500);
    const state = await eventually(q, `/_do/${CLASS}/${object.name}/get`);
    assert.deepEqual(state.fired.map((f) => f.node), [taker], JSON.stringify(state.fired));
    assert.ok(state.fired[0].at >= due);
    assert.doesNotMatch(again.output, /not taking/);
  } finally {
    await again?.stop();
    await q.stop();
  }
});

test('a server without --cluster has no cluster endpoints', { timeout: TIMEOUT_MS }, async () => {
  const single = await startServer();
  try {
    const res = await single.api('GET', '/cluster');
    assert.equal(res.status, 404);
    assert.equal(res.json().error, 'This server is not a cluster node (dorm serve --cluster).');
    const printed = await single.cli(['cluster', 'status']);
    assert.equal(printed.code, 1);
    assert.match(printed.stderr, /This server is not a cluster node/);
    const usage = await single.cli(['cluster']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /usage: dorm cluster status \| dorm cluster drain NODE/);
  } finally {
    await single.stop();
  }
});
