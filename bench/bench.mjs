// Runs the Counter Durable Object on workerd and on Dorm, one server at a time, drives both with
// the same wrk scenarios on loopback, and prints a side-by-side table (also saved as JSON).
// Started by run.sh, which makes sure the npm dependencies are installed first.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(benchDir, '..');

// ---------------------------------------------------------------------------------------------
// Options

const usage = `usage: bench/run.sh [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --wrk-threads N       wrk threads for the multi-connection runs (default 1; the server
                        under test needs the other core on a 2-core machine)
  --touch N             distinct objects touched for the memory scenario (default 10000)
  --touch-max-seconds N stop touching new objects after N seconds (default 90),
                        to bound the run when a server creates objects slowly
  --check N             increments sent for the correctness check (default 1000)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/latest.json)
  --keep                keep the temporary folder (configs, data, server logs)`;

function parseArgs(argv) {
  const o = {
    workerd: true,
    dorm: true,
    duration: 10,
    warmup: 3,
    wrkThreads: 1,
    touch: 10000,
    touchMaxSeconds: 90,
    check: 1000,
    dormBin: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm'),
    dormThreads: 2,
    out: path.join(benchDir, 'results', 'latest.json'),
    keep: false,
  };
  const num = (name, v, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`${name} wants an integer >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--workerd-only': o.dorm = false; break;
      case '--dorm-only': o.workerd = false; break;
      case '--duration': o.duration = num(a, next(), 1); break;
      case '--warmup': o.warmup = num(a, next(), 0); break;
      case '--wrk-threads': o.wrkThreads = num(a, next(), 1); break;
      case '--touch': o.touch = num(a, next(), 1); break;
      case '--touch-max-seconds': o.touchMaxSeconds = num(a, next(), 1); break;
      case '--check': o.check = num(a, next(), 1); break;
      case '--dorm': o.dormBin = path.resolve(next()); break;
      case '--dorm-threads': o.dormThreads = num(a, next(), 1); break;
      case '--out': o.out = path.resolve(next()); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': console.log(usage); process.exit(0);
      default: fail(`unknown option ${a}\n${usage}`);
    }
  }
  if (!o.workerd && !o.dorm) fail('--workerd-only and --dorm-only exclude each other');
  return o;
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

const log = (msg) => console.log(`bench: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes

const children = new Set();

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

// Servers run in their own process group so that stopping one also stops anything it forked.
function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

async function stopProcess(child, graceMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

function killAllChildren() {
  for (const c of children) killGroup(c, 'SIGKILL');
}
process.on('SIGINT', () => { killAllChildren(); process.exit(130); });
process.on('SIGTERM', () => { killAllChildren(); process.exit(143); });
process.on('exit', killAllChildren);

// VmRSS of a process and all its descendants, in bytes (workerd may fork helpers).
function treeRss(rootPid) {
  const parentOf = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; the fields after the last ')' don't.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(name), Number(fields[1]));
    } catch { /* exited meanwhile */ }
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === pids[i]) pids.push(pid);
  }
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch { /* exited meanwhile */ }
  }
  return { bytes: total, processes: pids.length };
}

