// What the usage meters cost: the Counter Durable Object on Dorm with the meters on and with them
// off (DORM_USAGE_METERS=off, read by `dorm serve` for this measurement only), the two alternating
// run by run over several rounds, and a table of req/s and server CPU per request for each.
// Started by run.sh --meters. Needs no workerd.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, rootDir, fail, log, sleep, parseBenchArgs, tail, shownBinary, stopProcess, probeFsync,
  httpCall, runWrk as runWrkArgs, spawnDorm, dormListening, dormDeploy, fmtRps, fmtMs, fmtRatio,
  ratio, median, table, machineInfo, finish, treeStats, benchOptions, killChildrenOnExit,
} from './lib.mjs';

const usage = `usage: bench/run.sh --meters [options]
  --rounds N            rounds; each runs every scenario with the meters on and off (default 5)
  --duration N          seconds of each measured run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --wrk-threads N       wrk threads (default 1)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/meters.json)
  --keep                keep the temporary folder (data and server logs)`;

function parseArgs(argv) {
  const o = benchOptions('meters', {
    workerd: false,
    rounds: 5,
  });
  return parseBenchArgs(argv, usage, o, (a, next, num) => {
    switch (a) {
      case '--rounds': o.rounds = num(a, next(), 1); return true;
      default: return false;
    }
  });
}

killChildrenOnExit();

const scenarios = [
  { key: 'get_1obj_c64', label: 'GET, 1 object, 64 conn', method: 'GET', action: 'get', connections: 64 },
  { key: 'increment_1obj_c64', label: 'POST increment, 1 object, 64 conn', method: 'POST', action: 'increment', connections: 64 },
];

// The two configurations: the same binary, each with its own data folder.
const modes = [
  { key: 'on', env: { ...process.env } },
  { key: 'off', env: { ...process.env, DORM_USAGE_METERS: 'off' } },
];
delete modes[0].env.DORM_USAGE_METERS;

function runWrk(baseUrl, s, seconds, threads) {
  const args = ['-t', String(Math.max(1, Math.min(threads, s.connections))), '-c', String(s.connections), '-d', `${seconds}s`,
    '--timeout', '10s', '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--', s.method, s.action, '1', 'bench'];
  return runWrkArgs(args, seconds);
}

// Starts a fresh server of `mode` (deploying the Counter on its first start), runs fn, stops it.
async function withServer(tmp, o, mode, fn) {
  const dataDir = path.join(tmp, `data-${mode.key}`);
  const logFile = path.join(tmp, `dorm-${mode.key}.log`);
  const fresh = !fs.existsSync(dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const child = spawnDorm(o.dormBin, dataDir, o.dormThreads, logFile, [], mode.env);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    const baseUrl = await dormListening(child, logFile, 30000);
    if (fresh) dormDeploy(o.dormBin, path.join(rootDir, 'examples', 'counter.ts'), 'counter', dataDir, 60000);
    const r = await httpCall(agent, 'GET', `${baseUrl}/_do/counter/bench/get`);
    if (r.status !== 200) throw new Error(`GET bench/get: status ${r.status}: ${r.body.slice(0, 200)}`);
    return await fn(baseUrl, child.pid, dataDir);
  } catch (e) {
    throw new Error(`meters ${mode.key}: ${e.message}\n${tail(logFile, 15)}`);
  } finally {
    agent.destroy();
    await stopProcess(child);
  }
}

