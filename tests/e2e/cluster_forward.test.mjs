// Placement and forwarding in a cluster (`dorm serve --cluster`): any node accepts any request for
// any object and passes it to the object's one owner (HTTP with streamed bodies both ways, and
// WebSocket upgrades); a new object starts on the node that rendezvous hashing picks; only nodes
// of the cluster can forward (their requests are signed with the cluster's secret); and when the
// owner is killed, the surviving nodes serve its objects, with every acknowledged write, within
// 5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { fixture, rawExchange, sleep, waitFor } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { deployOnce, startClusterNode, rendezvous } from './lib/cluster.mjs';
import { WsClient } from './lib/ws.mjs';

const CLASS = 'forward-probe';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const UNAVAILABLE = 'Durable Object is not available on this node right now; retry the request.';
const UNKNOWN = "Durable Object's node stopped answering before its response; the request may have run there. Retry it only if running it twice is safe.";

let pg;
let nodes = [];
before(async () => {
  pg = await startPostgres();
  for (const name of ['fwd-a', 'fwd-b', 'fwd-c']) nodes.push(await startNode(name));
  // Each node's directory re-reads the live nodes every 500 ms (ClusterDirectory::kNodesEvery):
  // until fwd-a and fwd-b have read fwd-c's lease, they place new objects among the two of them.
  // The placement test below expects all three considered.
  await sleep(1500);
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

// A new object served through nodes[0], its key in `owners`, and its owner.
async function newObject(name) {
  const known = new Set(ownersOf().map(([object]) => object));
  const first = await ok(nodes[0], `/_do/${CLASS}/${name}/incr`);
  assert.equal(first.n, 1);
  const added = ownersOf().filter(([object]) => !known.has(object));
  assert.equal(added.length, 1, `${name}: one new owners row`);
  const owner = nodes.find((n) => n.name === first.node);
  return { key: added[0][0], owner, others: nodes.filter((n) => n !== owner) };
}

// Gives `key` to node `to` in `owners` as a takeover does (the next epoch), then makes `owner`'s
// instance let go of it: its next write is fenced, and answered with the retryable reset. The
// owner's directory keeps saying (for 2 s) that the object is its own.
async function takeBehindOwnersBack(name, key, owner, to) {
  assert.equal((await ok(owner, `/_do/${CLASS}/${name}/get`)).node, owner.name);
  const sqlKey = key.replaceAll('\n', '/').replaceAll("'", "''");
  pg.psql(`UPDATE owners SET node = '${to.name}', epoch = epoch + 1 WHERE replace(object, chr(10), '/') = '${sqlKey}'`);
  const fenced = await owner.request(`/_do/${CLASS}/${name}/incr`);
  assert.equal(fenced.json().error, 'Durable Object reset because this node no longer owns it; retry the request.');
}

test('a node whose directory named itself, finding the object taken by another node, forwards to it', { timeout: TIMEOUT_MS }, async () => {
  for (const kind of ['body', 'plain', 'websocket']) {
    const name = `taken-${kind}`;
    const { key, owner, others } = await newObject(name);
    const to = others[0];
    await takeBehindOwnersBack(name, key, owner, to);
    if (kind === 'body') {
      const added = await ok(owner, `/_do/${CLASS}/${name}/add`, { method: 'POST', body: '5' });
      assert.deepEqual(added, { node: to.name, n: 6, bytes: 1 });
    } else if (kind === 'plain') {
      assert.deepEqual(await ok(owner, `/_do/${CLASS}/${name}/get`), { node: to.name, n: 1 });
    } else {
      const client = await WsClient.open(`ws://127.0.0.1:${owner.port}/_do/${CLASS}/${name}/ws`);
      try {
        client.send('moved');
        assert.equal(await client.next(), `${to.name}:moved`);
      } finally {
        client.ws.close();
      }
    }
    assert.deepEqual(await ok(nodes[0], `/_do/${CLASS}/${name}/get`), { node: to.name, n: kind === 'body' ? 6 : 1 });
  }
});

test('a request with a body sent to a stale owner goes on to the new owner, its body delivered once', { timeout: TIMEOUT_MS }, async () => {
  const name = 'stale-body';
  const { key, owner, others } = await newObject(name);
  const [via, to] = others;
  // `via` caches the owner...
  assert.equal((await ok(via, `/_do/${CLASS}/${name}/get`)).node, owner.name);
  // ...which the object leaves.
  await takeBehindOwnersBack(name, key, owner, to);
  // Over 1 MiB: the old owner answers "not owner" before reading any of it, so nothing has to be
  // kept for the retry.
  const body = `5${' '.repeat(2 << 20)}`;
  const added = await ok(via, `/_do/${CLASS}/${name}/add`, { method: 'POST', body });
  assert.deepEqual(added, { node: to.name, n: 6, bytes: body.length });
  assert.deepEqual(await ok(owner, `/_do/${CLASS}/${name}/get`), { node: to.name, n: 6 });
});

test('an owner that waits to take the object for a forwarded request with a body says it is alive: the request is answered, not "outcome unknown"', { timeout: TIMEOUT_MS }, async () => {
  const name = 'slow-take';
  const { key, owner, others } = await newObject(name);
  const [to, via] = others;
  await takeBehindOwnersBack(name, key, owner, to);
  // A session that holds the object's row in `owners` makes the take wait about 4 s: longer than
  // the forwarder's 3 s bound on an owner's silence, shorter than the take's statement timeout.
  const sqlKey = key.replaceAll('\n', '/').replaceAll("'", "''");
  const lock = pg.psqlInBackground(`BEGIN; SELECT 1 FROM owners WHERE replace(object, chr(10), '/') = '${sqlKey}' FOR UPDATE; ` +
    'SELECT pg_sleep(4); COMMIT;');
  await waitFor(() => pg.psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'") === '1',
    { timeoutMs: 10000, intervalMs: 20, what: 'the lock on the owners row' });
  const started = Date.now();
  const added = await via.request(`/_do/${CLASS}/${name}/add`, { method: 'POST', body: '5', timeoutMs: 15000 });
  const took = Date.now() - started;
  await lock;
  assert.equal(added.status, 200, added.text);
  assert.deepEqual(added.json(), { node: to.name, n: 6, bytes: 1 });
  assert.ok(took >= 3000, `answered after ${took} ms: the take waited for the lock`);
  assert.deepEqual(await ok(owner, `/_do/${CLASS}/${name}/get`), { node: to.name, n: 6 });
});

// Until `answer()` is not the retryable 503 of a request that never reached an object: asks
// again (safe, since the object did not run it). Returns the other answer.
async function untilReached(answer, what) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const res = await answer();
    if (res.status !== 503 || res.json().error !== UNAVAILABLE) return res;
    assert.ok(Date.now() < deadline, `${what}: still ${res.status} ${res.text}`);
    await sleep(100);
  }
}

