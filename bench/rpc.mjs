// Calls to Durable Objects, side by side on workerd and on Dorm: a caller object (or the Worker)
// makes N JavaScript RPC calls (or N stub.fetch() calls), one after the other, to a target object,
// per HTTP request. The project (bench/rpc-worker.js, the Worker, with the classes
// bench/rpc-caller.js and bench/rpc-target.js) runs unchanged on both servers: on Dorm deployed
// with `dorm deploy DIR` from a generated wrangler.json. Each scenario gets a freshly started server that is the only one alive, and the
// servers alternate scenario by scenario, as in bench.mjs. Calls/s = requests/s × N.
// Started by `bench/run.sh --rpc`, which checks the tools and raises the open-files limit.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, fail, log, parseBenchArgs, stopProcess, freePort, httpCall, runWrk as runWrkArgs,
  workerdConfig, startWorkerdProcess, fmtRps, fmtMs, fmtRatio, ratio, table, machineInfo, finish,
  checksPassed, benchOptions, killChildrenOnExit, workerdBinary, makeDormServer,
} from './lib.mjs';

const CLASSES = [
  { file: 'rpc-caller.js', className: 'RpcBenchCaller', route: 'rpc-bench-caller', binding: 'RPC_BENCH_CALLER' },
  { file: 'rpc-target.js', className: 'RpcBenchTarget', route: 'rpc-bench-target', binding: 'RPC_BENCH_TARGET' },
];
const CALLER_ROUTE = CLASSES[0].route;
const WORKER_ROUTE = '/worker';

const usage = `usage: bench/run.sh --rpc [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured wrk run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --calls N             calls per HTTP request (default 10)
  --wrk-threads N       wrk threads (default 1)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/rpc.json)
  --only KEY[,KEY]      run only these scenarios (worker_1, worker_64, rpc_1, rpc_64, rpc_64_hot,
                        fetch_64)
  --keep                keep the temporary folder (configs, data, server logs)`;

const defaults = benchOptions('rpc', {
  calls: 10,
  only: null,
});
const o = parseBenchArgs(process.argv.slice(2), usage, defaults, (a, next, num) => {
  if (a === '--calls') { defaults.calls = num(a, next(), 1); return true; }
  if (a === '--only') { defaults.only = next().split(','); return true; }
  return false;
});

killChildrenOnExit();

// [key, label, action, callers spread over, connections, route]. One target per caller unless the
// action names one; the Worker scenarios call the targets from the Worker.
const SCENARIOS = [
  ['worker_1', `RPC, Worker → 1 target, 1 conn`, `call?n=${o.calls}`, 1, 1, WORKER_ROUTE],
  ['worker_64', `RPC, Worker → 64 targets, 64 conn`, `call?n=${o.calls}`, 64, 64, WORKER_ROUTE],
  ['rpc_1', `RPC, 1 caller → 1 target, 1 conn`, `call?n=${o.calls}`, 1, 1],
  ['rpc_64', `RPC, 64 callers → 64 targets, 64 conn`, `call?n=${o.calls}`, 64, 64],
  ['rpc_64_hot', `RPC, 64 callers → 1 target, 64 conn`, `call?n=${o.calls}&target=hot`, 64, 64],
  ['fetch_64', `stub.fetch, 64 callers → 64 targets, 64 conn`, `fetch?n=${o.calls}`, 64, 64],
].map(([key, label, action, objects, connections, route = CALLER_ROUTE]) => ({ key, label, action, objects, connections, route }))
  .filter((s) => o.only === null || o.only.includes(s.key));
if (SCENARIOS.length === 0) fail(`--only names no scenario\n${usage}`);

function runWrk(baseUrl, s, seconds) {
  const t = Math.max(1, Math.min(o.wrkThreads, s.connections));
  const args = ['-t', String(t), '-c', String(s.connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--', 'GET', s.action, String(s.objects), 'caller', s.route];
  return runWrkArgs(args, seconds);
}

function makeWorkerd(tmp) {
  const bin = workerdBinary();
  const confDir = path.join(tmp, 'workerd');
  const dataDir = path.join(tmp, 'workerd-data');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true });
  for (const c of CLASSES) fs.copyFileSync(path.join(benchDir, c.file), path.join(confDir, c.file));
  fs.copyFileSync(path.join(benchDir, 'rpc-worker.js'), path.join(confDir, 'worker.js'));
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    name: 'workerd',
    version,
    async start() {
      const port = await freePort();
      fs.writeFileSync(path.join(confDir, 'config.capnp'), workerdConfig({
        port, dataDir, workerName: 'benchWorker', compatibilityDate: '2025-01-01',
        classes: CLASSES.map((c) => ({ moduleFile: c.file, className: c.className, uniqueKey: `dorm-bench-${c.route}`, binding: c.binding })),
      }));
      const logFile = path.join(tmp, 'workerd.log');
      const child = await startWorkerdProcess(bin, confDir, port, logFile, 30000);
      return { baseUrl: `http://127.0.0.1:${port}`, child };
    },
  };
}

