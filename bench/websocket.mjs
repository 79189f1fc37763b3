// WebSocket scenarios, side by side on workerd and on Dorm: broadcast fan-out in one room of 100
// clients, and server memory per idle hibernated connection. The class is
// bench/websocket-bench.js (Cloudflare's hibernating ChatRoom with a broadcast), run unchanged by
// both servers. Each run gets a freshly started server that is the only one alive, and the servers
// alternate run by run over several rounds. The clients are the `ws` package in several forked
// processes (websocket-client.mjs). Started by `bench/run.sh --websocket`, which checks the tools
// and raises the open-files limit.

import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, rootDir, log, sleep, parseBenchArgs, shownBinary, stopProcess, track, httpCall,
  spawnDorm, dormListening, dormDeploy, fmtRps, fmtMs, fmtRatio, ratio, table, machineInfo, finish,
  treeStats, benchOptions, killChildrenOnExit, logServerErrors, benchTempDir, makeClassWorkerd,
} from './lib.mjs';

const classFile = path.join(benchDir, 'websocket-bench.js');
const className = 'WebSocketBench';
const routeName = 'websocket-bench';

// ---------------------------------------------------------------------------------------------
// Options

const usage = `usage: bench/run.sh --websocket [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --rounds N            rounds; each runs every scenario once per server (default 2)
  --duration N          seconds of each measured broadcast run (default 10)
  --warmup N            seconds of broadcast before measuring (default 3)
  --clients N           clients in the broadcast room (default 100)
  --window N            messages each client keeps in flight (default 1)
  --client-procs N      client processes for the broadcast (default 2)
  --mem-conns LIST      connection counts of the memory scenario (default 1000,10000; 0 skips it)
  --mem-client-procs N  client processes for the memory scenario (default 4)
  --idle-wait N         seconds to wait after connecting before reading the memory (default 20;
                        workerd hibernates an object after about 10 s without events)
  --no-broadcast        skip the broadcast scenario
  --no-ws-warmup        read the memory baseline without first opening and closing 64 WebSockets
                        over 16 rooms and sending 2,000 requests (the figure then includes
                        one-time costs, see bench/README.md)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --hibernate-after-ms N  dorm serve --hibernate-after-ms (default 1000)
  --out FILE            where to write the JSON (default bench/results/websocket.json)
  --keep                keep the temporary folder (configs, data, server logs)`;

function parseArgs(argv) {
  const o = benchOptions('websocket', {
    rounds: 2,
    clients: 100,
    window: 1,
    clientProcs: 2,
    memConns: [1000, 10000],
    memClientProcs: 4,
    idleWait: 20,
    broadcast: true,
    wsWarmup: true,
    hibernateAfterMs: 1000,
  });
  return parseBenchArgs(argv, usage, o, (a, next, num) => {
    switch (a) {
      case '--rounds': o.rounds = num(a, next(), 1); return true;
      case '--clients': o.clients = num(a, next(), 1); return true;
      case '--window': o.window = num(a, next(), 1); return true;
      case '--client-procs': o.clientProcs = num(a, next(), 1); return true;
      case '--mem-conns': o.memConns = next().split(',').map((v) => num(a, v, 0)).filter((n) => n > 0); return true;
      case '--mem-client-procs': o.memClientProcs = num(a, next(), 1); return true;
      case '--idle-wait': o.idleWait = num(a, next(), 0); return true;
      case '--no-broadcast': o.broadcast = false; return true;
      case '--no-ws-warmup': o.wsWarmup = false; return true;
      case '--hibernate-after-ms': o.hibernateAfterMs = num(a, next(), 1); return true;
      default: return false;
    }
  });
}

killChildrenOnExit();

// ---------------------------------------------------------------------------------------------
// Client processes

// Forks n client processes; returns { run(cmd, perProcArgs(i)) -> replies, stop() }.
function startClients(n) {
  const procs = Array.from({ length: n }, () => track(fork(path.join(benchDir, 'websocket-client.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  let nextId = 0;
  const ask = (p, msg) => new Promise((resolve, reject) => {
    const id = nextId++;
    const onMsg = (m) => {
      if (m.id !== id) return;
      p.off('message', onMsg);
      p.off('exit', onExit);
      if (m.error) reject(new Error(m.error)); else resolve(m);
    };
    const onExit = (code) => reject(new Error(`client process exited with ${code}`));
    p.on('message', onMsg);
    p.once('exit', onExit);
    p.send({ ...msg, id });
  });
  return {
    pids: procs.map((p) => p.pid),
    run: (cmd, args) => Promise.all(procs.map((p, i) => ask(p, { cmd, ...args(i) }))),
    async stop() {
      for (const p of procs) { if (p.connected) p.disconnect(); }
      await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.once('exit', r)))));
    },
  };
}