// Until `node` serves an object of its own again (its lease renewed and its control plane
// current): new objects are asked for through it until one is placed on it and answered.
async function untilServingItself(node, prefix) {
  let i = 0;
  await waitFor(async () => {
    const res = await node.request(`/_do/${CLASS}/${prefix}-${i++}/get`);
    return res.status === 200 && res.json().node === node.name;
  }, { timeoutMs: 20000, intervalMs: 100, what: `${node.name} serving its own objects` });
}

test('a request forwarded to a paused owner is answered 503 "outcome unknown" after the wait, never sent elsewhere', { timeout: TIMEOUT_MS }, async () => {
  const name = 'paused-owner';
  const { owner, others } = await newObject(name);
  const via = others[0];
  // `via` caches the owner, and keeps a connection to it.
  assert.equal((await ok(via, `/_do/${CLASS}/${name}/get`)).node, owner.name);
  const pids = [owner.proc.pid, owner.runtimePid()];
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    const started = Date.now();
    // One on the kept connection, one on a new one (the kernel accepts it for the paused node).
    const [incr, add] = await Promise.all([
      via.request(`/_do/${CLASS}/${name}/incr`, { timeoutMs: 15000 }),
      via.request(`/_do/${CLASS}/${name}/add`, { method: 'POST', body: '5', timeoutMs: 15000 }),
    ]);
    const took = Date.now() - started;
    for (const res of [incr, add]) {
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json().error, UNKNOWN);
      assert.equal(res.headers['retry-after'], '1');
    }
    // The forwarder's wait (3 s: the lease's TTL and a margin), not the pause's end.
    assert.ok(took >= 2900 && took < 8000, `answered after ${took} ms`);
    // The client retries: the object's next owner runs each request once.
    const again = await untilReached(() => via.request(`/_do/${CLASS}/${name}/incr`), 'incr');
    assert.equal(again.status, 200, again.text);
    assert.notEqual(again.json().node, owner.name);
    assert.equal(again.json().n, 2);
    const added = await untilReached(() => via.request(`/_do/${CLASS}/${name}/add`, { method: 'POST', body: '5' }), 'add');
    assert.equal(added.status, 200, added.text);
    assert.equal(added.json().n, 7);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  // The paused node serves again (a new lease), reaches the object's new owner, and ran neither
  // of the requests it had been sent: the object had been taken when it read them.
  await untilServingItself(owner, 'resumed');
  const after = await ok(owner, `/_do/${CLASS}/${name}/get`);
  assert.notEqual(after.node, owner.name);
  assert.equal(after.n, 7);
});

