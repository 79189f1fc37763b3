// Calls between objects across the nodes of a cluster (`dorm serve --cluster`): a stub's RPC
// call, a stub's fetch() and a Worker's call reach an object another node owns, with the values,
// errors, statuses and bodies a local call gives; functions, RpcTargets (a Worker's too), stubs
// and streams cross both ways, and a WebSocket a callee's fetch() returns reaches the Worker's
// client on any node, also when a second object passes it on, as between objects of one node; the
// callee's state is one whichever node calls;
// the owner's internal endpoint refuses unsigned calls; and when the callee's node is killed, calls
// fail retryably and then reach the new owner within 5 s with every acknowledged write.
//
// The answers expected across nodes (values, thrown classes and flags, statuses, bodies) are those
// workerd gives for the same project in one process (recorded with workerd serve and the fixture
// in fixtures/cluster-rpc, NODE_NAME bound to a text), apart from the node names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { fixture, waitFor, describeCli, runtimePidOf } from './lib/dorm.mjs';
import { startPostgres } from './lib/postgres.mjs';
import { deployOnce, startClusterNode } from './lib/cluster.mjs';
import { WsClient } from './lib/ws.mjs';

const APP = 'cluster-rpc';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;
const PEER_TIMEOUT_S = 3;

let pg;
let nodes = [];
before(async () => {
  pg = await startPostgres();
  for (const name of ['rpc-a', 'rpc-b', 'rpc-c']) nodes.push(await startNode(name));
});
after(async () => {
  for (const node of nodes) if (!node.exitInfo) await node.stop();
  await pg?.stop();
});

async function startNode(name) {
  // A short wait for a hung node's sign of life (the default is 30 s), so that the SIGSTOP test
  // is quick; live nodes say they are working every second.
  const node = await startClusterNode(pg, name, { flags: ['--peer-timeout-seconds', String(PEER_TIMEOUT_S)] });
  await deployOnce(node, fixture('cluster-rpc/wrangler.toml'), { name: 'target', app: APP, project: true });
  return node;
}

function get(node, path, opts = {}) {
  return node.request(path, { ...opts, headers: { host: `${APP}.localhost:${node.port}`, ...(opts.headers ?? {}) } });
}

async function ok(node, path) {
  const res = await get(node, path);
  assert.equal(res.status, 200, `${node.name} ${path}: ${res.status} ${res.body}`);
  return res.json();
}

// Caller `caller` runs `op` on Target `to`, asked through `node`.
function run(node, caller, to, op) {
  return ok(node, `/caller/${caller}?to=${to}&op=${op}`);
}

// A caller and a target that different nodes own (each answer names the node that ran it).
async function crossPair(prefix) {
  for (let i = 0; i < 40; i++) {
    const answer = await run(nodes[i % nodes.length], `${prefix}-caller-${i}`, `${prefix}-target-${i}`, 'count');
    assert.ok(answer.caller && answer.callee, JSON.stringify(answer));
    if (answer.caller !== answer.callee) {
      return { caller: `${prefix}-caller-${i}`, target: `${prefix}-target-${i}`, callerNode: answer.caller, calleeNode: answer.callee };
    }
  }
  throw new Error('no caller and target on different nodes in 40 tries');
}

// A caller and a target that one node owns: what a call between them gives is the local answer.
async function samePair(prefix) {
  for (let i = 0; i < 40; i++) {
    const answer = await run(nodes[i % nodes.length], `${prefix}-caller-${i}`, `${prefix}-target-${i}`, 'count');
    if (answer.caller === answer.callee) {
      return { caller: `${prefix}-caller-${i}`, target: `${prefix}-target-${i}`, callerNode: answer.caller, calleeNode: answer.callee };
    }
  }
  throw new Error('no caller and target on one node in 40 tries');
}

test('RPC to an object on another node: arguments and results cross intact, errors keep class and message', { timeout: TIMEOUT_MS }, async () => {
  const pair = await crossPair('values');
  for (const node of nodes) {
    const got = await run(node, pair.caller, pair.target, 'values');
    assert.deepEqual(got, {
      caller: pair.callerNode, callee: pair.calleeNode,
      s: 'text ☃', i: 42, f: -1.5, big: '12345678901234567890', nested: { a: [1, 'two', null] },
      bytes: [0, 1, 254, 255], date: 1700000000000, map: [['k', 1], [2, 'v']], set: [1, 2], undef: true,
    });
  }
  const failed = await run(nodes[0], pair.caller, pair.target, 'fail');
  assert.deepEqual(failed, {
    caller: pair.callerNode, threw: true, name: 'TypeError', message: 'bad input', retryable: false, remote: true,
  });
});

