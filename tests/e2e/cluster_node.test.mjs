// Cluster mode on one node at a time (`dorm serve --cluster URL --node NAME --advertise URL`):
// every acknowledged write is in PostgreSQL's log (or a snapshot that replaced its first rows),
// so a node started on an empty data folder restores the objects of a node killed with SIGKILL
// once that node's lease has run out; a node
// does not take objects another live node owns (it forwards their requests there);
// and a write made while PostgreSQL does not answer is not acknowledged, and is never lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fixture, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { deployOnce, startClusterNode, nodesStoppedAfterEachTest } from './lib/cluster.mjs';
import { startProxy } from './lib/pg_proxy.mjs';

const CLASS = 'cluster-store';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const UNAVAILABLE = 'Durable Object is not available on this node right now; retry the request.';
const UNKNOWN = "Durable Object's node stopped answering before its response; the request may have run there. Retry it only if running it twice is safe.";

let pg;
const nodes = nodesStoppedAfterEachTest();
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

async function startNode(name, flags = []) {
  const node = await startClusterNode(pg, name, { flags });
  nodes.push(node);
  await deployOnce(node, fixture('cluster_store.js'), { name: CLASS });
  return node;
}

async function ok(node, reqPath) {
  const res = await node.request(reqPath);
  assert.equal(res.status, 200, `${reqPath}: ${res.status} ${res.body}`);
  return res.json();
}

// The postmaster and its children (the backends serving the nodes' connections).
function postgresPids() {
  const data = path.join(pg.dir, 'data');
  const postmaster = Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
    .split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  return [postmaster, ...children];
}