// Opens `urls` spread in contiguous blocks over the client processes: { opened, failed, retried
// (handshakes that needed another try), firstError }; throws if any failed and `strict`.
async function connectAll(clients, nProcs, urls, strict = true) {
  const per = Math.ceil(urls.length / nProcs);
  const replies = await clients.run('connect', (i) => ({ urls: urls.slice(i * per, (i + 1) * per), first: i * per, concurrency: 32 }));
  const sum = (k) => replies.reduce((a, r) => a + r[k], 0);
  const res = { opened: sum('opened'), failed: sum('failed'), retried: sum('retried'), firstError: replies.find((r) => r.firstError)?.firstError ?? null };
  if (res.failed && strict) throw new Error(`${res.failed} of ${urls.length} WebSocket connections failed, the first: ${res.firstError}`);
  return res;
}

// ---------------------------------------------------------------------------------------------
// Servers

function makeWorkerd(tmp) {
  return makeClassWorkerd(tmp, { moduleFile: 'websocket-bench.js', className, route: routeName, binding: 'WEBSOCKET_BENCH', uniqueKey: 'dorm-bench-websocket' }, { freshData: true });
}

function makeDorm(tmp, o) {
  const bin = o.dormBin;
  let runs = 0;
  return {
    name: 'dorm',
    version: null,
    binary: bin,
    async start() {
      const dataDir = path.join(tmp, `dorm-data-${runs++}`);
      fs.mkdirSync(dataDir, { recursive: true });
      const logFile = path.join(tmp, 'dorm.log');
      const child = spawnDorm(bin, dataDir, o.dormThreads, logFile, ['--hibernate-after-ms', String(o.hibernateAfterMs)]);
      try {
        const baseUrl = await dormListening(child, logFile, 30000);
        dormDeploy(bin, classFile, routeName, dataDir, 60000);
        return { baseUrl, pid: child.pid, child, logFile };
      } catch (e) {
        await stopProcess(child);
        throw e;
      }
    },
  };
}

const roomPath = (room) => `/_do/${routeName}/${encodeURIComponent(room)}`;
const wsUrl = (baseUrl, room, user) => `${baseUrl.replace(/^http/, 'ws')}${roomPath(room)}?userId=${user}&username=user-${user}`;