// The benchmark's project, as a Wrangler project, deployed with `dorm deploy DIR`.
function deployProject(dataDir) {
  const dir = fs.mkdtempSync(path.join(path.dirname(dataDir), 'project-'));
  for (const file of ['rpc-worker.js', ...CLASSES.map((c) => c.file)]) {
    fs.copyFileSync(path.join(benchDir, file), path.join(dir, file));
  }
  fs.writeFileSync(path.join(dir, 'wrangler.json'), JSON.stringify({
    name: 'default',
    main: 'rpc-worker.js',
    durable_objects: { bindings: CLASSES.map((c) => ({ name: c.binding, class_name: c.className })) },
    migrations: [{ tag: 'v1', new_sqlite_classes: CLASSES.map((c) => c.className) }],
  }));
  const r = spawnSync(o.dormBin, ['deploy', dir, '--access', 'public', '--data', dataDir], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`dorm deploy ${dir} failed: ${r.stderr || r.stdout}`);
}

function makeDorm(tmp) {
  return makeDormServer(tmp, o, deployProject);
}

// One scenario on a fresh server: a correctness check (the last call's result), warm-up, run.
async function runScenario(server, r, s) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let proc = null;
  try {
    proc = await server.start();
    const base = s.route.startsWith('/') ? s.route : `/_do/${s.route}`;
    const probe = await httpCall(agent, 'GET', `${proc.baseUrl}${base}/caller-0/${s.action}`);
    const expected = String(o.calls - 1);
    r.checks[s.key] = { ok: probe.status === 200 && probe.body === expected, status: probe.status, body: probe.body.slice(0, 200) };
    if (o.warmup > 0) await runWrk(proc.baseUrl, s, o.warmup);
    const res = await runWrk(proc.baseUrl, s, o.duration);
    res.calls_per_second = res.rps * o.calls;
    r.scenarios[s.key] = res;
    log(`${r.server}: ${s.label}: ${fmtRps(res.calls_per_second)} calls/s (${fmtRps(res.rps)} req/s of ${o.calls} calls), ` +
      `p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms${res.error_count ? `, ${res.error_count} errors` : ''}`);
  } catch (e) {
    r.errors.push(`${s.key}: ${e.message}`);
    log(`${r.server}: ERROR in ${s.key}: ${e.message}`);
  } finally {
    agent.destroy();
    if (proc) await stopProcess(proc.child);
  }
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'dorm-bench-rpc-'));
  if (o.dorm && !fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or use --workerd-only`);
  const servers = [];
  if (o.workerd) servers.push(makeWorkerd(tmp));
  if (o.dorm) servers.push(makeDorm(tmp));
  const results = {};
  for (const server of servers) results[server.name] = { server: server.name, version: server.version, scenarios: {}, checks: {}, errors: [] };
  log(`${o.calls} calls per request, ${o.duration} s runs after ${o.warmup} s warm-up; ${servers.map((s) => s.name).join(' and ')}`);
  for (const s of SCENARIOS) {
    for (const server of servers) await runScenario(server, results[server.name], s);
  }

  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  const rows = SCENARIOS.map((s) => {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    const c = { calls: ratio(ds?.calls_per_second, ws?.calls_per_second), p50: ratio(ds?.p50_ms, ws?.p50_ms), p99: ratio(ds?.p99_ms, ws?.p99_ms) };
    comparison[s.key] = { dorm_over_workerd: c };
    return [s.label, fmtRps(ws?.calls_per_second), fmtMs(ws?.p50_ms), fmtMs(ws?.p99_ms), fmtRps(ds?.calls_per_second),
      fmtMs(ds?.p50_ms), fmtMs(ds?.p99_ms), fmtRatio(c.calls), fmtRatio(c.p50), fmtRatio(c.p99)];
  });
  console.log('');
  console.log(`Calls to objects (${o.calls} sequential calls per HTTP request; latency is per request, in ms;`);
  console.log('ratio = Dorm/workerd: calls/s above 1 and latency below 1 mean Dorm is ahead)');
  console.log(table(['scenario', 'workerd calls/s', 'p50', 'p99', 'dorm calls/s', 'p50', 'p99', 'calls ratio', 'p50 ratio', 'p99 ratio'], rows));
  finish(o, { machine: machineInfo(), options: o, results, comparison }, tmp, checksPassed(results));
}

main();