test('functions, RpcTargets and Durable Object stubs cross nodes both ways: calls on them reach the node that holds them, disposal too', { timeout: TIMEOUT_MS }, async () => {
  const pair = await crossPair('refs');
  // Passed in: the callee calls back into the caller's node while the call runs.
  const called = await run(nodes[0], pair.caller, pair.target, 'function');
  assert.deepEqual(called, {
    caller: pair.callerNode, callee: pair.calleeNode,
    a: { node: pair.callerNode, v: 40 }, b: { node: pair.callerNode, n: 2 }, c: { node: pair.callerNode, n: 5 }, n: 5,
  });
  // Returned: the caller calls into the callee's node until it disposes them.
  const back = await run(nodes[1], pair.caller, pair.target, 'getFunction');
  assert.deepEqual(back, {
    caller: pair.callerNode, v: { node: pair.calleeNode, v: 2 },
    x: { node: pair.calleeNode, n: 4 }, y: { node: pair.calleeNode, n: 5 },
  });
  // Disposing the RpcTarget's stub: its Symbol.dispose ran on the callee's node.
  await waitFor(async () => (await run(nodes[2], pair.caller, pair.target, 'countersDisposed')).n === 1,
    { timeoutMs: 5000, intervalMs: 50, what: 'the returned RpcTarget disposed' });
  // Stubs: one passed in and one returned reach their object wherever it lives.
  const stubs = await run(nodes[0], pair.caller, pair.target, 'stubs');
  assert.equal(stubs.caller, pair.callerNode);
  assert.equal(stubs.callee, pair.calleeNode);
  assert.equal(stubs.passed, 5);
  assert.equal(stubs.back, 6);
  const other = await ok(nodes[1], `/count/${pair.target}-other`);
  assert.equal(other.n, 6);
  assert.equal(other.callee, stubs.otherNode);
});

test('ReadableStreams and WritableStreams cross nodes as arguments and results, with failures and cancels as on one node', { timeout: TIMEOUT_MS }, async () => {
  const cross = await crossPair('streams');
  const same = await samePair('streams-local');
  const local = await run(nodes[0], same.caller, same.target, 'streams');
  const got = await run(nodes[0], cross.caller, cross.target, 'streams');
  const chunks = (tag) => Array.from({ length: 20 }, (_, i) => `${tag}${i};`).join('');
  const disconnected = { name: 'Error', message: 'ReadableStream received over RPC disconnected prematurely.' };
  assert.deepEqual(got, {
    caller: cross.callerNode, callee: cross.calleeNode,
    arg: { text: chunks('c') }, result: { text: chunks('r') },
    // As on one node: the error empties the stream's queue before 'a' is read.
    failedResult: { text: '', error: disconnected }, failedArg: { text: '', error: disconnected },
    writer: cross.calleeNode, written: 'w0;w1;w2;w3;w4;', first: 'one',
    reason: { name: 'Error', message: 'Network connection lost.' },
  });
  assert.deepEqual({ ...got, caller: undefined, callee: undefined, writer: undefined },
    { ...local, caller: undefined, callee: undefined, writer: undefined }, 'as on one node');
  // 32 MiB made as pulled: the callee's node pulls only so far ahead of an idle reader, and the
  // reader's cancel reaches the callee's stream.
  const big = await run(nodes[1], cross.caller, cross.target, 'bigStream');
  assert.ok(big.bytes >= 1 << 20 && big.bytes < 32 << 20, `read ${big.bytes} bytes`);
  assert.ok(big.pulledBeforeReading < 256, `pulled ${big.pulledBeforeReading} chunks of 64 KiB ahead`);
  assert.equal(big.cancelled, true);
});