test('a node resumed after a pause longer than its lease is placed objects only once it serves them: every request answered', { timeout: TIMEOUT_MS }, async () => {
  const paused = nodes[1];
  // Objects of `paused`, made through every node.
  const objects = [];
  for (let i = 0; objects.length < 12; i++) {
    assert.ok(i < 500, `${paused.name} owns 12 of 500 new objects`);
    const answer = await ok(nodes[i % 3], `/_do/${CLASS}/resume-${i}/incr`);
    if (answer.node === paused.name) objects.push(`resume-${i}`);
  }
  const pids = [paused.proc.pid, paused.runtimePid()];
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  try {
    await sleep(3000);  // past the lease's 2 s: the node registers anew when it resumes
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  // Each object is first asked for at its own moment of the next 1.2 s (before the resumed node
  // is live again, and after), then through every node in turn: each request is answered, by the
  // resumed node or by the one that took the object meanwhile.
  const refused = [];
  const counts = new Map();
  await Promise.all(objects.map(async (name, k) => {
    await sleep(k * 100);
    for (let round = 0; round < 2; round++) {
      for (const node of nodes) {
        const res = await node.request(`/_do/${CLASS}/${name}/incr`, { timeoutMs: 15000 });
        if (res.status === 200) counts.set(name, res.json().n);
        else refused.push(`${name} through ${node.name} at ${k * 100} ms: ${res.status} ${res.text}`);
      }
    }
  }));
  assert.deepEqual(refused, []);
  for (const name of objects) assert.equal(counts.get(name), 7, `${name}: every write`);
});

// The connections to `port` (listening sockets aside) in this machine's TCP tables, each named by
// its other end's port: a connection is seen from either end (both are on this machine), and from
// the one that closed first for a while after it closed (TIME_WAIT), so that connections opened
// and closed between two readings are counted too.
function connectionsTo(port) {
  const peers = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] === '0A') continue;
      const local = parseInt(f[1].split(':')[1], 16);
      const remote = parseInt(f[2].split(':')[1], 16);
      if (local === port) peers.add(remote);
      else if (remote === port) peers.add(local);
    }
  }
  return peers;
}

// How many connections to `port` are in the tables now that were not in `before`.
function connectionsOpenedSince(port, before) {
  let n = 0;
  for (const peer of connectionsTo(port)) if (!before.has(peer)) n++;
  return n;
}