const spread = (xs, fmt) => (xs.length ? `${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))}` : '-');
const fmtUs = (v) => (v == null ? '-' : v.toFixed(1));

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or give --dorm PATH`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-bench-meters-'));
  log(`temporary folder ${tmp}`);
  const started = new Date();
  const runs = []; // { round, scenario, meters, rps, requests, cpu_s, cpu_us_per_request, errors, ... }
  const errors = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const [k, s] of scenarios.entries()) {
        // Alternate which mode goes first, so that neither always runs right after the other.
        const order = (round + k) % 2 === 0 ? modes : [...modes].reverse();
        for (const mode of order) {
          await withServer(tmp, o, mode, async (baseUrl, pid, dataDir) => {
            if (o.warmup > 0) await runWrk(baseUrl, s, o.warmup, o.wrkThreads);
            const disk = probeFsync(dataDir, 20);
            const cpu0 = treeStats(pid).cpu;
            const res = await runWrk(baseUrl, s, o.duration, o.wrkThreads);
            const cpu = treeStats(pid).cpu - cpu0;
            const run = {
              round, scenario: s.key, meters: mode.key, rps: res.rps, requests: res.requests, seconds: res.seconds,
              p50_ms: res.p50_ms, p99_ms: res.p99_ms, server_cpu_s: cpu, cpu_us_per_request: (cpu / res.requests) * 1e6,
              errors: res.errors, error_count: res.error_count, disk_fsync_p50_ms_before: disk.p50_ms,
            };
            runs.push(run);
            log(`round ${round}, ${s.label}, meters ${mode.key}: ${fmtRps(run.rps)} req/s, p50 ${fmtMs(run.p50_ms)} ms, ` +
              `server CPU ${fmtUs(run.cpu_us_per_request)} us/request${run.error_count ? `, ${run.error_count} errors` : ''} ` +
              `(disk fsync p50 ${fmtMs(disk.p50_ms)} ms)`);
          });
          await sleep(200);
        }
      }
    }
  } catch (e) {
    errors.push(e.message);
    console.error(`bench: ${e.stack ?? e}`);
  }

  // Report: per scenario and mode, median and [min..max] of req/s and of CPU per request.
  const summary = {};
  const rows = [];
  for (const s of scenarios) {
    const per = {};
    for (const m of modes) {
      const rs = runs.filter((r) => r.scenario === s.key && r.meters === m.key);
      per[m.key] = {
        runs: rs.length,
        rps_median: median(rs.map((r) => r.rps)), rps_min: Math.min(...rs.map((r) => r.rps)), rps_max: Math.max(...rs.map((r) => r.rps)),
        cpu_us_per_request_median: median(rs.map((r) => r.cpu_us_per_request)),
        cpu_us_per_request_min: Math.min(...rs.map((r) => r.cpu_us_per_request)),
        cpu_us_per_request_max: Math.max(...rs.map((r) => r.cpu_us_per_request)),
        rps_all: rs.map((r) => r.rps), cpu_us_per_request_all: rs.map((r) => r.cpu_us_per_request),
      };
    }
    const on = per.on;
    const off = per.off;
    summary[s.key] = {
      ...per,
      rps_on_over_off: ratio(on.rps_median, off.rps_median),
      cpu_per_request_on_over_off: ratio(on.cpu_us_per_request_median, off.cpu_us_per_request_median),
    };
    const ratioCell = (v) => (v == null ? '-' : `${fmtRatio(v)} (${v >= 1 ? '+' : ''}${((v - 1) * 100).toFixed(1)}%)`);
    rows.push([s.label,
      `${fmtRps(on.rps_median)} [${spread(on.rps_all, fmtRps)}]`,
      `${fmtRps(off.rps_median)} [${spread(off.rps_all, fmtRps)}]`,
      ratioCell(summary[s.key].rps_on_over_off),
      `${fmtUs(on.cpu_us_per_request_median)} [${spread(on.cpu_us_per_request_all, fmtUs)}]`,
      `${fmtUs(off.cpu_us_per_request_median)} [${spread(off.cpu_us_per_request_all, fmtUs)}]`,
      ratioCell(summary[s.key].cpu_per_request_on_over_off)]);
  }
  const diskProbe = runs.length ? median(runs.map((r) => r.disk_fsync_p50_ms_before)) : null;
  console.log('');
  console.log(`Usage meters on vs off (Dorm, ${o.rounds} rounds alternating on/off, ${o.duration} s runs after ${o.warmup} s warm-up;` +
    ` median [min..max]; CPU = server user+system per request, in us)`);
  console.log(`(data on ${probeFsync(tmp, 5).filesystem}; 4 KiB append+fsync p50 ${fmtMs(diskProbe)} ms, median over the runs)`);
  console.log(table(['scenario', 'meters on req/s', 'meters off req/s', 'on/off req/s', 'on CPU us/req', 'off CPU us/req', 'on/off CPU'], rows));
  const wrkErrors = runs.reduce((a, r) => a + r.error_count, 0);
  if (wrkErrors) console.log(`wrk errors: ${wrkErrors} (see JSON)`);
  for (const e of errors) console.log(`error: ${e.split('\n')[0]}`);

  const json = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    options: { rounds: o.rounds, duration_s: o.duration, warmup_s: o.warmup, wrk_threads: o.wrkThreads, dorm_threads: o.dormThreads },
    machine: machineInfo(true),
    binary: shownBinary(o.dormBin),
    scenarios: scenarios.map(({ key, label, method, action, connections }) => ({ key, label, method, action, objects: 1, connections })),
    summary,
    runs,
    errors,
  };
  finish(o, json, tmp, errors.length === 0 && wrkErrors === 0);
}

main();