test('functions and RpcTargets a Worker passes to an object on another node are called back on the Worker\'s node, and disposed there', { timeout: TIMEOUT_MS }, async () => {
  // The Worker runs on the node asked: through the owner's node its exports are local, through
  // the others the callee's stubs name the Worker's node.
  const target = 'worker-fn-target';
  const owner = (await ok(nodes[0], `/add/${target}`)).callee;
  const expected = (worker) => ({
    worker, callee: owner, a: { node: worker, v: 20 }, b: { node: worker, n: 2 }, c: { node: worker, n: 5 },
    kept: { node: worker, n: 6 }, later: { node: worker, n: 16 }, disposer: owner, n: 16,
    disposedBefore: 1, disposed: 2, named: [{ node: worker, n: 2 }, { node: worker, n: 5 }],
  });
  for (const node of [...nodes.filter((n) => n.name === owner), ...nodes.filter((n) => n.name !== owner)]) {
    assert.deepEqual(await ok(node, `/workerFn/${target}`), expected(node.name), `through ${node.name}`);
  }
});

test("a WebSocket a stub's fetch() returns from an object on another node reaches the Worker's client", { timeout: TIMEOUT_MS }, async () => {
  const target = 'ws-target';
  const owner = (await ok(nodes[0], `/add/${target}`)).callee;
  for (const node of nodes) {
    // Through the owner's node the socket is local; through the others it is relayed.
    const client = await WsClient.open(`ws://127.0.0.1:${node.port}/ws/${target}`,
      { protocols: ['echo'], headers: { host: `${APP}.localhost:${node.port}` } });
    try {
      assert.equal(client.ws.protocol, 'echo');
      client.send(`hi from ${node.name}`);
      assert.equal(await client.next(), `${owner}:hi from ${node.name}`);
      client.send('again');
      assert.equal(await client.next(), `${owner}:again`);
    } finally {
      client.ws.close();
    }
  }
});

test("a WebSocket passed on through a second stub's fetch(): frames, close codes and reasons relay end to end, whichever nodes hold the objects", { timeout: TIMEOUT_MS }, async () => {
  // Target (its node holds the socket) <- Caller on another node (returns the socket it got) <-
  // the Worker of every node (the client's): through the Caller's node, the Target's, and the
  // third one.
  const pair = await crossPair('ws2');
  assert.equal(new Set(nodes.map((n) => n.name)).size, 3);
  for (const node of nodes) {
    const url = `ws://127.0.0.1:${node.port}/ws2/${pair.caller}?to=${pair.target}`;
    const headers = { host: `${APP}.localhost:${node.port}` };
    const client = await WsClient.open(url, { protocols: ['echo'], headers });
    try {
      assert.equal(client.ws.protocol, 'echo');
      client.send(`hi from ${node.name}`);
      assert.equal(await client.next(), `${pair.calleeNode}:hi from ${node.name}`);
      const big = 'x'.repeat(200000);
      client.send(big);
      assert.equal(await client.next(), `${pair.calleeNode}:${big}`);
      // The object closes: its code and reason reach the client.
      client.send(`close 4001 bye ${node.name}`);
      assert.deepEqual(await client.closed, { code: 4001, reason: `bye ${node.name}` });
    } finally {
      client.ws.terminate();
    }
    // The client closes: its code and reason reach the object.
    const second = await WsClient.open(url, { protocols: ['echo'], headers });
    second.send('ping');
    assert.equal(await second.next(), `${pair.calleeNode}:ping`);
    second.ws.close(4002, `from ${node.name}`);
    await waitFor(async () => (await ok(node, `/lastClose/${pair.target}`))?.reason === `from ${node.name}`,
      { timeoutMs: 5000, intervalMs: 50, what: "the client's close at the object" });
    assert.deepEqual(await ok(node, `/lastClose/${pair.target}`), { node: pair.calleeNode, code: 4002, reason: `from ${node.name}` });
    second.ws.terminate();
    // The client's connection breaks: the object hears 1006, as from a local client.
    const third = await WsClient.open(url, { protocols: ['echo'], headers });
    third.send('ping');
    assert.equal(await third.next(), `${pair.calleeNode}:ping`);
    third.ws.terminate();
    await waitFor(async () => (await ok(node, `/lastClose/${pair.target}`))?.code === 1006,
      { timeoutMs: 5000, intervalMs: 50, what: "the client's broken connection at the object" });
    assert.deepEqual(await ok(node, `/lastClose/${pair.target}`),
      { node: pair.calleeNode, code: 1006, reason: 'WebSocket disconnected without sending Close frame.' });
  }
});