// A request on `agent`'s connections; the answer with the socket it went on.
function onAgent(node, agent, method, reqPath, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request({ host: '127.0.0.1', port: node.port, method, path: reqPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), socket: req.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('forwarded requests keep connections: the client\'s goes on after the response, the owner\'s is used again', { timeout: TIMEOUT_MS }, async () => {
  const { owner, others } = await ownerAndOther('kept');
  const via = others[0];
  const { n: start } = await ok(via, `/_do/${CLASS}/kept/get`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  const before = connectionsTo(owner.port);
  try {
    for (let i = 1; i <= 8; i++) {
      const incr = await onAgent(via, agent, 'POST', `/_do/${CLASS}/kept/incr`);
      assert.equal(incr.status, 200, incr.body);
      assert.deepEqual(JSON.parse(incr.body), { node: owner.name, n: start + i });
      // A body each way (the response chunked), a HEAD, an error, and an object that may be
      // served by `via` itself, all on the same connection.
      const echo = await onAgent(via, agent, 'POST', `/_do/${CLASS}/kept/echo`, `body ${i}`);
      assert.deepEqual([echo.status, echo.body, echo.headers['x-node']], [200, `body ${i}`, owner.name]);
      const head = await onAgent(via, agent, 'HEAD', `/_do/${CLASS}/kept/get`);
      assert.deepEqual([head.status, head.body], [200, '']);
      const missing = await onAgent(via, agent, 'GET', `/_do/${CLASS}/kept/nothing-here`);
      assert.deepEqual([missing.status, missing.body], [404, 'not found']);
      const other = await onAgent(via, agent, 'GET', `/_do/${CLASS}/kept-mix-${i}/get`);
      assert.equal(other.status, 200, other.body);
      for (const answer of [incr, echo, head, missing, other]) sockets.add(answer.socket);
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sockets.size, 1, 'every request on one client connection');
  // Pipelined: the requests read with a forwarded one are served after its response, in order.
  const pipelined = await rawExchange(via.port,
    `POST /_do/${CLASS}/kept/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nfirst` +
    `GET /_do/${CLASS}/kept/get HTTP/1.1\r\nhost: x\r\n\r\n` +
    `POST /_do/${CLASS}/kept/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nconnection: close\r\n\r\nlast`,
    { count: 3 });
  assert.deepEqual(pipelined.map((r) => [r.status, r.body.toString()]),
    [[200, 'first'], [200, JSON.stringify({ node: owner.name, n: start + 8 })], [200, 'last']]);
  // 32 requests forwarded to the owner: on one kept connection (a second or third at most, if the
  // pool found one closed), not one connection each.
  const opened = connectionsOpenedSince(owner.port, before);
  assert.ok(opened <= 3, `${opened} connections to the owner's port`);
});

// A POST on `agent`'s connections whose body is sent in `parts` without a Content-Length
// (chunked); the answer with the socket it went on.
function chunkedOnAgent(node, agent, reqPath, parts) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: node.port, method: 'POST', path: reqPath, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), socket: req.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const part of parts.slice(0, -1)) req.write(part);
    req.end(parts.at(-1));
  });
}

