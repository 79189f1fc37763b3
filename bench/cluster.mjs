// Durable writes in a cluster: the same Counter as bench.mjs, measured on one embedded server
// (no --cluster), on one cluster node and on three cluster nodes, all on loopback with a
// throwaway PostgreSQL (tests/e2e/lib/postgres.mjs); then the failover time. Prints a table and
// saves JSON (--out).
//
//   node bench/cluster.mjs [--dorm PATH] [--duration S] [--out FILE]
//
// Scenarios, for each setup:
//   one writer    durable increments of one object by one connection, one after the other: the
//                 latency a write gains from PostgreSQL (p50, p99)
//   one object    durable increments of one object at 64 connections
//   spread        durable increments spread over 1,000 objects at 64 connections
// With three nodes, the connections are split over the nodes (a third each, as a load balancer
// would), so that most requests are forwarded to the object's owner.
//
// Failover: with three nodes, a loop writes to an object through a surviving node every 20 ms;
// its owner is killed (SIGKILL); the time from the kill to the first acknowledged write after it
// is the failover time (median and worst of 5 objects).
//
// Numbers depend on the machine's load: this 2-core machine runs the servers, PostgreSQL and
// the load generator together. Timings never go into tests.
import fs from 'node:fs';
import path from 'node:path';
import { benchDir, runWrk, machineInfo, sleep, table, fmtRps, fmtMs } from './lib.mjs';
import { startPostgres } from '../tests/e2e/lib/postgres.mjs';
import { startClusterNode } from '../tests/e2e/lib/cluster.mjs';
import { startServer } from '../tests/e2e/lib/dorm.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
process.env.DORM_BIN = path.resolve(option('dorm', process.env.DORM_BIN ?? path.join(benchDir, '..', 'build', 'dorm')));
const DURATION = Number(option('duration', 10));
const OUT = option('out', null);
const counter = fs.existsSync(path.join(benchDir, '..', 'examples', 'counter.ts'))
  ? path.join(benchDir, '..', 'examples', 'counter.ts') : path.join(benchDir, 'counter.ts');

// wrk against `nodes`, `connections` split over them; increments of OBJECTS objects from PREFIX.
async function load(nodes, connections, objects, prefix) {
  const share = Math.max(1, Math.floor(connections / nodes.length));
  const runs = nodes.map((node) => runWrk(['-t', '1', '-c', String(share), '-d', `${DURATION}s`, '--latency',
    '-s', path.join(benchDir, 'counter.lua'), `http://127.0.0.1:${node.port}`, '--', 'POST', 'increment',
    String(objects), prefix], DURATION));
  const results = await Promise.all(runs);
  const rps = results.reduce((a, r) => a + r.rps, 0);
  const errors = results.reduce((a, r) => a + r.error_count, 0);
  if (errors > results.reduce((a, r) => a + r.requests, 0) / 100) {
    throw new Error(`${errors} of the requests failed: the setup is broken, not slow`);
  }
  // Percentiles of the busiest run stand for the whole (wrk reports no merged histogram).
  const p50 = Math.max(...results.map((r) => r.p50_ms));
  const p99 = Math.max(...results.map((r) => r.p99_ms));
  return { rps, p50_ms: p50, p99_ms: p99, errors };
}

async function scenarios(label, nodes) {
  // Warm: the objects exist and are owned before the timed runs.
  await load(nodes, 8, 1000, `${label}-spread`);
  await load(nodes, 1, 1, `${label}-one`);
  return {
    one_writer: await load(nodes.slice(0, 1), 1, 1, `${label}-one`),
    one_object: await load(nodes, 64, 1, `${label}-one`),
    spread: await load(nodes, 64, 1000, `${label}-spread`),
  };
}

async function deployCounter(node) {
  await node.deploy(counter, { name: 'counter' });  // public, as bench.mjs deploys it
}

const results = { machine: machineInfo(true), duration_s: DURATION, setups: {} };
const pg = await startPostgres();
try {
  {
    const server = await startServer();
    try {
      await deployCounter(server);
      results.setups.embedded = await scenarios('embedded', [server]);
    } finally { await server.stop(); }
  }
  {
    const node = await startClusterNode(pg, 'solo');
    try {
      await deployCounter(node);
      results.setups.cluster_1 = await scenarios('c1', [node]);
    } finally { await node.stop(); }
  }
  const nodes = [];
  try {
    for (const name of ['n1', 'n2', 'n3']) {
      const node = await startClusterNode(pg, name);
      await deployCounter(node);
      nodes.push(node);
    }
    results.setups.cluster_3 = await scenarios('c3', nodes);

    // Failover: objects owned by n3 (the probe class answers with the node that ran it), written
    // through n1 every 20 ms; n3 is killed.
    const probe = path.join(benchDir, '..', 'tests', 'e2e', 'fixtures', 'cluster_append.js');
    for (const node of nodes) {
      await node.deploy(probe, { name: 'probe' });
    }
    const victims = [];
    for (let i = 0; victims.length < 5 && i < 400; i++) {
      const res = await nodes[0].request(`/_do/probe/fo-${i}/append?v=0`, { method: 'POST' });
      if (res.status === 200 && res.json().node === 'n3') victims.push(`fo-${i}`);
    }
    const writers = victims.map((id) => ({ id, firstAfterKill: null, stop: false }));
    let killedAt = null;
    const loops = writers.map(async (w) => {
      while (!w.stop) {
        const res = await nodes[0].request(`/_do/probe/${w.id}/append?v=1`, { method: 'POST', timeoutMs: 2000 })
          .catch(() => ({ status: 0 }));
        if (res.status === 200 && killedAt !== null && w.firstAfterKill === null) {
          w.firstAfterKill = Date.now() - killedAt;
          w.stop = true;
        }
        await sleep(20);
      }
    });
    await sleep(500);
    killedAt = Date.now();
    await nodes[2].kill9();
    await Promise.race([Promise.all(loops), sleep(30000)]);
    for (const w of writers) w.stop = true;
    const times = writers.map((w) => w.firstAfterKill).filter((t) => t !== null).sort((a, b) => a - b);
    results.failover_ms = { objects: victims.length, recovered: times.length, median: times[Math.floor(times.length / 2)] ?? null, worst: times.at(-1) ?? null };
  } finally {
    for (const node of nodes) if (!node.exitInfo) await node.stop().catch(() => node.kill9());
  }
} finally {
  await pg.stop();
}

const rows = [];
for (const [scenario, title] of [['one_writer', 'one writer (1 conn)'], ['one_object', 'one object (64 conns)'], ['spread', 'spread 1,000 (64 conns)']]) {
  const cell = (setup) => {
    const r = results.setups[setup][scenario];
    return `${fmtRps(r.rps)}/s p50 ${fmtMs(r.p50_ms)} p99 ${fmtMs(r.p99_ms)}${r.errors ? ` (${r.errors} errors)` : ''}`;
  };
  rows.push([title, cell('embedded'), cell('cluster_1'), cell('cluster_3')]);
}
console.log(table(['durable increments', 'embedded', '1 cluster node', '3 cluster nodes'], rows));
const added = results.setups.cluster_1.one_writer.p50_ms - results.setups.embedded.one_writer.p50_ms;
console.log(`added latency per write (p50, one writer, 1 node): ${fmtMs(added)} ms`);
console.log(`failover (kill -9 of the owner to the first acknowledged write, ${results.failover_ms.objects} objects): ` +
  `median ${results.failover_ms.median} ms, worst ${results.failover_ms.worst} ms`);
if (OUT) fs.writeFileSync(OUT, JSON.stringify(results, null, 2));