test('a node on an empty data folder restores every acknowledged write of a killed node', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-a');
  const expected = {};
  for (const object of ['s1', 's2']) {
    const kv = {};
    for (let i = 0; i < 30; i++) {
      await ok(a, `/_do/${CLASS}/${object}/put?k=key${i}&v=${object}-value-${i}`);
      kv[`key${i}`] = `${object}-value-${i}`;
    }
    // Rows that span many overflow pages, near the row limit: past 4 MiB of log, the node
    // replaces the log by a snapshot, and what follows is restored from the snapshot and the
    // rows after it.
    await ok(a, `/_do/${CLASS}/${object}/big?id=1&n=${3 << 20}`);
    await ok(a, `/_do/${CLASS}/${object}/big?id=2&n=200000`);
    await ok(a, `/_do/${CLASS}/${object}/big?id=3&n=${3 << 20}`);
    const notes = [];
    for (let i = 1; i <= 25; i++) {
      await ok(a, `/_do/${CLASS}/${object}/row?id=${i}&body=note-${object}-${i}`);
      notes.push({ id: i, body: `note-${object}-${i}` });
    }
    for (const body of ['alpha beta', 'gamma delta', 'beta epsilon', 'zeta']) {
      await ok(a, `/_do/${CLASS}/${object}/doc?body=${encodeURIComponent(body)}`);
    }
    expected[object] = {
      kv,
      notes,
      blobs: [{ id: 1, n: 3 << 20, intact: true }, { id: 2, n: 200000, intact: true },
        { id: 3, n: 3 << 20, intact: true }],
      search: ['alpha beta', 'beta epsilon'],
      check: 'ok',
    };
  }
  // Live on node A first.
  assert.deepEqual(await ok(a, `/_do/${CLASS}/s1/dump?match=beta`), expected.s1);
  // In the log, or already in a snapshot that replaced its rows (a slow machine may take the
  // snapshot after an object's last write).
  const rows = Number(pg.psql("SELECT count(*) FROM log WHERE node = 'node-a'"));
  const snapshotted = Number(pg.psql('SELECT count(*) FROM snapshots'));
  assert.ok(rows + snapshotted > 0, 'commits are in the log');
  assert.equal(pg.psql("SELECT count(DISTINCT object) FROM owners WHERE node = 'node-a'"), '2');
  // Each object's log was replaced by a snapshot (made off the request path, so maybe a moment
  // later), and only the rows after it remain.
  await waitFor(() => pg.psql('SELECT count(DISTINCT object) FROM snapshots') === '2',
    { timeoutMs: 10000, what: 'snapshots of both objects' });
  assert.equal(pg.psql('SELECT count(*) FROM log l JOIN snapshots s USING (object) WHERE l.seq <= s.seq'), '0');
  assert.equal(pg.psql('SELECT bool_and(length(checksum) = 32) FROM snapshots'), 't');

  // Node B, on an empty data folder of its own, is up before A dies: the time measured below is
  // the takeover's (A's lease running out, then the restore), not B's start.
  const b = await startNode('node-b');
  // The class's isolate, made on B before the clock runs: an object that B takes (rendezvous
  // hashing sends some new objects to A).
  for (let i = 0; pg.psql("SELECT count(*) FROM owners WHERE node = 'node-b'") === '0'; i++) {
    assert.ok(i < 50, 'B takes some new object');
    await ok(b, `/_do/${CLASS}/warm-up-${i}/count`);
  }
  await a.kill9();
  const killedAt = Date.now();
  try {
    // Node A's lease (2 s from its last renewal) must run out before B may take its objects.
    // Each object of A's is taken on its own first request after the lease ran out; until then
    // B forwards to A, the owner while its lease runs, which does not answer (a retryable 503, and
    // B forgets A as the owner). A's runtime process dies just after its killed supervisor: a
    // request it took as it died has an unknown outcome.
    const taken = (id) => waitFor(async () => {
      const res = await b.request(`/_do/${CLASS}/${id}/count`);
      if (res.status === 200) return true;
      assert.equal(res.status, 503, `while A's lease runs: ${res.status} ${res.body}`);
      assert.ok([UNAVAILABLE, UNKNOWN].includes(res.json().error), res.body);
      return false;
    }, { timeoutMs: 10000, intervalMs: 100, what: `node B taking ${id}` });
    await taken('s1');
    await taken('s2');
    const took = Date.now() - killedAt;
    assert.ok(took < 5000, `took over after ${took} ms`);
    const first = await ok(b, `/_do/${CLASS}/s1/dump?match=beta`);
    assert.deepEqual(first, expected.s1);
    assert.deepEqual(await ok(b, `/_do/${CLASS}/s2/dump?match=beta`), expected.s2);
    assert.equal(pg.psql(`SELECT count(*) FROM owners WHERE node = 'node-b'`), '3');  // s1, s2 and warm-up
    // Node B goes on writing where A stopped, under a new epoch.
    await ok(b, `/_do/${CLASS}/s1/put?k=after&v=b`);
    assert.equal((await ok(b, `/_do/${CLASS}/s1/dump`)).kv.after, 'b');
    // s1's log: A's rows, then B's, seq without gap, epochs growing with the takeover.
    const history = pg.psql("SELECT string_agg(seq || ':' || node || ':' || epoch, ' ' ORDER BY seq) FROM log " +
      "WHERE object = (SELECT DISTINCT object FROM log WHERE node = 'node-b')").split(' ').map((r) => r.split(':'));
    const firstSeq = Number(history[0][0]);
    assert.ok(firstSeq > 1, 'the rows before the snapshot are gone');
    history.forEach(([seq], i) => assert.equal(Number(seq), firstSeq + i));
    const last = history.at(-1);
    const lastOfA = history.filter(([, node]) => node === 'node-a').at(-1);
    assert.equal(last[1], 'node-b');
    // A took the object at epoch 1, B at 2 (A's rows may all be in the snapshot by now).
    assert.equal(Number(last[2]), 2);
    if (lastOfA) assert.equal(Number(lastOfA[2]), 1);
    assert.equal(history.findIndex(([, node]) => node === 'node-b'), history.length - 1);
  } finally {
    await b.stop();
  }
  // A graceful stop releases the node's objects for others to take at once.
  assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node = 'node-b'"), '0');
});