// Latency of appending 4 KiB + fsync in `dir` (appending, so that each fsync also commits the size
// change to the journal, as a growing SQLite WAL does). Both servers make each write durable before answering,
// so on a shared virtual disk, whose fsync latency can change many times over within minutes, this
// figure is needed to read the increment results; it is taken next to each server's runs.
function probeFsync(dir, rounds = 50) {
  const file = path.join(dir, '.fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const t = process.hrtime.bigint();
      fs.writeSync(fd, block, 0, block.length, i * block.length);
      fs.fsyncSync(fd);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const fsType = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout?.trim() || null;
  return { filesystem: fsType, p50_ms: times[Math.floor(rounds / 2)], max_ms: times[rounds - 1] };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP client for the checks and the memory scenario (wrk only measures, it can't verify bodies).

function httpCall(agent, method, url, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: method === 'POST' ? { 'content-length': '0' } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

async function getCount(agent, baseUrl, id) {
  const r = await httpCall(agent, 'GET', `${baseUrl}/_do/counter/${id}/get`);
  if (r.status !== 200) throw new Error(`GET ${id}/get: status ${r.status}: ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body).count;
}

// Runs `total` requests with `concurrency` in flight; fn(i) makes request i. Starts no new request
// after `deadline` (ms since the epoch), so that a slow server cannot stretch the run; returns how
// many were started.
async function pool(total, concurrency, fn, deadline = Infinity) {
  let next = 0;
  const worker = async () => {
    while (next < total && Date.now() < deadline) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return next;
}

// ---------------------------------------------------------------------------------------------
// wrk

function runWrk(baseUrl, s, seconds, threads) {
  const t = Math.max(1, Math.min(threads, s.connections));
  const args = ['-t', String(t), '-c', String(s.connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--',
    s.method, s.action, String(s.objects), s.prefix];
  return new Promise((resolve, reject) => {
    const child = track(spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // wrk stops by itself after -d; this is only a guard against a wedged run.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited with ${code}\n${out}${err}`));
        return;
      }
      const r = JSON.parse(line.slice('WRK_RESULT '.length));
      const errorCount = Object.values(r.errors).reduce((a, b) => a + b, 0);
      resolve({
        requests: r.requests,
        seconds: r.duration_us / 1e6,
        rps: r.requests / (r.duration_us / 1e6),
        p50_ms: r.p50_us / 1000,
        p90_ms: r.p90_us / 1000,
        p99_ms: r.p99_us / 1000,
        max_ms: r.max_us / 1000,
        mean_ms: r.mean_us / 1000,
        errors: r.errors,
        error_count: errorCount,
        wrk_threads: t,
      });
    });
  });
}

// The throughput scenarios, in the order they run. `bench` is the single hot object.
const scenarios = [
  { key: 'increment_1obj_c1', label: 'POST increment, 1 object, 1 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 1 },
  { key: 'increment_1obj_c16', label: 'POST increment, 1 object, 16 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 16 },
  { key: 'increment_1obj_c64', label: 'POST increment, 1 object, 64 conn', method: 'POST', action: 'increment', objects: 1, prefix: 'bench', connections: 64 },
  { key: 'increment_1000obj_c64', label: 'POST increment, 1000 objects, 64 conn', method: 'POST', action: 'increment', objects: 1000, prefix: 'spread', connections: 64 },
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

function workerdBinary() {
  // The platform package holds the real executable; calling it directly (rather than through the
  // node shim in node_modules/.bin) keeps node out of the server's process tree and its RSS.
  const arch = { x64: '64', arm64: 'arm64' }[process.arch];
  const candidates = [
    path.join(benchDir, 'node_modules', '@cloudflare', `workerd-linux-${arch}`, 'bin', 'workerd'),
    path.join(benchDir, 'node_modules', '.bin', 'workerd'),
  ];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) fail('workerd is not installed: run `npm ci` in bench/');
  return found;
}

// The front worker routes /_do/counter/<id>/<rest> to the Counter named <id> with the URL
// rewritten to http://host/<rest>, which is what Dorm's own router does.
const workerdFrontJs = `import { Counter } from "./counter.js";
export { Counter };
const route = /^\\/_do\\/counter\\/([^/]+)(\\/.*)?$/;
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = route.exec(url.pathname);
    if (m === null) {
      return Response.json({ error: "no route" }, { status: 404 });
    }
    const stub = env.COUNTER.get(env.COUNTER.idFromName(decodeURIComponent(m[1])));
    const target = "http://host" + (m[2] ?? "/") + url.search;
    return stub.fetch(new Request(target, request));
  },
};
`;

function capnpString(s) {
  return JSON.stringify(s); // capnp text accepts the same escapes for these plain paths
}

function makeWorkerd(tmp) {
  const bin = workerdBinary();
  const confDir = path.join(tmp, 'workerd');
  const dataDir = path.join(tmp, 'workerd-data');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const esbuild = spawnSync('esbuild', [counterSource(), `--outfile=${path.join(confDir, 'counter.js')}`, '--log-level=warning'], { encoding: 'utf8' });
  if (esbuild.status !== 0) fail(`esbuild failed: ${esbuild.error ?? ''}${esbuild.stderr}`);
  fs.writeFileSync(path.join(confDir, 'worker.js'), workerdFrontJs);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();

  return {
    name: 'workerd',
    version,
    binary: bin,
    dataDir,
    async start() {
      const port = await freePort();
      fs.writeFileSync(path.join(confDir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .counterWorker),
    (name = "disk", disk = (path = ${capnpString(dataDir)}, writable = true)),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
  ],
);

const counterWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "counter.js", esModule = embed "counter.js"),
  ],
  compatibilityDate = "2025-01-01",
  durableObjectNamespaces = [
    (className = "Counter", uniqueKey = "dorm-bench-counter", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "disk"),
  bindings = [
    (name = "COUNTER", durableObjectNamespace = "Counter"),
  ],
);
`);
      const logFile = path.join(tmp, 'workerd.log');
      const fd = fs.openSync(logFile, 'a');
      const child = track(spawn(bin, ['serve', 'config.capnp'], { cwd: confDir, stdio: ['ignore', fd, fd], detached: true }));
      fs.closeSync(fd);
      try {
        const deadline = Date.now() + 30000;
        while (!(await canConnect(port))) {
          if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${tail(logFile)}`);
          if (Date.now() > deadline) throw new Error(`workerd did not listen within 30 s:\n${tail(logFile)}`);
          await sleep(100);
        }
      } catch (e) {
        await stopProcess(child);
        throw e;
      }
      return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid, child, logFile };
    },
  };
}