test('stub.fetch() to an object on another node: status, status text, headers and bodies both ways', { timeout: TIMEOUT_MS }, async () => {
  const pair = await crossPair('fetch');
  const got = await run(nodes[1], pair.caller, pair.target, 'fetch');
  assert.deepEqual(got, {
    caller: pair.callerNode, callee: pair.calleeNode, status: 201, statusText: 'Made', got: 'yes',
    length: 100008, start: 'payload ',
  });
  const streamed = await run(nodes[2], pair.caller, pair.target, 'fetchStream');
  assert.deepEqual(streamed, {
    caller: pair.callerNode, callee: pair.calleeNode,
    text: Array.from({ length: 20 }, (_, i) => `chunk${i};`).join(''),
  });
  const missing = await run(nodes[0], pair.caller, pair.target, 'fetch404');
  assert.deepEqual(missing, { caller: pair.callerNode, status: 404, text: 'no such path' });
  // What would not fit in the owner's request head: an error of Dorm's own (on one node, or on
  // workerd, the request goes through).
  const big = await run(nodes[0], pair.caller, pair.target, 'fetchBigHeaders');
  assert.deepEqual(big, {
    caller: pair.callerNode, threw: true, name: 'Error', retryable: false, remote: false,
    message: "The request's URL and headers are too large to be sent to a Durable Object on another node of the cluster.",
  });
  const thrown = await run(nodes[0], pair.caller, pair.target, 'fetchThrow');
  assert.deepEqual(thrown, {
    caller: pair.callerNode, threw: true, name: 'RangeError', message: 'fetch handler failed', retryable: false, remote: true,
  });
});

test('one state whichever node calls: callers on every node and the Worker of every node', { timeout: TIMEOUT_MS }, async () => {
  const target = 'shared-target';
  let expected = 0;
  const callees = new Set();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < nodes.length; i++) {
      const answer = await run(nodes[i], `shared-caller-${round}-${i}`, target, 'add');
      expected += 1;
      assert.equal(answer.n, expected);
      callees.add(answer.callee);
      const viaWorker = await ok(nodes[i], `/add/${target}`);
      expected += 1;
      assert.equal(viaWorker.worker, nodes[i].name, 'the Worker runs on the node asked');
      assert.equal(viaWorker.n, expected);
      callees.add(viaWorker.callee);
    }
  }
  assert.equal(callees.size, 1, `one owner: ${[...callees]}`);
  for (const node of nodes) assert.equal((await ok(node, `/count/${target}`)).n, expected);
});

test('calls one object makes to an object on another node without awaiting each other start there in the order they were made', { timeout: TIMEOUT_MS }, async () => {
  // workerd delivers a stub's calls in order: `seen` is 0..39 after each round (recorded).
  const pair = await crossPair('order');
  for (let round = 0; round < 3; round++) {
    const got = await run(nodes[round], pair.caller, pair.target, 'ordered');
    assert.equal(got.caller, pair.callerNode);
    assert.equal(got.callee, pair.calleeNode);
    assert.equal(got.sent, 14 * 300000);
    assert.deepEqual(got.seen, Array.from({ length: 40 * (round + 1) }, (_, i) => i % 40));
  }
});

test('a named entrypoint of the Worker runs on the node that calls it and is owned by no node', { timeout: TIMEOUT_MS }, async () => {
  for (let round = 0; round < 2; round++) {
    for (const node of nodes) {
      const res = await get(node, `/named/r${round}`);
      assert.equal(res.status, 200, `${node.name}: ${res.status} ${res.text}`);
      assert.deepEqual(res.json(), { worker: node.name, got: { node: node.name, hello: `r${round}` } });
    }
  }
  const owned = pg.psql(`SELECT count(*) FROM owners WHERE split_part(object, chr(10), 2) LIKE '\\_worker%'`);
  assert.equal(owned, '0');
});

test('the internal call endpoint refuses calls no node signed', { timeout: TIMEOUT_MS }, async () => {
  const call = Buffer.from(JSON.stringify({
    app: APP, class: 'Target', name: 'x', id: 'a'.repeat(64), method: 'count', httpMethod: '', url: '', headers: [],
  })).toString('base64');
  for (const node of nodes) {
    for (const target of ['/_dorm/internal/rpc', '/_dorm/internal/fetch', '/_dorm/internal/stream',
      `/_dorm/internal/socket?${'0'.repeat(32)}`]) {
      const unsigned = await node.request(target, { method: 'POST', headers: { 'x-dorm-call': call }, body: '' });
      assert.equal(unsigned.status, 403, unsigned.text);
      assert.equal(unsigned.json().error, 'Internal calls between the nodes of the cluster are accepted only from a node of the cluster.');
      const forged = await node.request(target, {
        method: 'POST',
        headers: {
          'x-dorm-call': call,
          'x-dorm-forwarded': `1 ${Math.floor(Date.now() / 1000)} rpc-a -`,
          'x-dorm-forward-signature': '0'.repeat(64),
        },
        body: '',
      });
      assert.equal(forged.status, 403, forged.text);
    }
  }
});