test('a node does not take an object that a live node owns: it forwards the request there', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-c');
  const b = await startNode('node-d');
  try {
    // Wherever the first request lands, one node takes each object; the other forwards to it.
    await ok(a, `/_do/${CLASS}/first/put?k=x&v=1`);
    await ok(b, `/_do/${CLASS}/second/put?k=y&v=2`);
    assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node IN ('node-c', 'node-d')"), '2');
    for (const node of [a, b]) {
      assert.equal((await ok(node, `/_do/${CLASS}/first/dump`)).kv.x, '1');
      assert.equal((await ok(node, `/_do/${CLASS}/second/dump`)).kv.y, '2');
    }
    // Still one owner each, at the epoch it first took.
    assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node IN ('node-c', 'node-d') AND epoch = 1"), '2');
  } finally {
    await b.stop();
    await a.stop();
  }
});

test('a write is not acknowledged while PostgreSQL does not answer, and is never lost', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-e');
  try {
    await ok(a, `/_do/${CLASS}/paused/put?k=before&v=1`);
    // A short pause, well within the lease: the write waits for PostgreSQL, then is acknowledged.
    let shortAnswer;
    let pids = postgresPids();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    const shortPending = a.request(`/_do/${CLASS}/paused/put?k=short&v=s`).then((res) => { shortAnswer = res; });
    try {
      await sleep(600);
      assert.equal(shortAnswer, undefined, 'no answer while PostgreSQL is paused');
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await shortPending;
    assert.equal(shortAnswer.status, 200, `${shortAnswer.status} ${shortAnswer.body}`);
    // A pause past the lease.
    pids = postgresPids();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    let answer;
    const pending = a.request(`/_do/${CLASS}/paused/put?k=during&v=2`).then((res) => { answer = res; });
    try {
      await sleep(800);
      assert.equal(answer, undefined, 'no answer while PostgreSQL is paused');
      // The node's lease runs out meanwhile: the write fails, retryably.
      await Promise.race([pending, sleep(10000)]);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await pending;
    assert.ok(answer, 'the write is answered once the node gives up');
    // Held until the node's lease ran out (PostgreSQL could not commit it meanwhile), then failed
    // as a reset that a retry may fix. Whether the write is in the log is not known to the
    // client: it may have landed once PostgreSQL resumed (the node still owned the object).
    assert.equal(answer.status, 500);
    assert.equal(answer.json().error, 'Durable Object reset because this node no longer owns it; retry the request.');
    // Once PostgreSQL answers again the node registers anew and serves the object again.
    await waitFor(async () => (await a.request(`/_do/${CLASS}/paused/put?k=after&v=3`)).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: 'writes acknowledged again' });
    const dump = await ok(a, `/_do/${CLASS}/paused/dump`);
    assert.equal(dump.kv.before, '1');
    assert.equal(dump.kv.short, 's');
    assert.equal(dump.kv.after, '3');
  } finally {
    await a.stop();
  }
  // What node E acknowledged is what a fresh node restores.
  const f = await startNode('node-f');
  try {
    const dump = await ok(f, `/_do/${CLASS}/paused/dump`);
    assert.equal(dump.kv.before, '1');
    assert.equal(dump.kv.short, 's');
    assert.equal(dump.kv.after, '3');
  } finally {
    await f.stop();
  }
});