test('forwarded requests with a chunked body keep both connections', { timeout: TIMEOUT_MS }, async () => {
  const { owner, others } = await ownerAndOther('kept-chunked');
  const via = others[0];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  const before = connectionsTo(owner.port);
  let n = (await ok(via, `/_do/${CLASS}/kept-chunked/get`)).n;
  try {
    for (let i = 1; i <= 6; i++) {
      // A body of a few chunks, one of them larger than what the forwarder passes at once.
      const parts = [`part ${i};`, 'x'.repeat(100000 * i), ';end'];
      const echo = await chunkedOnAgent(via, agent, `/_do/${CLASS}/kept-chunked/echo`, parts);
      assert.equal(echo.status, 200, echo.body);
      assert.equal(echo.headers['x-node'], owner.name);
      assert.equal(echo.body, parts.join(''));
      const added = await chunkedOnAgent(via, agent, `/_do/${CLASS}/kept-chunked/add`, ['1', '0']);
      n += 10;
      assert.deepEqual(JSON.parse(added.body), { node: owner.name, n, bytes: 2 });
      for (const answer of [echo, added]) sockets.add(answer.socket);
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sockets.size, 1, 'every request on one client connection');
  // Pipelined after chunked bodies (with a chunk extension, a trailer, and the last chunk in
  // the same read as the next request): served in order.
  const pipelined = await rawExchange(via.port,
    `POST /_do/${CLASS}/kept-chunked/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n` +
    '3;note=1\r\nfir\r\n2\r\nst\r\n0\r\nx-trailer: t\r\n\r\n' +
    `GET /_do/${CLASS}/kept-chunked/get HTTP/1.1\r\nhost: x\r\n\r\n` +
    `POST /_do/${CLASS}/kept-chunked/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n` +
    '4\r\nlast\r\n0\r\n\r\n',
    { count: 3 });
  assert.deepEqual(pipelined.map((r) => [r.status, r.body.toString()]),
    [[200, 'first'], [200, JSON.stringify({ node: owner.name, n })], [200, 'last']]);
  // 15 requests forwarded to the owner: on one kept connection (a second or third at most, if the
  // pool found one closed), not one connection each.
  const opened = connectionsOpenedSince(owner.port, before);
  assert.ok(opened <= 3, `${opened} connections to the owner's port`);
  // A chunked body that is not one (a chunk size that is no number): the owner's refusal reaches
  // the client (the connection then ends, as on the owner itself), and the forwarding node goes
  // on serving.
  const [broken] = await rawExchange(via.port,
    `POST /_do/${CLASS}/kept-chunked/add HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n1\r\n0\r\n\r\n`);
  assert.deepEqual([broken.status, broken.body.toString()], [400, '{"error":"Malformed HTTP request: bad chunk."}']);
  assert.deepEqual(await ok(via, `/_do/${CLASS}/kept-chunked/get`), { node: owner.name, n });
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
        // Until the victim's lease runs out, it is still the owner, and cannot be reached. (Its
        // runtime process dies just after the killed supervisor: a request it took as it died
        // has an unknown outcome.)
        assert.equal(res.status, 503, `${object}: ${res.status} ${res.body}`);
        assert.ok([UNAVAILABLE, UNKNOWN].includes(res.json().error), res.body);
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

// The key of the object named `name` of CLASS, as src/runtime/object_id.cc makes it: the id's
// first half is an HMAC of the name under the SHA-256 of "app/class", its second an HMAC of the
// first.
function objectKey(name) {
  const key = crypto.createHash('sha256').update(`default/${CLASS}`).digest();
  const first = crypto.createHmac('sha256', key).update(name).digest().subarray(0, 16);
  const check = crypto.createHmac('sha256', key).update(first).digest().subarray(0, 16);
  return `default\n${CLASS}\n${Buffer.concat([first, check]).toString('hex')}`;
}

test('a node that starts is live only once it serves: new objects that hashing gives it, asked for through the others meanwhile, are all answered', { timeout: TIMEOUT_MS }, async () => {
  // The killed node aside: a new node takes its place, while clients ask the two others for new
  // objects, each one that rendezvous hashing gives the new node once it is live.
  const ingress = nodes.slice(0, 2);
  const joined = [...ingress.map((n) => n.name), 'fwd-d'];
  const served = new Map();  // object name -> [node that ran it, the node asked]
  const refused = [];
  let running = true;
  let next = 0;
  const clients = [0, 1, 2, 3].map(async (c) => {
    while (running) {
      let name;
      do name = `joining-${next++}`; while (rendezvous(joined, objectKey(name)) !== 'fwd-d');
      const via = ingress[c % 2];
      const res = await via.request(`/_do/${CLASS}/${name}/incr`, { timeoutMs: 15000 });
      if (res.status === 200) served.set(name, [res.json().node, via]);
      else refused.push(`${name} through ${via.name}: ${res.status} ${res.text}`);
    }
  });
  let fresh;
  try {
    fresh = await startNode('fwd-d');
    nodes.push(fresh);
    // Both ingress nodes see the new lease within their directory's refresh (0.5 s).
    await sleep(1500);
  } finally {
    running = false;
    await Promise.all(clients);
  }
  assert.deepEqual(refused, []);
  const onFresh = [...served].filter(([, [node]]) => node === fresh.name);
  assert.ok(onFresh.length > 0, `objects placed on ${fresh.name}: ${served.size} served`);
  // Each object placed on the new node is its one owner: asked again through the other ingress,
  // the same count, written once; and PostgreSQL names it, under the key placement hashed.
  const owners = new Map(ownersOf().map(([object, node]) => [object, node]));
  for (const [name, [, via]] of onFresh.slice(0, 20)) {
    const other = ingress.find((n) => n !== via);
    assert.deepEqual(await ok(other, `/_do/${CLASS}/${name}/get`), { node: fresh.name, n: 1 });
    assert.equal(owners.get(objectKey(name)), fresh.name, name);
  }
});

test('values appended once through a non-owner stay unique while owners pause and die, on kept connections', { timeout: TIMEOUT_MS }, async () => {
  // The node started by the test above in place of the killed one.
  const ingress = nodes[0];
  const fresh = nodes.find((n) => n.name === 'fwd-d');
  assert.ok(fresh, 'fwd-d started');
  const pausable = nodes[1];
  // Objects owned by the two nodes that the faults hit, asked for through the third.
  const objects = [];
  // The ingress places objects on the new node only once it has seen the node's lease: bounded in
  // time, not in names tried (200 names took 0.4 s once, before the lease was seen).
  const placementDeadline = Date.now() + 20000;
  for (let i = 0; objects.filter((o) => o.owner === pausable).length < 3 || objects.filter((o) => o.owner === fresh).length < 3; i++) {
    assert.ok(Date.now() < placementDeadline, 'both nodes own some new objects within 20 s');
    if (i >= 20) await sleep(50);
    const listed = await ingress.request(`/_do/${CLASS}/unique-${i}/list`);
    assert.equal(listed.status, 200, listed.text);
    const { node } = listed.json();
    const owner = [pausable, fresh].find((n) => n.name === node);
    if (owner && objects.filter((o) => o.owner === owner).length < 3) objects.push({ name: `unique-${i}`, owner });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: objects.length });
  const outcomes = { acked: 0, unknown: 0, refused: 0 };
  const sent = new Map(objects.map((o) => [o.name, new Set()]));
  const acked = new Map(objects.map((o) => [o.name, []]));
  let running = true;
  const clients = objects.map(async ({ name }, c) => {
    for (let n = 0; running; n++) {
      const v = `${c}.${n}`;
      sent.get(name).add(v);
      const res = await ingress.request(`/_do/${CLASS}/${name}/append?v=${v}`, { method: 'POST', agent, timeoutMs: 15000 });
      if (res.status === 200) {
        assert.ok(res.json().list.includes(v), `${name}: the answer to appending ${v} lacks it`);
        acked.get(name).push(v);
        outcomes.acked++;
      } else {
        assert.equal(res.status, 503, `${name}: ${res.status} ${res.text}`);
        if (res.json().error === UNKNOWN) outcomes.unknown++;
        else outcomes.refused++;
        await sleep(50);
      }
    }
  });
  const pids = [pausable.proc.pid, pausable.runtimePid()];
  try {
    await sleep(1000);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    await sleep(3500);
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  await sleep(1000);
  await fresh.kill9();
  await sleep(3500);
  running = false;
  await Promise.all(clients);
  agent.destroy();
  // Each list, read through the two live nodes: the same, every value in it sent once and there
  // once, every acknowledged one there.
  for (const { name } of objects) {
    const lists = [];
    for (const node of [ingress, pausable]) {
      const res = await untilReached(() => node.request(`/_do/${CLASS}/${name}/list`), `${name} through ${node.name}`);
      assert.equal(res.status, 200, res.text);
      lists.push(res.json().list);
    }
    assert.deepEqual(lists[0], lists[1], name);
    const list = lists[0];
    assert.equal(new Set(list).size, list.length, `${name} holds a value twice: ${JSON.stringify(list)}`);
    for (const v of list) assert.ok(sent.get(name).has(v), `${name} holds ${v}, never sent`);
    for (const v of acked.get(name)) assert.ok(list.includes(v), `${name} lost the acknowledged ${v}`);
  }
  assert.ok(outcomes.acked > 50, JSON.stringify(outcomes));
  console.log(`appends: ${JSON.stringify(outcomes)}`);
});