// { instance, sockets } of a room, from a plain GET (which wakes the object if it hibernated).
async function roomInfo(agent, baseUrl, room) {
  const r = await httpCall(agent, 'GET', `${baseUrl}${roomPath(room)}`);
  if (r.status !== 200) throw new Error(`GET ${roomPath(room)}: status ${r.status}: ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body);
}

// Starts `server`, runs fn(proc, agent), stops it and the clients; an error is recorded, not thrown.
async function withServer(server, r, where, fn) {
  const agent = new http.Agent({ keepAlive: false });
  let proc = null;
  const cleanups = [];
  try {
    proc = await server.start();
    r.log_file = proc.logFile;
    await fn(proc, agent, cleanups);
  } catch (e) {
    r.errors.push(`${where}: ${e.message}`);
    log(`${r.server}: ERROR in ${where}: ${e.message}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    agent.destroy();
    if (proc) await stopProcess(proc.child);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

function percentileOfHist(hist, total, p) {
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const [bucket, count] of hist) {
    seen += count;
    if (seen >= rank) return (bucket + 0.5) * 0.01; // 10 µs buckets, in ms
  }
  return null;
}

// Broadcast fan-out: o.clients clients in one room, each keeping o.window messages of its own in
// flight; every message goes to every client.
async function runBroadcast(server, r, o, round) {
  await withServer(server, r, `broadcast round ${round}`, async (proc, agent, cleanups) => {
    const clients = startClients(o.clientProcs);
    cleanups.push(() => clients.stop());
    const urls = Array.from({ length: o.clients }, (_, i) => wsUrl(proc.baseUrl, 'broadcast', i));
    await connectAll(clients, o.clientProcs, urls);
    const startAt = Date.now() + 500;
    let serverCpu0 = null;
    const serverCpu = (async () => {
      await sleep(startAt + o.warmup * 1000 - Date.now());
      serverCpu0 = treeStats(proc.pid).cpu;
      await sleep(o.duration * 1000);
      return treeStats(proc.pid).cpu - serverCpu0;
    })();
    const replies = await clients.run('broadcast', () => ({
      startAt, warmupMs: o.warmup * 1000, durationMs: o.duration * 1000, window: o.window, text: 'hello from the benchmark',
    }));
    const serverCpuSeconds = await serverCpu;
    const merged = new Map();
    let received = 0;
    for (const rep of replies) {
      received += rep.received;
      for (const [b, c] of rep.hist) merged.set(b, (merged.get(b) ?? 0) + c);
    }
    const hist = [...merged.entries()].sort((a, b) => a[0] - b[0]);
    const closedEarly = replies.reduce((a, rep) => a + rep.closedEarly, 0);
    const res = {
      round,
      clients: o.clients,
      window: o.window,
      delivered: received,
      seconds: o.duration,
      msgs_per_s: received / o.duration,
      p50_ms: percentileOfHist(hist, received, 0.5),
      p99_ms: percentileOfHist(hist, received, 0.99),
      max_ms: hist.length ? (hist[hist.length - 1][0] + 1) * 0.01 : null,
      client_cpu_cores: replies.reduce((a, rep) => a + rep.cpuMicros, 0) / 1e6 / o.duration,
      client_procs: o.clientProcs,
      server_cpu_cores: serverCpuSeconds / o.duration,
      // Less sensitive than msgs/s to what else runs on the machine: the work per delivery.
      msgs_per_server_cpu_s: serverCpuSeconds > 0 ? received / serverCpuSeconds : null,
      closed_early: closedEarly,
      load_avg: os.loadavg()[0],
    };
    res.ok = received > 0 && closedEarly === 0;
    r.broadcast.push(res);
    log(`${r.server}: broadcast round ${round}: ${fmtRps(res.msgs_per_s)} msgs/s delivered, p50 ${fmtMs(res.p50_ms)} ms, ` +
      `p99 ${fmtMs(res.p99_ms)} ms; CPU cores: clients ${res.client_cpu_cores.toFixed(2)}, server ${res.server_cpu_cores.toFixed(2)}` +
      `${closedEarly ? `; ${closedEarly} sockets closed early` : ''}`);
    await clients.run('close', () => ({}));
  });
}

// Memory per idle hibernated connection: n connections in one room or one room each, on a fresh
// server warmed by one request to another object; RSS read before connecting and after o.idleWait
// seconds without events. Hibernation is verified on up to 5 rooms: the instance id drawn in the
// constructor must have changed and every socket must still be there.
async function runMemory(server, r, o, n, layout, round) {
  await withServer(server, r, `memory ${n} ${layout} round ${round}`, async (proc, agent, cleanups) => {
    const procs = Math.min(o.memClientProcs, n);
    const clients = startClients(procs);
    cleanups.push(() => clients.stop());
    await roomInfo(agent, proc.baseUrl, 'warm-up');
    if (o.wsWarmup) {
      // One-time costs stay out of the baseline: the WebSocket code paged in, the app's isolate
      // on every thread that the rooms may be placed on, and the JavaScript engine's optimizing
      // compiler, whose code (over 3 MiB of V8's) is paged in the first time a function is hot
      // enough to be optimized: 2,000 requests make the request path hot. Without them that
      // happened before the baseline in some runs and during the connections in others.
      const warm = Array.from({ length: 64 }, (_, i) => wsUrl(proc.baseUrl, `warm-${i % 16}`, i));
      await connectAll(clients, procs, warm);
      await clients.run('close', () => ({}));
      let left = 2000;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (left-- > 0) await roomInfo(agent, proc.baseUrl, 'warm-up');
      }));
      await sleep(3000);
    } else {
      await sleep(1000);
    }
    const base = treeStats(proc.pid).rss;
    const roomOf = (i) => (layout === 'one room' ? 'mem-room' : `mem-${i}`);
    const urls = Array.from({ length: n }, (_, i) => wsUrl(proc.baseUrl, roomOf(i), i));
    const t0 = Date.now();
    // A server that cannot take them all (out of descriptors, say) is measured with those it took.
    const { opened, failed, retried, firstError } = await connectAll(clients, procs, urls, false);
    const connectSeconds = (Date.now() - t0) / 1000;
    if (failed) log(`${r.server}: ${failed} of ${n} connections failed (measured with the ${opened} opened), the first: ${firstError}`);
    if (opened === 0) throw new Error('no connection opened');
    const sample = layout === 'one room' ? ['mem-room'] : [0, 1, 2, 3, 4].map((k) => roomOf(Math.floor((k * (n - 1)) / 4)));
    const before = await Promise.all(sample.map((room) => roomInfo(agent, proc.baseUrl, room)));
    const connected = treeStats(proc.pid).rss;
    let peak = connected;
    const waitEnd = Date.now() + o.idleWait * 1000;
    while (Date.now() < waitEnd) {
      await sleep(Math.min(1000, waitEnd - Date.now()));
      peak = Math.max(peak, treeStats(proc.pid).rss);
    }
    const idle = treeStats(proc.pid).rss;
    const after = await Promise.all(sample.map((room) => roomInfo(agent, proc.baseUrl, room)));
    const perRoom = layout === 'one room' ? opened : 1;
    const hibernated = sample.filter((_, k) => after[k].instance !== before[k].instance).length;
    const intact = sample.filter((_, k) => after[k].sockets === perRoom).length;
    const res = {
      round, connections: n, layout, ws_warmup: o.wsWarmup,
      connect_seconds: connectSeconds,
      handshakes_retried: retried,
      rss_baseline_bytes: base,
      rss_connected_bytes: connected,
      rss_peak_bytes: peak,
      rss_idle_bytes: idle,
      opened, failed, first_failure: firstError,
      per_connection_bytes: (idle - base) / opened,
      idle_wait_s: o.idleWait,
      sampled_rooms: sample.length,
      sampled_rooms_hibernated: hibernated,
      sampled_rooms_with_all_sockets: intact,
    };
    res.ok = failed === 0 && intact === sample.length;
    r.memory.push(res);
    log(`${r.server}: memory ${n} conns, ${layout}, round ${round}: ${(res.per_connection_bytes / 1024).toFixed(1)} KiB/conn ` +
      `(RSS ${(base / 2 ** 20).toFixed(1)} -> ${(idle / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB; ` +
      `connected in ${connectSeconds.toFixed(1)} s${retried ? `, ${retried} handshakes retried` : ''}); hibernated ${hibernated}/${sample.length} sampled rooms, sockets intact ${intact}/${sample.length}`);
    await clients.run('close', () => ({}));
  });
}