test('an object evicted while idle is taken again, with its writes, on the same node', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-g', ['--idle-evict-seconds', '1']);
  try {
    for (let round = 0; round < 3; round++) {
      await ok(a, `/_do/${CLASS}/evicted/put?k=r${round}&v=${round}`);
      await ok(a, `/_do/${CLASS}/evicted/row?id=${round + 1}&body=n${round}`);
      const epoch = Number(pg.psql("SELECT epoch FROM owners WHERE node = 'node-g'"));
      // Idle eviction, then a new activation: the object is taken again (a new epoch) and its
      // local copy, which ends at the log's last row, is used as it is.
      await sleep(2500);
      const dump = await ok(a, `/_do/${CLASS}/evicted/dump`);
      assert.equal(Number(pg.psql("SELECT epoch FROM owners WHERE node = 'node-g'")), epoch + 1);
      for (let r = 0; r <= round; r++) assert.equal(dump.kv[`r${r}`], String(r));
      assert.deepEqual(dump.notes.map((n) => n.body), Array.from({ length: round + 1 }, (_, r) => `n${r}`));
    }
  } finally {
    await a.stop();
  }
});

test('a transaction past the capture limit is shipped whole, and a large restore holds up no other object', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-h');
  let b;
  try {
    await ok(a, `/_do/${CLASS}/huge/put?k=before&v=1`);
    // 24 rows of 3 MiB in one transaction: 72 MiB of pages, past the capture's 64 MiB. It is
    // acknowledged once the whole database is in PostgreSQL as a snapshot at its seq.
    await ok(a, `/_do/${CLASS}/huge/bulk?id=1&count=24&n=${3 << 20}`);
    await ok(a, `/_do/${CLASS}/huge/put?k=after&v=2`);
    await ok(a, `/_do/${CLASS}/tiny/put?k=t&v=3`);
    const whole = `FROM snapshots s WHERE s.image_bytes > ${64 << 20}`;
    // The snapshot replaced the row before it (seq 1); the row after it (seq 3) extends its chain.
    assert.equal(pg.psql(`SELECT s.seq || ' ' || (s.image IS NULL) || ' ' || length(s.image_digest) ${whole}`), '2 true 32');
    const bytes = Number(pg.psql(`SELECT s.image_bytes ${whole}`));
    // In pieces of 4 MiB at most, which add up to the image.
    assert.equal(pg.psql('SELECT count(*) || \' \' || sum(length(p.bytes)) || \' \' || max(length(p.bytes)) ' +
      `FROM snapshot_pieces p JOIN snapshots s USING (object, seq) WHERE s.image_bytes > ${64 << 20}`),
    `${Math.ceil(bytes / (4 << 20))} ${bytes} ${4 << 20}`);
    assert.equal(pg.psql(`SELECT string_agg(l.seq::text, ',') FROM log l WHERE l.object = (SELECT s.object ${whole})`), '3');

    // B's app quota (90 MiB) is measured from its files when B first writes an object of the
    // app, before the restore: the restored database counts once it is there.
    b = await startNode('node-i', ['--max-app-storage-mb', '90']);
    for (let i = 0; pg.psql("SELECT count(*) FROM owners WHERE node = 'node-i'") === '0'; i++) {
      assert.ok(i < 50, 'B takes some new object');
      await ok(b, `/_do/${CLASS}/quota-warm-up-${i}/put?k=w&v=1`);
    }
    await a.kill9();
    // Once A's lease has run out, B takes both objects: the large one's restore (72 MiB from its
    // pieces, then the integrity check) starts first, yet the small one is served before it ends.
    await waitFor(() => pg.psql("SELECT lease_until < now() FROM nodes WHERE node = 'node-h'") === 't',
      { timeoutMs: 10000, intervalMs: 50, what: "A's lease running out" });
    await sleep(600);  // B's directory re-reads the live nodes every 0.5 s
    const order = [];
    const huge = b.request(`/_do/${CLASS}/huge/dump`).then((res) => { order.push('huge'); return res; });
    await sleep(100);
    const tiny = b.request(`/_do/${CLASS}/tiny/dump`).then((res) => { order.push('tiny'); return res; });
    const [hugeRes, tinyRes] = await Promise.all([huge, tiny]);
    assert.equal(tinyRes.status, 200, tinyRes.body);
    assert.equal(hugeRes.status, 200, hugeRes.body);
    assert.deepEqual(order, ['tiny', 'huge']);
    assert.deepEqual(tinyRes.json().kv, { t: '3' });
    const dump = hugeRes.json();
    assert.deepEqual(dump.kv, { before: '1', after: '2' });
    assert.equal(dump.check, 'ok');
    assert.deepEqual(dump.blobs, Array.from({ length: 24 }, (_, i) => ({ id: i + 1, n: 3 << 20, intact: true })));
    assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node = 'node-i' AND epoch = 2"), '2');
    // 21 MiB more would pass the quota only if the 72 MiB restored were not counted.
    const over = await b.request(`/_do/${CLASS}/huge/bulk?id=100&count=7&n=${3 << 20}`);
    assert.equal(over.status, 500, over.body);
    assert.match(String(over.body), /database or disk is full: SQLITE_FULL/);
    assert.equal((await ok(b, `/_do/${CLASS}/huge/dump`)).blobs.length, 24);
  } finally {
    await b?.stop();
    if (!a.exitInfo) await a.stop();
  }
});

