// Runs the Counter Durable Object on workerd and on Dorm, one server at a time, drives both with
// the same wrk scenarios on loopback, and prints a side-by-side table (also saved as JSON).
// Started by run.sh, which makes sure the npm dependencies are installed first.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  benchDir, rootDir, fail, log, sleep, parseBenchArgs, shownBinary, stopProcess, probeFsync,
  freePort, httpCall, pool, runWrk as runWrkArgs, track, dormDeploy, fmtRps, fmtMs, fmtRatio,
  ratio, table, machineInfo, finish, printChecks, treeStats, benchOptions, killChildrenOnExit,
  logServerErrors, makeDormServer, benchTempDir, makeClassWorkerd,
} from './lib.mjs';

// ---------------------------------------------------------------------------------------------
// Options

const usage = `usage: bench/run.sh [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3); a spread
                        scenario repeats it until each object was asked three times (at most
                        30 s)
  --wrk-threads N       wrk threads for the multi-connection runs (default 1; the server
                        under test needs the other core on a 2-core machine)
  --touch N             distinct objects touched for the memory scenario (default 10000)
  --touch-max-seconds N stop touching new objects after N seconds (default 90),
                        to bound the run when a server creates objects slowly
  --check N             increments sent for the correctness check (default 1000)
  --only KEY[,KEY...]   run only these throughput scenarios (keys as in the JSON, e.g.
                        increment_1obj_c64,increment_1000obj_c64,increment_10000obj_c64),
                        then the correctness checks; no nginx ceiling, no memory scenario
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/latest.json)
  --keep                keep the temporary folder (configs, data, server logs)
  --rounds N            run all of the above N times, then print each target's median
                        over the rounds with its range (bench/rounds.mjs)`;

