// Placement and forwarding in a cluster (`dorm serve --cluster`): any node accepts any request for
// any object and passes it to the object's one owner (HTTP with streamed bodies both ways, and
// WebSocket upgrades); a new object starts on the node that rendezvous hashing picks; only nodes
// of the cluster can forward (their requests are signed with the cluster's secret); and when the
// owner is killed, the surviving nodes serve its objects, with every acknowledged write, within
// 5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { fixture, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { deployOnce, startClusterNode, rendezvous } from './lib/cluster.mjs';
import { WsClient } from './lib/ws.mjs';

const CLASS = 'forward-probe';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const UNAVAILABLE = 'Durable Object is not available on this node right now; retry the request.';

let pg;
let nodes = [];
before(async () => {
  pg = await startPostgres();
  for (const name of ['fwd-a', 'fwd-b', 'fwd-c']) nodes.push(await startNode(name));
});
after(async () => {
  for (const node of nodes) if (!node.exitInfo) await node.stop();
  await pg?.stop();
});

async function startNode(name) {
  const node = await startClusterNode(pg, name);
  await deployOnce(node, fixture('cluster_forward.js'), { name: CLASS });
  return node;
}

async function ok(node, reqPath, opts) {
  const res = await node.request(reqPath, opts);
  assert.equal(res.status, 200, `${node.name} ${reqPath}: ${res.status} ${res.body}`);
  return res.json();
}

function ownersOf() {
  // Keys are "app\nclass\nid": printed with '/' in place of the newlines.
  const rows = pg.psql(`SELECT replace(object, chr(10), '/') || '|' || node || '|' || epoch FROM owners ` +
    `WHERE object LIKE 'default' || chr(10) || '${CLASS}' || chr(10) || '%' ORDER BY object`);
  return rows ? rows.split('\n').map((r) => r.split('|')).map(([object, node, epoch]) => [object.replaceAll('/', '\n'), node, epoch]) : [];
}

test('50 objects through all nodes round robin: one owner each, placed by rendezvous hashing', { timeout: TIMEOUT_MS }, async () => {
  const served = new Map();
  const before = new Set(ownersOf().map(([object]) => object));
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 50; i++) {
      const node = nodes[(i + round) % nodes.length];
      const answer = await ok(node, `/_do/${CLASS}/obj-${i}/incr`);
      assert.equal(answer.n, round, `obj-${i} round ${round}`);
      if (round === 1) served.set(i, answer.node);
      assert.equal(answer.node, served.get(i), `obj-${i} served by one node`);
    }
  }
  // Every node read back every object, from its one owner.
  for (const node of nodes) {
    for (let i = 0; i < 50; i += 7) assert.deepEqual(await ok(node, `/_do/${CLASS}/obj-${i}/get`), { node: served.get(i), n: 3 });
  }
  // PostgreSQL agrees: each object owned by the node that served it, taken once (epoch 1), at the
  // node rendezvous hashing picks among the three live nodes for its key.
  const owners = ownersOf().filter(([object]) => !before.has(object));
  assert.equal(owners.length, 50);
  const byNode = {};
  for (const [object, node, epoch] of owners) {
    assert.equal(epoch, '1');
    assert.equal(node, rendezvous(nodes.map((n) => n.name), object), `placement of ${JSON.stringify(object)}`);
    byNode[node] = (byNode[node] ?? 0) + 1;
  }
  assert.equal(Object.keys(byNode).length, 3, `every node owns some: ${JSON.stringify(byNode)}`);
  const servedCounts = {};
  for (const node of served.values()) servedCounts[node] = (servedCounts[node] ?? 0) + 1;
  assert.deepEqual(servedCounts, byNode);
});

// The owner of `object` and a node that is not.
async function ownerAndOther(object) {
  const { node } = await ok(nodes[0], `/_do/${CLASS}/${object}/get`);
  const owner = nodes.find((n) => n.name === node);
  const others = nodes.filter((n) => n !== owner);
  return { owner, others };
}