function makeDorm(tmp, o) {
  const bin = o.dormBin;
  const dataDir = path.join(tmp, 'dorm-data');
  fs.mkdirSync(dataDir, { recursive: true });
  let deployed = false;

  return {
    name: 'dorm',
    version: null,
    binary: bin,
    dataDir,
    async start() {
      const logFile = path.join(tmp, 'dorm.log');
      const fd = fs.openSync(logFile, 'a');
      // stdout is piped to find the "listening" line; stderr goes straight to the log.
      const child = track(spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--threads', String(o.dormThreads)],
        { stdio: ['ignore', 'pipe', fd], detached: true }));
      fs.closeSync(fd);
      try {
        return await this.ready(child, logFile);
      } catch (e) {
        await stopProcess(child);
        throw e;
      }
    },
    async ready(child, logFile) {
      const baseUrl = await new Promise((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`dorm serve printed no listening line within 30 s:\n${tail(logFile)}`)), 30000);
        child.stdout.on('data', (d) => {
          fs.appendFileSync(logFile, d);
          buf += d;
          const m = /dorm: listening on (http:\/\/[^\s]+)/.exec(buf);
          if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
        });
        child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dorm serve exited with ${code}:\n${tail(logFile)}`)); });
      });
      if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(baseUrl)) {
        throw new Error(`dorm listens on ${baseUrl}, which is not a loopback address`);
      }
      // The class is deployed once; a restart on the same data folder must still serve it.
      if (!deployed) {
        const r = spawnSync(bin, ['deploy', counterSource(), '--name', 'counter', '--access', 'public', '--data', dataDir], { encoding: 'utf8', timeout: 60000 });
        if (r.status !== 0) throw new Error(`dorm deploy failed (${r.status}): ${r.stderr}${r.stdout}`);
        deployed = true;
      }
      return { baseUrl, pid: child.pid, child, logFile };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The runs

function newResult(server) {
  return { server: server.name, version: server.version, binary: server.binary.startsWith(`${rootDir}/`) ? path.relative(rootDir, server.binary) : server.binary, scenarios: {}, memory: null, correctness: {}, errors: [], disk: {}, log_file: null };
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
    // Alternate which server goes first, so that neither always runs right after the other.
    const order = k % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) {
      if (state.get(server).failed) continue;
      const countsOnHot = s.prefix === 'bench' && s.action === 'increment';
      await withServer(server, s.key, async (proc, agent, st, r) => {
        if (s.objects > 1) {
          // Load every object once first, so that the run measures objects that are already
          // live rather than how fast a server creates them (the memory scenario shows that).
          await pool(s.objects, 32, async (i) => { await getCount(agent, proc.baseUrl, `${s.prefix}-${i}`); });
        }
        if (o.warmup > 0) {
          const w = await runWrk(proc.baseUrl, s, o.warmup, o.wrkThreads);
          if (countsOnHot) { st.benchSum += w.requests - w.errors.status; st.benchSlack += s.connections + w.error_count; }
        }
        const disk = probeFsync(server.dataDir, 20);
        const res = await runWrk(proc.baseUrl, s, o.duration, o.wrkThreads);
        if (countsOnHot) { st.benchSum += res.requests - res.errors.status; st.benchSlack += s.connections + res.error_count; }
        res.disk_fsync_p50_ms_before = disk.p50_ms;
        r.scenarios[s.key] = res;
        log(`${r.server}: ${s.label}: ${fmtRps(res.rps)} req/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms` +
          `${res.error_count ? `, ${res.error_count} errors ${JSON.stringify(res.errors)}` : ''} (disk fsync p50 ${fmtMs(disk.p50_ms)} ms)`);
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
    const before = treeRss(proc.pid);
    let peak = before.bytes;
    const sampler = setInterval(() => { peak = Math.max(peak, treeRss(proc.pid).bytes); }, 200);
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
        earlyReading = { objects: early, rss_bytes: treeRss(proc.pid).bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
        earlyReading.per_object_bytes = (earlyReading.rss_bytes - before.bytes) / early;
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
    const after = treeRss(proc.pid);
    peak = Math.max(peak, after.bytes);
    r.memory = {
      touched,
      rss_before_bytes: before.bytes,
      rss_after_bytes: after.bytes,
      rss_peak_bytes: peak,
      processes: after.processes,
      delta_bytes: after.bytes - before.bytes,
      per_object_bytes: (after.bytes - before.bytes) / touched,
      touch_seconds: touchSeconds,
      touch_rps: touched / touchSeconds,
      stopped_by_time_limit: touched < o.touch,
      disk: diskBefore,
      early: earlyReading,
    };
    r.correctness.touched_objects = { touched, failed_requests: failed, first_failure: firstFailure, wrong_counts: wrong, ok: failed === 0 && wrong === 0 };
    log(`${server.name}: memory: ${fmtMiB(before.bytes)} -> ${fmtMiB(after.bytes)} MiB after ${touched} objects ` +
      `(${fmtKiB(r.memory.per_object_bytes)} KiB/object, peak ${fmtMiB(peak)} MiB, ${fmtRps(r.memory.touch_rps)} new objects/s` +
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

const fmtRps = (v) => (v == null ? '-' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const fmtMs = (v) => (v == null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtMiB = (b) => (b == null ? '-' : (b / 1048576).toFixed(1));
const fmtKiB = (b) => (b == null ? '-' : (b / 1024).toFixed(2));
const fmtRatio = (v) => (v == null || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

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

  const wm = w?.memory;
  const dm = d?.memory;
  const memRatio = ratio(wm?.per_object_bytes, dm?.per_object_bytes);
  const earlyRatio = ratio(wm?.early?.per_object_bytes, dm?.early?.per_object_bytes);
  comparison.memory = { workerd_over_dorm_per_object: memRatio, workerd_over_dorm_per_object_early: earlyRatio };
  console.log('');
  console.log(`Memory (RSS of the server's processes, before and after touching ${o.touch} new objects once each; ratio = workerd/Dorm per object)`);
  const memRow = (name, m) => [name, m?.touched ?? '-', fmtMiB(m?.rss_before_bytes), fmtMiB(m?.rss_after_bytes), fmtMiB(m?.rss_peak_bytes),
    fmtMiB(m?.delta_bytes), fmtKiB(m?.per_object_bytes), fmtRps(m?.touch_rps), m?.touch_seconds == null ? '-' : m.touch_seconds.toFixed(1),
    fmtKiB(m?.early?.per_object_bytes), m?.early ? m.early.seconds.toFixed(1) : '-'];
  const early = Math.min(1000, o.touch);
  console.log(table(['server', 'touched', 'before MiB', 'after MiB', 'peak MiB', 'delta MiB', 'KiB/object', 'new obj/s', 'touch s',
    `KiB/obj @${early}`, `s to ${early}`], [memRow('workerd', wm), memRow('dorm', dm)]));
  console.log(`per-object ratio workerd/Dorm: ${fmtRatio(memRatio)} after all, ${fmtRatio(earlyRatio)} after the first ${early} (above 1 means Dorm uses less memory per object)`);
  console.log(`Idle objects may be evicted while the rest are touched (workerd evicts after about 10 s idle), so 'after'`);
  console.log(`can hold fewer resident objects than were touched; the @${early} reading is taken seconds in, while all are resident.`);

  console.log('');
  console.log('Correctness');
  let allOk = true;
  for (const r of [w, d]) {
    if (!r) continue;
    const c = r.correctness;
    const mark = (x) => (x === undefined ? 'not run' : x ? 'ok' : 'FAILED');
    const checks = [
      ['exact count after concurrent increments', c.exact_increments?.ok,
        c.exact_increments && `${c.exact_increments.sent} sent -> count ${c.exact_increments.final_count}, ${c.exact_increments.distinct_values} distinct responses`],
      ['hot object count matches wrk', c.hot_object?.ok,
        c.hot_object && `count ${c.hot_object.count}, answered ${c.hot_object.answered_increments} (+${c.hot_object.max_in_flight_at_cutoffs} in flight at most)`],
      ['count survives a restart', c.persisted_after_restart?.ok,
        c.persisted_after_restart && `count ${c.persisted_after_restart.count}, expected ${c.persisted_after_restart.expected}`],
      ['each touched object counts 1', c.touched_objects?.ok,
        c.touched_objects && `${c.touched_objects.touched} objects, ${c.touched_objects.wrong_counts} wrong, ${c.touched_objects.failed_requests} failed`],
      ['unknown path answers 404', c.unknown_path_404, ''],
    ];
    for (const [name, ok, detail] of checks) {
      if (ok !== true) allOk = false;
      console.log(`  ${r.server.padEnd(8)} ${name.padEnd(42)} ${mark(ok).padEnd(8)} ${detail ?? ''}`);
    }
    const wrkErrors = Object.values(r.scenarios).reduce((a, s) => a + s.error_count, 0);
    if (wrkErrors) {
      allOk = false;
      console.log(`  ${r.server.padEnd(8)} ${'wrk runs without errors'.padEnd(42)} FAILED   ${wrkErrors} errors (see JSON)`);
    }
    for (const e of r.errors) console.log(`  ${r.server.padEnd(8)} error: ${e.split('\n')[0]}`);
    if (r.errors.length) allOk = false;
  }
  return { comparison, allOk };
}

function machineInfo() {
  const cpu = os.cpus();
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return {
    cpus: cpu.length,
    cpu_model: cpu[0]?.model,
    memory_bytes: os.totalmem(),
    kernel: os.release(),
    node: process.version,
    // The servers inherit it; each live object may hold open files.
    open_files_limit: /Max open files\s+(\S+)\s+(\S+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.slice(1, 3).join('/') ?? null,
    wrk: `${wrkVersion.stdout}${wrkVersion.stderr}`.split('\n')[0].trim(),
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.dorm && !fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or use --workerd-only`);
  if (o.workerd) workerdBinary();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-bench-'));
  log(`temporary folder ${tmp}`);
  const started = new Date();
  const results = {};
  let failed = false;
  try {
    const servers = [];
    if (o.workerd) servers.push(makeWorkerd(tmp));
    if (o.dorm) servers.push(makeDorm(tmp, o));
    for (const server of servers) results[server.name] = newResult(server);
    await throughputPhase(servers, results, o);
    for (const server of servers) await memoryPhase(server, results[server.name], o);
    for (const server of servers) {
      const r = results[server.name];
      if (r.errors.length) {
        failed = true;
        if (r.log_file) log(`${server.name}: last lines of ${r.log_file}:\n${tail(r.log_file, 15)}`);
      }
    }
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
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
  console.log('');
  log(`results written to ${path.relative(process.cwd(), o.out) || o.out}`);
  if (o.keep || failed || !allOk) log(`kept ${tmp} (configs, data and server logs)`);
  else fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(failed || !allOk ? 1 : 0);
}

main();