function parseArgs(argv) {
  const o = benchOptions('latest', {
    touch: 10000,
    touchMaxSeconds: 90,
    check: 1000,
    only: null,
  });
  return parseBenchArgs(argv, usage, o, (a, next, num) => {
    switch (a) {
      case '--only': {
        o.only = next().split(',').filter(Boolean);
        const unknown = o.only.filter((k) => !scenarios.some((s) => s.key === k));
        if (unknown.length || !o.only.length) fail(`--only: unknown scenario ${unknown.join(', ')}; known: ${scenarios.map((s) => s.key).join(', ')}`);
        return true;
      }
      case '--touch': o.touch = num(a, next(), 1); return true;
      case '--touch-max-seconds': o.touchMaxSeconds = num(a, next(), 1); return true;
      case '--check': o.check = num(a, next(), 1); return true;
      default: return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

killChildrenOnExit();

// ---------------------------------------------------------------------------------------------
// HTTP client for the checks and the memory scenario (wrk only measures, it can't verify bodies).

async function getCount(agent, baseUrl, id) {
  const r = await httpCall(agent, 'GET', `${baseUrl}/_do/counter/${id}/get`);
  if (r.status !== 200) throw new Error(`GET ${id}/get: status ${r.status}: ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body).count;
}


// ---------------------------------------------------------------------------------------------
// wrk

function runWrk(baseUrl, s, seconds, threads) {
  const t = Math.max(1, Math.min(threads, s.connections));
  const args = ['-t', String(t), '-c', String(s.connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--',
    s.method, s.action, String(s.objects), s.prefix];
  return runWrkArgs(args, seconds).then((r) => ({ ...r, wrk_threads: t }));
}

// The longest warm-up of a spread scenario (see throughputPhase).
const SPREAD_WARMUP_MAX_SECONDS = 30;

// The throughput scenarios, in the order they run. `bench` is the single hot object.
const scenarios = [
  { key: 'increment_1obj_c1', label: 'POST increment, 1 object, 1 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 1 },
  { key: 'increment_1obj_c16', label: 'POST increment, 1 object, 16 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 16 },
  { key: 'increment_1obj_c64', label: 'POST increment, 1 object, 64 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 64 },
  { key: 'increment_1000obj_c64', label: 'POST increment, 1000 objects, 64 conn', method: 'POST', action: 'increment', objects: 1000, prefix: 'spread', connections: 64 },
  { key: 'increment_10000obj_c64', label: 'POST increment, 10000 objects, 64 conn', method: 'POST', action: 'increment', objects: 10000, prefix: 'spread10k', connections: 64 },
  // The first request to a new object each time (its activation and first durable write): ids
  // that no run has used, more than a run can reach (`fresh`: not loaded beforehand; the warm-up
  // and the measured run each take ids of their own).
  { key: 'increment_new_c64', label: 'POST increment, a new object each, 64 conn', method: 'POST', action: 'increment', objects: 300000, prefix: 'new', connections: 64, fresh: true },
  { key: 'get_1obj_c64', label: 'GET, 1 object, 64 conn', method: 'GET', action: 'get', objects: 1, prefix: 'bench', connections: 64 },
];

// ---------------------------------------------------------------------------------------------
// Servers

function counterSource() {
  const candidates = [path.join(rootDir, 'examples', 'counter.ts'), path.join(benchDir, 'counter.ts')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) fail(`no Counter class found (looked at ${candidates.join(', ')})`);
  return found;
}

// The counter is TypeScript: bundled for workerd as Wrangler would.
function makeWorkerd(tmp) {
  const cls = { moduleFile: 'counter.js', className: 'Counter', route: 'counter', binding: 'COUNTER', uniqueKey: 'dorm-bench-counter' };
  return makeClassWorkerd(tmp, cls, {
    source: counterSource(),
    build(from, to) {
      const esbuild = spawnSync('esbuild', [from, `--outfile=${to}`, '--log-level=warning'], { encoding: 'utf8' });
      if (esbuild.status !== 0) fail(`esbuild failed: ${esbuild.error ?? ''}${esbuild.stderr}`);
    },
  });
}

// The class is deployed once; a restart on the same data folder must still serve it.
function makeDorm(tmp, o) {
  return makeDormServer(tmp, o, (dataDir) => dormDeploy(o.dormBin, counterSource(), 'counter', dataDir, 60000));
}

// ---------------------------------------------------------------------------------------------
// The physical ceiling: nginx answering the GET scenario with a constant body (no object, no
// storage), on as many worker processes as Dorm has threads. What a request costs the machine
// with a mature event-driven HTTP server and no application at all.

const nginxCandidates = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

async function nginxCeiling(tmp, o) {
  const bin = nginxCandidates.find((f) => fs.existsSync(f));
  if (!bin) {
    log('nginx: not installed (scripts/install-deps.sh installs nginx-light); no ceiling measured');
    return null;
  }
  const dir = path.join(tmp, 'nginx');
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const temp = (name) => `${name} ${path.join(dir, name)};`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), `worker_processes ${o.dormThreads};
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  ${temp('client_body_temp_path')} ${temp('proxy_temp_path')} ${temp('fastcgi_temp_path')} ${temp('uwsgi_temp_path')} ${temp('scgi_temp_path')}
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { default_type application/json; return 200 '{"count":0}'; }
  }
}
`);
  const version = spawnSync(bin, ['-v'], { encoding: 'utf8' }).stderr.trim();
  const child = track(spawn(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true }));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const result = { server: 'nginx', version, binary: bin, scenarios: {}, errors: [] };
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    const agent = new http.Agent({ keepAlive: false });
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
      try { up = (await httpCall(agent, 'GET', `${baseUrl}/_do/counter/bench/get`)).status === 200; } catch { await sleep(100); }
    }
    agent.destroy();
    if (!up) throw new Error(`nginx did not answer on ${baseUrl}: ${stderr}`);
    const s = scenarios.find((x) => x.key === 'get_1obj_c64');
    if (o.warmup > 0) await runWrk(baseUrl, s, o.warmup, o.wrkThreads);
    const cpuBefore = treeStats(child.pid).cpu;
    const res = await runWrk(baseUrl, s, o.duration, o.wrkThreads);
    res.server_cpu_us_per_request = ((treeStats(child.pid).cpu - cpuBefore) * 1e6) / Math.max(1, res.requests);
    result.scenarios[s.key] = res;
    log(`nginx: ${s.label} (constant body): ${fmtRps(res.rps)} req/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms, ` +
      `server CPU ${res.server_cpu_us_per_request.toFixed(1)} µs/req`);
  } catch (e) {
    result.errors.push(e.message);
    log(`nginx: ERROR: ${e.message}`);
  } finally {
    await stopProcess(child);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The runs

function newResult(server) {
  return { server: server.name, version: server.version, binary: shownBinary(server.binary), scenarios: {}, memory: null, correctness: {}, errors: [], disk: {}, log_file: null };
}

function failWith(result, where, e) {
  result.errors.push(`${where}: ${e.message}`);
  log(`${result.server}: ERROR in ${where}: ${e.message}`);
}

// Throughput, latency and the count checks. Each scenario runs on one server, then on the other,
// so that both meet about the same machine and disk conditions (the fsync latency of a shared
// virtual disk drifts over minutes). Each run gets a freshly started server and is the only
// server process alive, so that neither server's background work (evicting idle objects,
// checkpointing) lands in the other's measurement. The data folders persist across the restarts.
async function throughputPhase(servers, results, o) {
  const state = new Map(servers.map((server) => [server, { failed: false, checked: false, benchSum: 0, benchSlack: 0 }]));
  for (const server of servers) {
    const r = results[server.name];
    r.disk.before = probeFsync(server.dataDir);
    log(`${server.name}: data on ${r.disk.before.filesystem}, 4 KiB append+fsync p50 ${fmtMs(r.disk.before.p50_ms)} ms`);
  }

  // Starts `server`, runs fn(proc, agent, st), stops it again; marks the server failed on error.
  const withServer = async (server, where, fn) => {
    const st = state.get(server);
    const r = results[server.name];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    let proc = null;
    try {
      proc = await server.start();
      r.log_file = proc.logFile;
      if (!st.checked) {
        st.checked = true;
        const first = await getCount(agent, proc.baseUrl, 'bench');
        if (first !== 0) throw new Error(`fresh object reports count ${first}, expected 0`);
        const notFound = await httpCall(agent, 'GET', `${proc.baseUrl}/_do/counter/bench/nope`);
        r.correctness.unknown_path_404 = notFound.status === 404;
      }
      await fn(proc, agent, st, r);
    } catch (e) {
      failWith(r, where, e);
      st.failed = true;
    } finally {
      agent.destroy();
      if (proc) await stopProcess(proc.child);
    }
  };

  for (const [k, s] of scenarios.entries()) {
    if (o.only && !o.only.includes(s.key)) continue;
    // Alternate which server goes first, so that neither always runs right after the other.
    const order = k % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) {
      if (state.get(server).failed) continue;
      const countsOnHot = s.prefix === 'bench' && s.action === 'increment';
      await withServer(server, s.key, async (proc, agent, st, r) => {
        if (s.objects > 1 && !s.fresh) {
          // Load every object once first, so that the run measures objects that are already
          // live rather than how fast a server creates them (the memory scenario shows that).
          // A write scenario's objects are loaded by a write: a read of an object that has never
          // written creates no storage on Dorm, so each object's first increment in the run would
          // create its database (at 10,000 objects, nearly every request of a 5 s run).
          await pool(s.objects, 32, async (i) => {
            const id = `${s.prefix}-${i}`;
            if (s.action !== 'increment') return getCount(agent, proc.baseUrl, id);
            const r = await httpCall(agent, 'POST', `${proc.baseUrl}/_do/counter/${id}/increment`);
            if (r.status !== 200) throw new Error(`POST ${id}/increment: status ${r.status}: ${r.body.slice(0, 200)}`);
          });
        }
        // A spread scenario warms up until every object has been asked about three times
        // (round-robin), in warm-up runs of `o.warmup` seconds, for at most
        // SPREAD_WARMUP_MAX_SECONDS: the first requests after the loading above meet objects in a
        // state the run is not about (Dorm closes a connection used once after 1 s of disuse and
        // keeps one used again open for 5 s, so that at 10,000 objects each object's first
        // request or two open its database again; see README, "Benchmark").
        const warmupRequests = s.objects > 1 && !s.fresh ? 3 * s.objects : 0;
        const warmupStarted = Date.now();
        let warmed = 0;
        while (o.warmup > 0) {
          const w = await runWrk(proc.baseUrl, s.fresh ? { ...s, prefix: `${s.prefix}-warm` } : s, o.warmup, o.wrkThreads);
          if (countsOnHot) { st.benchSum += w.requests - w.errors.status; st.benchSlack += s.connections + w.error_count; }
          warmed += w.requests;
          if (warmed >= warmupRequests || Date.now() - warmupStarted >= SPREAD_WARMUP_MAX_SECONDS * 1000) break;
        }
        const warmupSeconds = (Date.now() - warmupStarted) / 1000;
        const disk = probeFsync(server.dataDir, 20);
        const cpuBefore = treeStats(proc.pid).cpu;
        const res = await runWrk(proc.baseUrl, s.fresh ? { ...s, prefix: `${s.prefix}-run` } : s, o.duration, o.wrkThreads);
        if (s.fresh && res.requests > s.objects) {
          log(`${r.server}: note: ${s.label}: ${res.requests} requests went round ${s.objects} ids, so some objects were not new`);
        }
        res.server_cpu_us_per_request = ((treeStats(proc.pid).cpu - cpuBefore) * 1e6) / Math.max(1, res.requests);
        if (countsOnHot) { st.benchSum += res.requests - res.errors.status; st.benchSlack += s.connections + res.error_count; }
        res.disk_fsync_p50_ms_before = disk.p50_ms;
        res.warmup_requests = warmed;
        res.warmup_seconds = warmupSeconds;
        r.scenarios[s.key] = res;
        log(`${r.server}: ${s.label}: ${fmtRps(res.rps)} req/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms` +
          `, server CPU ${res.server_cpu_us_per_request.toFixed(1)} µs/req` +
          `${res.error_count ? `, ${res.error_count} errors ${JSON.stringify(res.errors)}` : ''} (disk fsync p50 ${fmtMs(disk.p50_ms)} ms` +
          `${warmupRequests ? `; warm-up ${warmed} requests in ${warmupSeconds.toFixed(1)} s` : ''})`);
      });
    }
  }

  for (const server of servers) {
    if (state.get(server).failed) continue;
    await withServer(server, 'correctness', async (proc, agent, st, r) => {
      // The hot object's count must lie between what wrk saw answered and that plus what may
      // have been cut off in flight when each run ended; it was written across restarts.
      const benchCount = await getCount(agent, proc.baseUrl, 'bench');
      r.correctness.hot_object = {
        count: benchCount, answered_increments: st.benchSum, max_in_flight_at_cutoffs: st.benchSlack,
        ok: benchCount >= st.benchSum && benchCount <= st.benchSum + st.benchSlack,
      };
      // Exact check: N concurrent increments on a fresh object; every response must carry a
      // distinct value (get and put ran without interleaving), and the final count must be N.
      const n = o.check;
      const seen = new Set();
      let bad = 0;
      await pool(n, 16, async () => {
        const res = await httpCall(agent, 'POST', `${proc.baseUrl}/_do/counter/check/increment`);
        if (res.status !== 200) { bad++; return; }
        seen.add(JSON.parse(res.body).count);
      });
      const final = await getCount(agent, proc.baseUrl, 'check');
      r.correctness.exact_increments = {
        sent: n, final_count: final, distinct_values: seen.size, failed_requests: bad,
        ok: final === n && seen.size === n && bad === 0,
      };
      log(`${r.server}: correctness: ${n} increments -> count ${final}, ${seen.size} distinct values, ${bad} failed; ` +
        `hot object ${benchCount} (answered ${st.benchSum}, +${st.benchSlack} at most in flight)`);
    });
    results[server.name].disk.after = probeFsync(server.dataDir);
  }
}

// Memory, one server at a time on a fresh process over the same data folder, so that what the
// throughput runs left on the heap does not count, and the counts written before must survive.
// Seconds after the last touch of the memory scenario's "idle" reading.
const IDLE_READING_SECONDS = 5;
async function memoryPhase(server, r, o) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // Creating an object writes to disk, so the touch rate depends on the disk's state too.
  const diskBefore = probeFsync(server.dataDir);
  log(`${server.name}: starting for the memory scenario (4 KiB append+fsync p50 ${fmtMs(diskBefore.p50_ms)} ms)`);
  let proc = null;
  try {
    proc = await server.start();
    r.log_file = proc.logFile;
    const persisted = await getCount(agent, proc.baseUrl, 'check');
    r.correctness.persisted_after_restart = { expected: o.check, count: persisted, ok: persisted === o.check };
    // A few requests to one object first, so that the baseline already has the class loaded.
    for (let i = 0; i < 20; i++) await getCount(agent, proc.baseUrl, 'warm');
    await sleep(1000);
    const before = treeStats(proc.pid);
    let peak = before.rss;
    const sampler = setInterval(() => { peak = Math.max(peak, treeStats(proc.pid).rss); }, 200);
    const t0 = process.hrtime.bigint();
    let wrong = 0;
    let failed = 0;
    // A server may evict objects that sat idle while the rest were being touched, so the RSS after
    // all of them can count fewer resident objects than were touched. A reading taken right after
    // the first `early` objects, seconds into the run, shows the cost of objects that are all
    // still resident.
    const early = Math.min(1000, o.touch);
    let answered = 0;
    let earlyReading = null;
    let firstFailure = null;
    const touched = await pool(o.touch, 32, async (i) => {
      // A failed request is counted, not fatal, so that a server that runs out of something
      // (memory, file descriptors) still gets its figures and its failure count reported.
      const res = await httpCall(agent, 'POST', `${proc.baseUrl}/_do/counter/touch-${i}/increment`)
        .catch((e) => ({ status: 0, body: e.message }));
      if (++answered === early) {
        earlyReading = { objects: early, rss_bytes: treeStats(proc.pid).rss, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
        earlyReading.per_object_bytes = (earlyReading.rss_bytes - before.rss) / early;
      }
      if (res.status !== 200) {
        if (failed++ === 0) firstFailure = `touch-${i}: ${res.status || 'no response'}: ${res.body.slice(0, 200)}`;
        return;
      }
      if (JSON.parse(res.body).count !== 1) wrong++;
    }, Date.now() + o.touchMaxSeconds * 1000);
    if (firstFailure) log(`${server.name}: ${failed} touches failed; the first: ${firstFailure}`);
    if (touched < o.touch) log(`${server.name}: note: only ${touched} of ${o.touch} objects touched within ${o.touchMaxSeconds} s; figures are per touched object`);
    const touchSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    await sleep(1000);
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`the server exited (${proc.child.exitCode ?? proc.child.signalCode}) while objects were being touched ` +
        `(${failed} of ${touched} touches failed${firstFailure ? `; the first: ${firstFailure}` : ''})`);
    }
    const after = treeStats(proc.pid);
    peak = Math.max(peak, after.rss);
    // The same objects, idle for a few seconds more: still resident on both servers (workerd
    // evicts after about 10 s idle), but a server may by then have released what only active
    // objects need (Dorm closes a database connection unused for 1 s).
    await sleep(IDLE_READING_SECONDS * 1000 - 1000);
    const idle = { seconds_after_last_touch: IDLE_READING_SECONDS, rss_bytes: treeStats(proc.pid).rss };
    idle.per_object_bytes = (idle.rss_bytes - before.rss) / touched;
    r.memory = {
      touched,
      rss_before_bytes: before.rss,
      rss_after_bytes: after.rss,
      rss_peak_bytes: peak,
      processes: after.processes,
      delta_bytes: after.rss - before.rss,
      per_object_bytes: (after.rss - before.rss) / touched,
      touch_seconds: touchSeconds,
      touch_rps: touched / touchSeconds,
      stopped_by_time_limit: touched < o.touch,
      disk: diskBefore,
      early: earlyReading,
      idle,
    };
    r.correctness.touched_objects = { touched, failed_requests: failed, first_failure: firstFailure, wrong_counts: wrong, ok: failed === 0 && wrong === 0 };
    log(`${server.name}: memory: ${fmtMiB(before.rss)} -> ${fmtMiB(after.rss)} MiB after ${touched} objects ` +
      `(${fmtKiB(r.memory.per_object_bytes)} KiB/object, ${fmtKiB(idle.per_object_bytes)} after ${IDLE_READING_SECONDS} s idle, peak ${fmtMiB(peak)} MiB, ${fmtRps(r.memory.touch_rps)} new objects/s` +
      `${earlyReading ? `; ${fmtKiB(earlyReading.per_object_bytes)} KiB/object after the first ${early} in ${earlyReading.seconds.toFixed(1)} s` : ''})`);
  } catch (e) {
    failWith(r, 'memory', e);
  } finally {
    agent.destroy();
    if (proc) await stopProcess(proc.child);
  }
}
// ---------------------------------------------------------------------------------------------
// Report

const fmtMiB = (b) => (b == null ? '-' : (b / 1048576).toFixed(1));
const fmtKiB = (b) => (b == null ? '-' : (b / 1024).toFixed(2));

function report(results, o) {
  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  const rows = [];
  for (const s of scenarios) {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    const c = {
      rps: ratio(ds?.rps, ws?.rps),
      p50: ratio(ds?.p50_ms, ws?.p50_ms),
      p99: ratio(ds?.p99_ms, ws?.p99_ms),
    };
    comparison[s.key] = { dorm_over_workerd: c };
    rows.push([s.label,
      fmtRps(ws?.rps), fmtMs(ws?.p50_ms), fmtMs(ws?.p99_ms),
      fmtRps(ds?.rps), fmtMs(ds?.p50_ms), fmtMs(ds?.p99_ms),
      fmtRatio(c.rps), fmtRatio(c.p50), fmtRatio(c.p99)]);
  }
  console.log('');
  console.log(`Throughput and latency (${o.duration} s runs after ${o.warmup} s warm-up; latency in ms; ratio = Dorm/workerd)`);
  for (const r of [w, d]) {
    if (r?.disk?.before) {
      console.log(`(${r.server}: data on ${r.disk.before.filesystem}; 4 KiB append+fsync p50 ${fmtMs(r.disk.before.p50_ms)} ms before the runs, ${fmtMs(r.disk.after?.p50_ms)} ms after)`);
    }
  }
  console.log('(req/s ratio above 1 and latency ratios below 1 mean Dorm is ahead)');
  console.log(table(['scenario', 'workerd req/s', 'p50', 'p99', 'dorm req/s', 'p50', 'p99', 'req/s ratio', 'p50 ratio', 'p99 ratio'], rows));

  const fmtCpu = (x) => (x == null ? '-' : x.toFixed(1));
  console.log('');
  console.log('Server CPU per request (user + system time of the server\'s processes during the measured run, µs)');
  console.log(table(['scenario', 'workerd', 'dorm'], scenarios.map((s) => [s.label,
    fmtCpu(w?.scenarios[s.key]?.server_cpu_us_per_request), fmtCpu(d?.scenarios[s.key]?.server_cpu_us_per_request)])));

  const n = results.nginx?.scenarios.get_1obj_c64;
  if (n) {
    const ds = d?.scenarios.get_1obj_c64;
    const c = { rps: ratio(ds?.rps, n.rps), cpu: ratio(ds?.server_cpu_us_per_request, n.server_cpu_us_per_request) };
    comparison.get_1obj_c64.dorm_over_nginx = c;
    console.log('');
    console.log(`Ceiling: nginx answering the same GET with a constant body, ${o.dormThreads} worker processes`);
    console.log(table(['server', 'req/s', 'p50', 'p99', 'CPU µs/req'], [
      ['nginx', fmtRps(n.rps), fmtMs(n.p50_ms), fmtMs(n.p99_ms), fmtCpu(n.server_cpu_us_per_request)],
      ['dorm', fmtRps(ds?.rps), fmtMs(ds?.p50_ms), fmtMs(ds?.p99_ms), fmtCpu(ds?.server_cpu_us_per_request)],
    ]));
    console.log(`Dorm/nginx: ${fmtRatio(c.rps)} of nginx's req/s, ${fmtRatio(c.cpu)} its CPU per request`);
  }

  const wm = w?.memory;
  const dm = d?.memory;
  const memRatio = ratio(wm?.per_object_bytes, dm?.per_object_bytes);
  const earlyRatio = ratio(wm?.early?.per_object_bytes, dm?.early?.per_object_bytes);
  const idleRatio = ratio(wm?.idle?.per_object_bytes, dm?.idle?.per_object_bytes);
  comparison.memory = { workerd_over_dorm_per_object: memRatio, workerd_over_dorm_per_object_early: earlyRatio, workerd_over_dorm_per_object_idle: idleRatio };
  console.log('');
  console.log(`Memory (RSS of the server's processes, before and after touching ${o.touch} new objects once each; ratio = workerd/Dorm per object)`);
  const memRow = (name, m) => [name, m?.touched ?? '-', fmtMiB(m?.rss_before_bytes), fmtMiB(m?.rss_after_bytes), fmtMiB(m?.rss_peak_bytes),
    fmtMiB(m?.delta_bytes), fmtKiB(m?.per_object_bytes), fmtKiB(m?.idle?.per_object_bytes), fmtRps(m?.touch_rps), m?.touch_seconds == null ? '-' : m.touch_seconds.toFixed(1),
    fmtKiB(m?.early?.per_object_bytes), m?.early ? m.early.seconds.toFixed(1) : '-'];
  const early = Math.min(1000, o.touch);
  console.log(table(['server', 'touched', 'before MiB', 'after MiB', 'peak MiB', 'delta MiB', 'KiB/object', `KiB/obj idle ${IDLE_READING_SECONDS} s`, 'new obj/s', 'touch s',
    `KiB/obj @${early}`, `s to ${early}`], [memRow('workerd', wm), memRow('dorm', dm)]));
  console.log(`per-object ratio workerd/Dorm: ${fmtRatio(memRatio)} after all, ${fmtRatio(idleRatio)} after all and ${IDLE_READING_SECONDS} s idle, ` +
    `${fmtRatio(earlyRatio)} after the first ${early} (above 1 means Dorm uses less memory per object)`);
  console.log(`Idle objects may be evicted while the rest are touched (workerd evicts after about 10 s idle), so 'after'`);
  console.log(`can hold fewer resident objects than were touched; the @${early} reading is taken seconds in, while all are resident.`);

  console.log('');
  console.log('Correctness');
  // --only leaves out the memory phase, which checks the restart and the touched objects: those
  // checks are skipped (null), not failed.
  const memoryRan = (ok) => (o.only ? null : ok);
  let allOk = true;
  for (const r of [w, d]) {
    if (!r) continue;
    const c = r.correctness;
    const checks = [
      ['exact count after concurrent increments', c.exact_increments?.ok,
        c.exact_increments && `${c.exact_increments.sent} sent -> count ${c.exact_increments.final_count}, ${c.exact_increments.distinct_values} distinct responses`],
      ['hot object count matches wrk', c.hot_object?.ok,
        c.hot_object && `count ${c.hot_object.count}, answered ${c.hot_object.answered_increments} (+${c.hot_object.max_in_flight_at_cutoffs} in flight at most)`],
      ['count survives a restart', memoryRan(c.persisted_after_restart?.ok),
        c.persisted_after_restart && `count ${c.persisted_after_restart.count}, expected ${c.persisted_after_restart.expected}`],
      ['each touched object counts 1', memoryRan(c.touched_objects?.ok),
        c.touched_objects && `${c.touched_objects.touched} objects, ${c.touched_objects.wrong_counts} wrong, ${c.touched_objects.failed_requests} failed`],
      ['unknown path answers 404', c.unknown_path_404, ''],
    ];
    if (!printChecks(r, checks)) allOk = false;
  }
  return { comparison, allOk };
}


// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = benchTempDir(o, 'dorm-bench-');
  const started = new Date();
  const results = {};
  let failed = false;
  try {
    const servers = [];
    if (o.workerd) servers.push(makeWorkerd(tmp));
    if (o.dorm) servers.push(makeDorm(tmp, o));
    for (const server of servers) results[server.name] = newResult(server);
    await throughputPhase(servers, results, o);
    if (o.dorm && !o.only) results.nginx = await nginxCeiling(tmp, o);
    if (!o.only) for (const server of servers) await memoryPhase(server, results[server.name], o);
    if (logServerErrors(servers, results)) failed = true;
  } catch (e) {
    console.error(`bench: ${e.stack ?? e}`);
    failed = true;
  }
  const { comparison, allOk } = report(results, o);
  const json = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    options: { duration_s: o.duration, warmup_s: o.warmup, wrk_threads: o.wrkThreads, touch: o.touch, touch_max_s: o.touchMaxSeconds, check: o.check, dorm_threads: o.dormThreads },
    machine: machineInfo(),
    counter_source: path.relative(rootDir, counterSource()),
    scenarios: scenarios.map(({ key, label, method, action, objects, connections }) => ({ key, label, method, action, objects, connections })),
    results,
    comparison,
    correct: allOk,
  };
  finish(o, json, tmp, !failed && allOk);
}

main();