test('bodies stream both ways through a forwarding node, and client headers arrive', { timeout: TIMEOUT_MS }, async () => {
  const { owner, others } = await ownerAndOther('streams');
  const via = others[0];
  // A request's headers reach the object as they do when the client asks the owner itself
  // (host included); the forwarding headers do not.
  const sent = { 'x-client': 'kept', 'user-agent': 'probe/1', host: 'app.example' };
  const forwarded = await ok(via, `/_do/${CLASS}/streams/headers`, { headers: sent });
  const direct = await ok(owner, `/_do/${CLASS}/streams/headers`, { headers: sent });
  assert.equal(forwarded.node, owner.name);
  assert.deepEqual(forwarded.headers, direct.headers);
  const headers = Object.fromEntries(forwarded.headers);
  assert.equal(headers['x-client'], 'kept');
  assert.equal(headers.host, 'app.example');
  assert.ok(!Object.keys(headers).some((h) => h.startsWith('x-dorm-forward')), JSON.stringify(headers));
  // Headers the client's Connection header names belong to its connection to the first node.
  const hop = await ok(via, `/_do/${CLASS}/streams/headers`, { headers: { connection: 'close, x-hop', 'x-hop': '1', 'x-client': 'kept' } });
  const hopHeaders = Object.fromEntries(hop.headers);
  assert.equal(hopHeaders['x-hop'], undefined);
  assert.equal(hopHeaders['x-client'], 'kept');
  assert.equal(hopHeaders.connection, 'close');

  // An upload of 8 MiB in chunks, echoed back as it comes.
  const body = crypto.randomBytes(8 << 20);
  const echoed = await new Promise((resolve, reject) => {
    const req = http.request({ port: via.port, host: '127.0.0.1', method: 'POST', path: `/_do/${CLASS}/streams/echo`, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), node: res.headers['x-node'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (let at = 0; at < body.length; at += 1 << 20) req.write(body.subarray(at, at + (1 << 20)));
    req.end();
  });
  assert.equal(echoed.status, 200);
  assert.notEqual(echoed.node, via.name);
  assert.equal(echoed.body.length, body.length);
  assert.ok(echoed.body.equals(body), 'the echo is the upload');

  // Expect: 100-continue is answered by the first node; the body then goes to the owner.
  const continued = await new Promise((resolve, reject) => {
    const req = http.request({ port: via.port, host: '127.0.0.1', method: 'POST', path: `/_do/${CLASS}/streams/echo`, agent: false,
      headers: { expect: '100-continue', 'content-length': '5' } });
    let sawContinue = false;
    req.on('continue', () => { sawContinue = true; req.end('hello'); });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(), sawContinue }));
    });
    req.on('error', reject);
  });
  assert.deepEqual(continued, { status: 200, body: 'hello', sawContinue: true });

  // A response whose second part waits for another request: its first part reaches the client
  // through the forwarding node before that (nothing is held back until the end).
  const chunks = [];
  let ended = false;
  const done = new Promise((resolve, reject) => {
    const req = http.request({ port: via.port, host: '127.0.0.1', path: `/_do/${CLASS}/streams/held`, agent: false }, (res) => {
      res.on('data', (c) => chunks.push(c.toString()));
      res.on('end', () => { ended = true; resolve(); });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  await waitFor(() => chunks.join('') === 'first;', { timeoutMs: 10000, what: 'the first chunk' });
  await sleep(200);
  assert.equal(ended, false);
  assert.equal((await ok(others[1], `/_do/${CLASS}/streams/release`)).released, true);
  await done;
  assert.equal(chunks.join(''), 'first;second');
});

test('WebSockets through non-owner nodes reach the one object: messages broadcast to clients on other nodes', { timeout: TIMEOUT_MS }, async () => {
  const { owner, others } = await ownerAndOther('room');
  const clients = [];
  try {
    for (const node of [others[0], others[1], owner]) {
      clients.push(await WsClient.open(`ws://127.0.0.1:${node.port}/_do/${CLASS}/room/ws`));
    }
    clients[0].send('hello');
    for (const client of clients) assert.equal(await client.next(), `${owner.name}:hello`);
    clients[1].send('again');
    for (const client of clients) assert.equal(await client.next(), `${owner.name}:again`);
  } finally {
    for (const client of clients) client.ws.close();
  }
});

// A request signed as the nodes sign forwarded requests (src/cluster/forward_auth.cc).
function signedHeaders(method, target, { hops = 1, time = Math.floor(Date.now() / 1000), secret } = {}) {
  const forwarded = `${hops} ${time} fwd-test 192.0.2.7`;
  const message = `${method.length}:${method}${target.length}:${target}${forwarded}`;
  const signature = crypto.createHmac('sha256', secret).update(message).digest('hex');
  return { 'x-dorm-forwarded': forwarded, 'x-dorm-forward-signature': signature };
}

test('only nodes of the cluster can forward: forged or stale forwarding headers are refused', { timeout: TIMEOUT_MS }, async () => {
  const { owner, others } = await ownerAndOther('guarded');
  const target = `/_do/${CLASS}/guarded/get`;
  const FORGED = 'The request carries cluster forwarding headers that no node of this cluster signed.';
  const forged = [
    { 'x-dorm-forwarded': `1 ${Math.floor(Date.now() / 1000)} fwd-a 10.0.0.1` },
    { 'x-dorm-forward-signature': 'ab'.repeat(32) },
    signedHeaders('GET', target, { secret: 'not-the-secret' }),
    // Signed for another target.
    signedHeaders('GET', `/_do/${CLASS}/other/get`, { secret: pg.psql('SELECT secret FROM cluster_secret') }),
  ];
  for (const headers of forged) {
    for (const node of nodes) {
      const res = await node.request(target, { headers });
      assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.status} ${res.body}`);
      assert.equal(res.json().error, FORGED);
    }
  }
  const secret = pg.psql('SELECT secret FROM cluster_secret');
  assert.match(secret, /^[0-9a-f]{64}$/);
  // Stale (past the allowed clock skew of 60 s).
  const stale = await owner.request(target, { headers: signedHeaders('GET', target, { secret, time: Math.floor(Date.now() / 1000) - 120 }) });
  assert.equal(stale.status, 403);
  // A genuine forward to the owner is served there.
  const genuine = await owner.request(target, { headers: signedHeaders('GET', target, { secret }) });
  assert.equal(genuine.status, 200, genuine.text);
  assert.equal(genuine.json().node, owner.name);
  // A genuine forward to a node that does not own the object: "not owner", naming the owner, and
  // never forwarded further.
  const misdirected = await others[0].request(target, { headers: signedHeaders('GET', target, { secret }) });
  assert.equal(misdirected.status, 421, misdirected.text);
  assert.equal(misdirected.headers['x-dorm-owner'], owner.name);
  // Past the hop limit.
  const looped = await owner.request(target, { headers: signedHeaders('GET', target, { secret, hops: 3 }) });
  assert.equal(looped.status, 508);
  assert.equal(looped.json().error, 'The request was forwarded between the nodes of the cluster too many times.');
});

test('kill -9 of an owner: the surviving nodes serve its objects within 5 s, with every acknowledged write', { timeout: TIMEOUT_MS }, async () => {
  // Objects on the victim, with acknowledged writes made through every node.
  const victim = nodes[2];
  const survivors = nodes.slice(0, 2);
  const acknowledged = new Map();
  for (let i = 0; acknowledged.size < 6; i++) {
    assert.ok(i < 200, 'the victim owns some new objects');
    const answer = await ok(nodes[i % 3], `/_do/${CLASS}/moving-${i}/incr`);
    if (answer.node === victim.name) acknowledged.set(`moving-${i}`, 1);
  }
  for (const [object] of acknowledged) {
    for (const node of nodes) {
      const answer = await ok(node, `/_do/${CLASS}/${object}/incr`);
      assert.equal(answer.node, victim.name);
      acknowledged.set(object, answer.n);
    }
  }
  const victimKeys = new Set(ownersOf().filter(([, node]) => node === victim.name).map(([object]) => object));
  await victim.kill9();
  const killedAt = Date.now();
  const movedAt = new Map();
  await waitFor(async () => {
    for (const [object, n] of acknowledged) {
      if (movedAt.has(object)) continue;
      const via = survivors[movedAt.size % 2];
      const res = await via.request(`/_do/${CLASS}/${object}/get`);
      if (res.status === 200) {
        const answer = res.json();
        assert.ok(survivors.some((s) => s.name === answer.node), answer.node);
        assert.equal(answer.n, n, `${object}: every acknowledged write`);
        movedAt.set(object, Date.now() - killedAt);
      } else {
        // Until the victim's lease runs out, it is still the owner, and cannot be reached.
        assert.equal(res.status, 503, `${object}: ${res.status} ${res.body}`);
        assert.equal(res.json().error, UNAVAILABLE);
      }
    }
    return movedAt.size === acknowledged.size;
  }, { timeoutMs: 10000, intervalMs: 100, what: 'the survivors serving the moved objects' });
  for (const [object, ms] of movedAt) assert.ok(ms < 5000, `${object} back after ${ms} ms`);
  // Both survivors reach the same new owner of each, and write there.
  for (const [object, n] of acknowledged) {
    const first = await ok(survivors[0], `/_do/${CLASS}/${object}/incr`);
    const second = await ok(survivors[1], `/_do/${CLASS}/${object}/incr`);
    assert.equal(first.node, second.node);
    assert.deepEqual([first.n, second.n], [n + 1, n + 2]);
  }
  // In PostgreSQL: exactly the objects asked for moved, each to the rendezvous winner of the two
  // survivors, at the next epoch; the victim's other objects wait for a request.
  const moved = ownersOf().filter(([object, node]) => victimKeys.has(object) && node !== victim.name);
  assert.equal(moved.length, acknowledged.size);
  for (const [object, node, epoch] of moved) {
    assert.equal(epoch, '2');
    assert.equal(node, rendezvous(survivors.map((s) => s.name), object));
  }
});
