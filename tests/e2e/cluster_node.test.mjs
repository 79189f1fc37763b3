// Cluster mode on one node at a time (`dorm serve --cluster URL --node NAME --advertise URL`):
// every acknowledged write is in PostgreSQL's log, so a node started on an empty data folder
// restores the objects of a node killed with SIGKILL once that node's lease has run out; a node
// does not take objects another live node owns (503, retryable: requests are not forwarded yet);
// and a write made while PostgreSQL does not answer is not acknowledged, and is never lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';

const CLASS = 'cluster-store';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const OWNED_ELSEWHERE = 'Durable Object is owned by another node of the cluster; retry the request there.';

let pg;
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

async function startNode(name) {
  const node = await startServer({
    flags: ['--cluster', pg.url, '--node', name, '--advertise', `http://${name}.invalid:8787`],
  });
  await node.deploy(fixture('cluster_store.js'), { name: CLASS });
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
    const notes = [];
    for (let i = 1; i <= 25; i++) {
      await ok(a, `/_do/${CLASS}/${object}/row?id=${i}&body=note-${object}-${i}`);
      notes.push({ id: i, body: `note-${object}-${i}` });
    }
    // Rows that span many overflow pages, one near the row limit.
    await ok(a, `/_do/${CLASS}/${object}/big?id=1&n=${3 << 20}`);
    await ok(a, `/_do/${CLASS}/${object}/big?id=2&n=200000`);
    for (const body of ['alpha beta', 'gamma delta', 'beta epsilon', 'zeta']) {
      await ok(a, `/_do/${CLASS}/${object}/doc?body=${encodeURIComponent(body)}`);
    }
    expected[object] = {
      kv,
      notes,
      blobs: [{ id: 1, n: 3 << 20, intact: true }, { id: 2, n: 200000, intact: true }],
      search: ['alpha beta', 'beta epsilon'],
      check: 'ok',
    };
  }
  // Live on node A first.
  assert.deepEqual(await ok(a, `/_do/${CLASS}/s1/dump?match=beta`), expected.s1);
  const rows = Number(pg.psql("SELECT count(*) FROM log WHERE node = 'node-a'"));
  assert.ok(rows > 0, 'commits are in the log');
  assert.equal(pg.psql("SELECT count(DISTINCT object) FROM owners WHERE node = 'node-a'"), '2');

  await a.kill9();
  const killedAt = Date.now();
  const b = await startNode('node-b');
  try {
    // Node A's lease (2 s from its last renewal) must run out before B may take its objects.
    let first;
    await waitFor(async () => {
      const res = await b.request(`/_do/${CLASS}/s1/dump?match=beta`);
      if (res.status === 200) { first = res.json(); return true; }
      assert.equal(res.status, 503, `while A's lease runs: ${res.status} ${res.body}`);
      assert.equal(res.json().error, OWNED_ELSEWHERE);
      return false;
    }, { timeoutMs: 8000, intervalMs: 100, what: 'node B taking s1' });
    const took = Date.now() - killedAt;
    assert.ok(took < 4000, `took over after ${took} ms`);
    assert.deepEqual(first, expected.s1);
    assert.deepEqual(await ok(b, `/_do/${CLASS}/s2/dump?match=beta`), expected.s2);
    assert.equal(pg.psql(`SELECT count(*) FROM owners WHERE node = 'node-b'`), '2');
    // Node B goes on writing where A stopped, under a new epoch.
    await ok(b, `/_do/${CLASS}/s1/put?k=after&v=b`);
    assert.equal((await ok(b, `/_do/${CLASS}/s1/dump`)).kv.after, 'b');
    // s1's log: A's rows, then B's, seq without gap, epochs growing with the takeover.
    const history = pg.psql("SELECT string_agg(seq || ':' || node || ':' || epoch, ' ' ORDER BY seq) FROM log " +
      "WHERE object = (SELECT DISTINCT object FROM log WHERE node = 'node-b')").split(' ').map((r) => r.split(':'));
    history.forEach(([seq], i) => assert.equal(Number(seq), i + 1));
    const last = history.at(-1);
    const lastOfA = history.filter(([, node]) => node === 'node-a').at(-1);
    assert.equal(last[1], 'node-b');
    assert.ok(Number(last[2]) > Number(lastOfA[2]), `epochs ${lastOfA[2]} then ${last[2]}`);
    assert.equal(history.findIndex(([, node]) => node === 'node-b'), history.length - 1);
  } finally {
    await b.stop();
  }
  // A graceful stop releases the node's objects for others to take at once.
  assert.equal(pg.psql("SELECT count(*) FROM owners WHERE node = 'node-b'"), '0');
});

test('a node does not take an object that a live node owns', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-c');
  const b = await startNode('node-d');
  try {
    await ok(a, `/_do/${CLASS}/owned-by-c/put?k=x&v=1`);
    const refused = await b.request(`/_do/${CLASS}/owned-by-c/dump`);
    assert.equal(refused.status, 503);
    assert.equal(refused.json().error, OWNED_ELSEWHERE);
    // B serves the objects it takes first; A is refused those.
    await ok(b, `/_do/${CLASS}/owned-by-d/put?k=y&v=2`);
    const refusedToA = await a.request(`/_do/${CLASS}/owned-by-d/dump`);
    assert.equal(refusedToA.status, 503);
    assert.equal((await ok(a, `/_do/${CLASS}/owned-by-c/dump`)).kv.x, '1');
    assert.equal((await ok(b, `/_do/${CLASS}/owned-by-d/dump`)).kv.y, '2');
  } finally {
    await b.stop();
    await a.stop();
  }
});

test('a write is not acknowledged while PostgreSQL does not answer, and is never lost', { timeout: TIMEOUT_MS }, async () => {
  const a = await startNode('node-e');
  try {
    await ok(a, `/_do/${CLASS}/paused/put?k=before&v=1`);
    const pids = postgresPids();
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
    if (answer.status !== 200) {
      assert.ok([500, 503].includes(answer.status), `status ${answer.status}`);
      assert.match(answer.json().error, /retry/);
    }
    // Once PostgreSQL answers again the node registers anew and serves the object again.
    await waitFor(async () => (await a.request(`/_do/${CLASS}/paused/put?k=after&v=3`)).status === 200,
      { timeoutMs: 15000, intervalMs: 200, what: 'writes acknowledged again' });
    const dump = await ok(a, `/_do/${CLASS}/paused/dump`);
    assert.equal(dump.kv.before, '1');
    assert.equal(dump.kv.after, '3');
    if (answer.status === 200) assert.equal(dump.kv.during, '2');
  } finally {
    await a.stop();
  }
  // What node E acknowledged is what a fresh node restores.
  const f = await startNode('node-f');
  try {
    const dump = await ok(f, `/_do/${CLASS}/paused/dump`);
    assert.equal(dump.kv.before, '1');
    assert.equal(dump.kv.after, '3');
  } finally {
    await f.stop();
  }
});