// ---------------------------------------------------------------------------------------------
// Report

const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const spread = (xs, f) => {
  const v = xs.filter((x) => x != null);
  return v.length ? `${f(Math.min(...v))}..${f(Math.max(...v))}` : '-';
};
const kib = (b) => (b == null ? '-' : (b / 1024).toFixed(1));

function report(results, o, memConfigs) {
  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  let allOk = true;
  if (o.broadcast) {
    console.log('');
    console.log(`Broadcast in one room of ${o.clients} clients, ${o.window} message(s) in flight per client, ${o.duration} s runs after ${o.warmup} s;`);
    console.log(`median of ${o.rounds} round(s) [min..max]; latency in ms from send to delivery; CPU in cores; ratio = Dorm/workerd`);
    const row = (r) => {
      const b = r?.broadcast ?? [];
      const col = (k) => b.map((x) => x[k]);
      return [r?.server ?? '-', `${fmtRps(median(col('msgs_per_s')))} [${spread(col('msgs_per_s'), fmtRps)}]`,
        `${fmtMs(median(col('p50_ms')))} [${spread(col('p50_ms'), fmtMs)}]`, `${fmtMs(median(col('p99_ms')))} [${spread(col('p99_ms'), fmtMs)}]`,
        (median(col('client_cpu_cores')) ?? 0).toFixed(2), (median(col('server_cpu_cores')) ?? 0).toFixed(2),
        fmtRps(median(col('msgs_per_server_cpu_s')))];
    };
    const c = {
      msgs_per_s: ratio(median(d?.broadcast.map((x) => x.msgs_per_s) ?? []), median(w?.broadcast.map((x) => x.msgs_per_s) ?? [])),
      p50: ratio(median(d?.broadcast.map((x) => x.p50_ms) ?? []), median(w?.broadcast.map((x) => x.p50_ms) ?? [])),
      p99: ratio(median(d?.broadcast.map((x) => x.p99_ms) ?? []), median(w?.broadcast.map((x) => x.p99_ms) ?? [])),
      msgs_per_server_cpu_s: ratio(median(d?.broadcast.map((x) => x.msgs_per_server_cpu_s) ?? []),
        median(w?.broadcast.map((x) => x.msgs_per_server_cpu_s) ?? [])),
    };
    comparison.broadcast = { dorm_over_workerd: c };
    console.log(table(['server', 'delivered msgs/s', 'p50 ms', 'p99 ms', 'client CPU', 'server CPU', 'msgs/server CPU s'],
      [row(w), row(d), ['ratio', fmtRatio(c.msgs_per_s), fmtRatio(c.p50), fmtRatio(c.p99), '', '', fmtRatio(c.msgs_per_server_cpu_s)]]));
  }
  if (memConfigs.length) {
    console.log('');
    console.log(`Memory per idle hibernated connection: (RSS after ${o.idleWait} s idle - RSS before connecting) / connections, KiB;`);
    console.log(`median of ${o.rounds} round(s) [min..max]; ratio = workerd/Dorm; 'hib' = sampled rooms seen hibernated,`);
    console.log(`and connections that failed to open, if any (the figure is then over those opened)`);
    const rows = [];
    comparison.memory = {};
    for (const [n, layout] of memConfigs) {
      const pick = (r) => (r?.memory ?? []).filter((m) => m.connections === n && m.layout === layout);
      const per = (r) => pick(r).map((m) => m.per_connection_bytes);
      const hib = (r) => pick(r).map((m) => `${m.sampled_rooms_hibernated}/${m.sampled_rooms}${m.failed ? ` (${m.failed} failed)` : ''}`).join(' ') || '-';
      const c = ratio(median(per(w)), median(per(d)));
      comparison.memory[`${n} ${layout}`] = { workerd_over_dorm: c };
      rows.push([`${n.toLocaleString('en-US')} conns, ${layout}`, `${kib(median(per(w)))} [${spread(per(w), kib)}]`, hib(w),
        `${kib(median(per(d)))} [${spread(per(d), kib)}]`, hib(d), fmtRatio(c)]);
    }
    console.log(table(['scenario', 'workerd KiB/conn', 'hib', 'dorm KiB/conn', 'hib', 'ratio'], rows));
  }
  console.log('');
  console.log('Checks');
  for (const r of [w, d]) {
    if (!r) continue;
    const bad = [...r.broadcast.filter((x) => !x.ok).map((x) => `broadcast round ${x.round}: ${x.closed_early} sockets closed early, ${x.delivered} delivered`),
      ...r.memory.filter((x) => !x.ok).map((x) => `memory ${x.connections} ${x.layout} round ${x.round}: ${x.failed} connections failed` +
        ` (${x.first_failure}); sockets intact in ${x.sampled_rooms_with_all_sockets}/${x.sampled_rooms} sampled rooms`),
      ...r.errors];
    for (const b of bad) console.log(`  ${r.server.padEnd(8)} FAILED  ${b.split('\n')[0]}`);
    if (!bad.length) console.log(`  ${r.server.padEnd(8)} ok      every run delivered and kept its sockets`);
    else allOk = false;
  }
  return { comparison, allOk };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = benchTempDir(o, 'dorm-bench-websocket-');
  const started = new Date();
  const machine = machineInfo(true);
  const results = {};
  const memConfigs = o.memConns.flatMap((n) => [[n, 'one room'], [n, 'room each']]);
  let failed = false;
  try {
    const servers = [];
    if (o.workerd) servers.push(makeWorkerd(tmp));
    if (o.dorm) servers.push(makeDorm(tmp, o));
    for (const server of servers) {
      results[server.name] = { server: server.name, version: server.version, binary: shownBinary(server.binary), broadcast: [], memory: [], errors: [], log_file: null };
    }
    // Every round runs each scenario once per server, alternating which server goes first.
    let k = 0;
    for (let round = 1; round <= o.rounds; round++) {
      const jobs = [];
      if (o.broadcast) jobs.push((s) => runBroadcast(s, results[s.name], o, round));
      for (const [n, layout] of memConfigs) jobs.push((s) => runMemory(s, results[s.name], o, n, layout, round));
      for (const job of jobs) {
        for (const server of k++ % 2 === 0 ? servers : [...servers].reverse()) await job(server);
      }
    }
    if (logServerErrors(servers, results)) failed = true;
  } catch (e) {
    console.error(`bench: ${e.stack ?? e}`);
    failed = true;
  }
  const { comparison, allOk } = report(results, o, memConfigs);
  machine.loadavg_at_end = os.loadavg();
  const json = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    options: {
      rounds: o.rounds, duration_s: o.duration, warmup_s: o.warmup, clients: o.clients, window: o.window, client_procs: o.clientProcs,
      mem_connections: o.memConns, mem_client_procs: o.memClientProcs, idle_wait_s: o.idleWait, dorm_threads: o.dormThreads,
      hibernate_after_ms: o.hibernateAfterMs,
    },
    machine,
    class_source: path.relative(rootDir, classFile),
    results,
    comparison,
    correct: allOk,
  };
  finish(o, json, tmp, !failed && allOk);
}

main();