// The headers a node sends with an internal call (see docs/contracts.md, "Calls between objects").
function internalHeaders(target, call, { secret, hops = 1, signedCall = call }) {
  const forwarded = `${hops} ${Math.floor(Date.now() / 1000)} rpc-test -`;
  const signedTarget = `${target}\n${signedCall}`;
  const message = `4:POST${signedTarget.length}:${signedTarget}${forwarded}`;
  return {
    'x-dorm-call': call,
    'x-dorm-forwarded': forwarded,
    'x-dorm-forward-signature': crypto.createHmac('sha256', secret).update(message).digest('hex'),
  };
}

test('a signed internal call: answered by the owner, 421 naming it elsewhere, 508 past the hop limit, 403 if its description was changed, 400 for another node\'s Worker, 410 for a WebSocket the node does not keep', { timeout: TIMEOUT_MS }, async () => {
  await ok(nodes[0], '/add/internal-target');
  const rows = pg.psql(`SELECT replace(object, chr(10), '/') || '|' || node FROM owners ` +
    `WHERE object LIKE '${APP}' || chr(10) || '%' AND lower(split_part(object, chr(10), 2)) = 'target' ` +
    `AND node IS NOT NULL ORDER BY object LIMIT 1`);
  assert.ok(rows, 'a Target object is owned');
  const [key, ownerName] = rows.split('\n')[0].split('|');
  const [app, cls, id] = key.split('/');
  const owner = nodes.find((n) => n.name === ownerName);
  const other = nodes.find((n) => n.name !== ownerName && !n.exitInfo);
  const secret = pg.psql('SELECT secret FROM cluster_secret');
  const target = '/_dorm/internal/fetch';
  const call = Buffer.from(JSON.stringify({
    app, class: cls, name: '', id, method: '', httpMethod: 'GET', url: 'http://target/nowhere', headers: [['x-a', 'b']],
  })).toString('base64');
  const answered = await owner.request(target, { method: 'POST', headers: internalHeaders(target, call, { secret }), body: '' });
  assert.equal(answered.status, 200, answered.text);
  assert.equal(answered.text, 'no such path');
  const meta = JSON.parse(Buffer.from(answered.headers['x-dorm-answer'], 'base64').toString());
  assert.equal(meta.status, 404);
  assert.equal(meta.outcome, 0);
  assert.equal(meta.flags, 0);
  const misdirected = await other.request(target, { method: 'POST', headers: internalHeaders(target, call, { secret }), body: '' });
  assert.equal(misdirected.status, 421, misdirected.text);
  assert.equal(misdirected.headers['x-dorm-owner'], ownerName);
  const looped = await owner.request(target, { method: 'POST', headers: internalHeaders(target, call, { secret, hops: 3 }), body: '' });
  assert.equal(looped.status, 508, looped.text);
  const changed = Buffer.from(JSON.stringify({
    app, class: cls, name: '', id, method: '', httpMethod: 'DELETE', url: 'http://target/nowhere', headers: [],
  })).toString('base64');
  const tampered = await owner.request(target, { method: 'POST', headers: internalHeaders(target, changed, { secret, signedCall: call }), body: '' });
  assert.equal(tampered.status, 403, tampered.text);
  // A call for a Worker's instance that is not this node's (or whose id is not its name's): 400.
  for (const name of [`thread-0@${other.name}`, `thread-0@${ownerName}`]) {
    const workerCall = Buffer.from(JSON.stringify({
      app, class: '_worker', name, id: 'a'.repeat(64), method: 'x', httpMethod: '', url: '', headers: [],
    })).toString('base64');
    const rpcTarget = '/_dorm/internal/rpc';
    const refused = await owner.request(rpcTarget, { method: 'POST', headers: internalHeaders(rpcTarget, workerCall, { secret }), body: '' });
    assert.equal(refused.status, 400, refused.text);
  }
  // A connection for a WebSocket the node does not keep (never made, taken, or expired): 410.
  const socketTarget = `/_dorm/internal/socket?${'0'.repeat(32)}`;
  const forwarded = `1 ${Math.floor(Date.now() / 1000)} rpc-test -`;
  const signed = `${socketTarget}\n`;
  const gone = await owner.request(socketTarget, {
    headers: {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'x-dorm-forwarded': forwarded,
      'x-dorm-forward-signature': crypto.createHmac('sha256', secret)
        .update(`3:GET${signed.length}:${signed}${forwarded}`).digest('hex'),
    },
  });
  assert.equal(gone.status, 410, gone.text);
});

