// Calls between objects across the nodes of a cluster (`dorm serve --cluster`): a stub's RPC
// call, a stub's fetch() and a Worker's call reach an object another node owns, with the values,
// errors, statuses and bodies a local call gives; the callee's state is one whichever node calls;
// the owner's internal endpoint refuses unsigned calls; and when the callee's node is killed, calls
// fail retryably and then reach the new owner within 5 s with every acknowledged write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, waitFor, describeCli } from './lib/dorm.mjs';
import { startPostgres, freePort } from './lib/postgres.mjs';

const APP = 'cluster-rpc';
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 300000 : 120000;

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
  const port = await freePort();
  const node = await startServer({
    listen: `127.0.0.1:${port}`,
    flags: ['--cluster', pg.url, '--node', name, '--advertise', `http://127.0.0.1:${port}`],
  });
  node.name = name;
  const deployed = await node.cli(['deploy', fixture('cluster-rpc/wrangler.toml')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  const set = await node.api('PUT', `/apps/${APP}/env/NODE_NAME`, { value: name });
  assert.ok(set.status === 201 || set.status === 200, `env: ${set.status} ${set.body}`);
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
  // What resolves only in the caller's process cannot cross: a clear error, not a hang.
  const fn = await run(nodes[0], pair.caller, pair.target, 'function');
  assert.equal(fn.threw, true);
  assert.equal(fn.message, 'Functions, RpcTargets and Durable Object stubs cannot be passed to a Durable Object on another node of the cluster.');
  const back = await run(nodes[0], pair.caller, pair.target, 'getFunction');
  assert.equal(back.threw, true);
  assert.equal(back.message, 'Functions, RpcTargets and Durable Object stubs cannot be returned by a Durable Object on another node of the cluster.');
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
  const thrown = await run(nodes[0], pair.caller, pair.target, 'fetchThrow');
  assert.equal(thrown.threw, true);
  assert.equal(thrown.name, 'RangeError');
  assert.equal(thrown.message, 'fetch handler failed');
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

test('the internal call endpoint refuses calls no node signed', { timeout: TIMEOUT_MS }, async () => {
  const call = Buffer.from(JSON.stringify({
    app: APP, class: 'Target', name: 'x', id: 'a'.repeat(64), method: 'count', httpMethod: '', url: '', headers: [],
  })).toString('base64');
  for (const node of nodes) {
    for (const target of ['/_dorm/internal/rpc', '/_dorm/internal/fetch']) {
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