test('a transaction shipped whole whose connection is lost after its COMMIT is read back', { timeout: TIMEOUT_MS }, async () => {
  // Node J reaches PostgreSQL through a proxy that cuts one connection at a chosen statement.
  const proxy = await startProxy(pg.port);
  const a = await startClusterNode(pg, 'node-j', { url: `postgres://dorm@127.0.0.1:${proxy.port}/postgres` });
  nodes.push(a);
  try {
    await deployOnce(a, fixture('cluster_store.js'), { name: CLASS });
    await ok(a, `/_do/${CLASS}/cut/put?k=before&v=1`);
    const object = pg.psql("SELECT object FROM owners WHERE node = 'node-j'");
    const snapshots = () => pg.psql(`SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM snapshots WHERE object = '${object}'`);
    // 22 rows of 3 MiB: past the capture's 64 MiB, so shipped whole. Its COMMIT reaches
    // PostgreSQL and commits; the answer never reaches the node, whose connection is cut. The
    // node reads the outcome back (the snapshot is there) and acknowledges the write.
    let cut = proxy.trap('INSERT INTO snapshots', 'COMMIT');
    const shipped = await a.request(`/_do/${CLASS}/cut/bulk?id=1&count=22&n=${3 << 20}`);
    await cut;
    assert.equal(shipped.status, 200, `${shipped.status} ${shipped.body}\n${a.outputTail(4000)}`);
    assert.equal(snapshots(), '2');
    assert.match(a.outputTail(20000), /read back .* shipped whole: it committed/);
    // The next commit extends the snapshot's chain (a restore checks it below).
    await ok(a, `/_do/${CLASS}/cut/put?k=after&v=2`);
    // The COMMIT itself is dropped: nothing committed, so the write fails as a retryable reset
    // and the log is as it was.
    cut = proxy.trap('INSERT INTO snapshots', 'COMMIT', { drop: true });
    const lost = await a.request(`/_do/${CLASS}/cut/bulk?id=100&count=22&n=${3 << 20}`);
    await cut;
    assert.equal(lost.status, 500, lost.body);
    assert.equal(lost.json().error, 'Durable Object reset because its writes could not be made durable in the cluster; retry the request.');
    assert.equal(snapshots(), '2');
    assert.equal(pg.psql(`SELECT string_agg(seq::text, ',') FROM log WHERE object = '${object}'`), '3');
    // Restored from the log: the acknowledged writes, not the failed one.
    const dump = await ok(a, `/_do/${CLASS}/cut/dump`);
    assert.deepEqual(dump.kv, { before: '1', after: '2' });
    assert.equal(dump.check, 'ok');
    assert.deepEqual(dump.blobs, Array.from({ length: 22 }, (_, i) => ({ id: i + 1, n: 3 << 20, intact: true })));
  } finally {
    await a.stop();
    await proxy.close();
  }
});