test('a callee node that hangs (SIGSTOP) holds a call at most --peer-timeout-seconds: it then fails retryably, while the calls waiting on live nodes meanwhile go on', { timeout: TIMEOUT_MS }, async () => {
  // A caller and a callee on two different nodes, neither of them nodes[0] (whose Worker asks):
  // the Worker's call to the caller waits on a live node for longer than the peer timeout (that
  // node says it is working on it every third of it), the caller's call to the callee on the
  // hung node fails.
  let pair;
  for (let i = 0; i < 60 && !pair; i++) {
    const answer = await run(nodes[0], `hang-caller-${i}`, `hang-target-${i}`, 'count');
    if (answer.caller !== answer.callee && answer.callee !== nodes[0].name && answer.caller !== nodes[0].name) {
      pair = { caller: `hang-caller-${i}`, target: `hang-target-${i}`, callee: answer.callee };
    }
  }
  assert.ok(pair, 'a callee on another node than its caller and the Worker');
  const hung = nodes.find((n) => n.name === pair.callee);
  const pids = [hung.proc.pid, runtimePidOf(hung.proc.pid)];
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  const started = Date.now();
  let answer;
  try {
    const res = await get(nodes[0], `/caller/${pair.caller}?to=${pair.target}&op=add`, { timeoutMs: 60000 });
    assert.equal(res.status, 200, res.text);
    answer = res.json();
  } finally {
    for (const pid of pids) process.kill(pid, 'SIGCONT');
  }
  const elapsed = Date.now() - started;
  assert.deepEqual(answer, {
    caller: answer.caller, threw: true, name: 'Error', retryable: true, remote: false,
    message: "Durable Object's node did not answer in time; retry the request.",
  });
  assert.ok(elapsed >= PEER_TIMEOUT_S * 1000 - 100 && elapsed < PEER_TIMEOUT_S * 1000 + 10000, `failed after ${elapsed} ms`);
});

test('kill -9 of the callee\'s node: calls fail retryably, then reach the new owner within 5 s with every acknowledged write', { timeout: TIMEOUT_MS }, async () => {
  // A target whose owner is not rpc-a, called from a caller on rpc-a.
  let pair;
  for (let i = 0; i < 60 && !pair; i++) {
    const answer = await run(nodes[0], `kill-caller-${i}`, `kill-target-${i}`, 'count');
    if (answer.caller === 'rpc-a' && answer.callee !== 'rpc-a') pair = { caller: `kill-caller-${i}`, target: `kill-target-${i}`, callee: answer.callee };
  }
  assert.ok(pair, 'a caller on rpc-a and a target elsewhere');
  let acknowledged = 0;
  for (let i = 0; i < 5; i++) {
    const answer = await run(nodes[0], pair.caller, pair.target, 'add');
    assert.equal(answer.callee, pair.callee);
    acknowledged = answer.n;
  }
  assert.equal(acknowledged, 5);
  const victim = nodes.find((n) => n.name === pair.callee);
  await victim.kill9();
  const killedAt = Date.now();
  let failures = 0;
  let answer;
  await waitFor(async () => {
    answer = await run(nodes[0], pair.caller, pair.target, 'count');
    if (answer.threw) {
      assert.equal(answer.retryable, true, JSON.stringify(answer));
      failures += 1;
      return false;
    }
    return true;
  }, { timeoutMs: 10000, intervalMs: 100, what: 'the target served by a survivor' });
  const elapsed = Date.now() - killedAt;
  assert.ok(elapsed < 5000, `back after ${elapsed} ms`);
  assert.ok(failures > 0, 'calls failed while the victim\'s lease ran');
  assert.notEqual(answer.callee, victim.name);
  assert.equal(answer.n, acknowledged, 'every acknowledged write');
  const after = await run(nodes[0], pair.caller, pair.target, 'add');
  assert.equal(after.n, acknowledged + 1);
});
