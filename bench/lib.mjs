// Helpers shared by the benchmark scripts (bench.mjs, storage.mjs, websocket.mjs, rpc.mjs,
// fetch.mjs, crypto.mjs, meters.mjs, scale.mjs) and the differential check (tests/diff/run.mjs):
// the common options, server processes on loopback and their RSS and CPU time, workerd
// configuration, Dorm start and deploy, the fsync probe, wrk runs, HTTP calls and the text tables.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const rootDir = path.resolve(benchDir, '..');

// ---------------------------------------------------------------------------------------------
// Command line and output

// Prints "bench: msg" to stderr and exits with status 2.
export function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

// Prints "bench: msg" to stdout.
export const log = (msg) => console.log(`bench: ${msg}`);

// Resolves after `ms` milliseconds.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The options every benchmark has, at their defaults, with the results going to
// bench/results/<resultName>.json; `own` (the script's own options and defaults) is laid over them.
export function benchOptions(resultName, own = {}) {
  return {
    workerd: true,
    dorm: true,
    duration: 10,
    warmup: 3,
    wrkThreads: 1,
    dormBin: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm'),
    dormThreads: 2,
    out: path.join(benchDir, 'results', `${resultName}.json`),
    keep: false,
    ...own,
  };
}

// Fills `o` from argv: the options every benchmark has, then own(a, next, num) for the rest
// (returns false for an unknown one); prints usage on --help; exits 2 on a bad option.
export function parseBenchArgs(argv, usage, o, own) {
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
      case '--dorm': o.dormBin = path.resolve(next()); break;
      case '--dorm-threads': o.dormThreads = num(a, next(), 1); break;
      case '--out': o.out = path.resolve(next()); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help': console.log(usage); process.exit(0);
      default: if (!own(a, next, num)) fail(`unknown option ${a}\n${usage}`);
    }
  }
  if (!o.workerd && !o.dorm) fail('--workerd-only and --dorm-only exclude each other');
  return o;
}

// The last `lines` lines of a log file, or "(no log)".
export function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// A binary's path relative to the repository when it lies inside it, else unchanged.
export const shownBinary = (bin) => (bin.startsWith(`${rootDir}/`) ? path.relative(rootDir, bin) : bin);

// ---------------------------------------------------------------------------------------------
// Processes

const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

// A process and all its descendants, root first (workerd may fork helpers; Dorm runs a supervisor
// and a runtime process). Found through every process's parent in /proc, which every kernel has
// (the per-thread children lists need CONFIG_PROC_CHILDREN).
export function processTree(rootPid) {
  const parentOf = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; the fields after the last ')' don't.
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* exited meanwhile */ }
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === pids[i]) pids.push(pid);
  }
  return pids;
}

// RSS (bytes) and CPU time (seconds, user + system) of a process and all its descendants, and
// how many processes that is.
export function treeStats(rootPid) {
  const pids = processTree(rootPid);
  let rss = 0;
  let cpu = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; the fields after the last ')' don't.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += (Number(f[11]) + Number(f[12])) / clockTicks;  // utime, stime
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) rss += Number(m[1]) * 1024;
    } catch { /* exited meanwhile */ }
  }
  return { rss, cpu, processes: pids.length };
}


export const children = new Set();

// Remembers `child` until it exits, so that killAllChildren can reach it; returns it.
export function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

// Sends `signal` to the child's process group (servers run detached), or to the child alone.
export function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try { child.kill(signal); } catch { /* already gone */ }
  }
}

// SIGTERM to the child's group, SIGKILL after graceMs; resolves once the child has exited.
export async function stopProcess(child, graceMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

// SIGKILL to the group of every tracked child still running.
export function killAllChildren() {
  for (const c of children) killGroup(c, 'SIGKILL');
}

// Kills every tracked child when the script ends: on exit, and on SIGINT or SIGTERM, after which
// it exits 130 or 143 as a shell would.
export function killChildrenOnExit() {
  process.on('SIGINT', () => { killAllChildren(); process.exit(130); });
  process.on('SIGTERM', () => { killAllChildren(); process.exit(143); });
  process.on('exit', killAllChildren);
}

// Logs the last lines of the log of each server whose run recorded errors (`results[name]`:
// { errors, log_file }); returns whether any did.
export function logServerErrors(servers, results) {
  let any = false;
  for (const server of servers) {
    const r = results[server.name];
    if (r.errors.length) {
      any = true;
      if (r.log_file) log(`${server.name}: last lines of ${r.log_file}:\n${tail(r.log_file, 15)}`);
    }
  }
  return any;
}

// ---------------------------------------------------------------------------------------------
// Disk and network

// Latency of appending 4 KiB + fsync in `dir`, `rounds` times: { filesystem, p50_ms, max_ms }.
export function probeFsync(dir, rounds = 50) {
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

// A TCP port on 127.0.0.1 that was free a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Whether something accepts connections on 127.0.0.1:port.
export function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP

// One request without a body through `agent`: { status, body }; rejects on error or timeout.
export function httpCall(agent, method, url, timeoutMs = 30000) {
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

// Runs `total` calls fn(i) with `concurrency` in flight, starting none after `deadline` (ms since
// the epoch); returns how many were started.
export async function pool(total, concurrency, fn, deadline = Infinity) {
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

// Runs wrk with `args` (for at most about `seconds`) and resolves with the JSON its script printed
// after `marker` (a line starting with it).
export function runWrkScript(args, seconds, marker) {
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
      const line = out.split('\n').find((l) => l.startsWith(marker));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited with ${code}\n${out}${err}`));
        return;
      }
      resolve(JSON.parse(line.slice(marker.length)));
    });
  });
}

// Runs wrk with `args` (for about `seconds`) and resolves with the figures of its WRK_RESULT line.
export function runWrk(args, seconds) {
  return runWrkScript(args, seconds, 'WRK_RESULT ').then((r) => ({
    requests: r.requests,
    seconds: r.duration_us / 1e6,
    rps: r.requests / (r.duration_us / 1e6),
    p50_ms: r.p50_us / 1000,
    p90_ms: r.p90_us / 1000,
    p99_ms: r.p99_us / 1000,
    max_ms: r.max_us / 1000,
    mean_ms: r.mean_us / 1000,
    errors: r.errors,
    error_count: Object.values(r.errors).reduce((a, b) => a + b, 0),
  }));
}

// ---------------------------------------------------------------------------------------------
// workerd

// Where the workerd executable may be, best first (the platform package's, then the npm shim).
export function workerdCandidates() {
  // Calling the platform package's executable directly keeps node out of the server's processes.
  const arch = { x64: '64', arm64: 'arm64' }[process.arch];
  return [
    path.join(benchDir, 'node_modules', '@cloudflare', `workerd-linux-${arch}`, 'bin', 'workerd'),
    path.join(benchDir, 'node_modules', '.bin', 'workerd'),
  ];
}

// The installed workerd executable; exits (fail) when there is none.
export function workerdBinary() {
  const bin = workerdCandidates().find((f) => fs.existsSync(f));
  if (!bin) fail('workerd is not installed: run `npm ci` in bench/');
  return bin;
}

// A front worker routing /_do/<route>/<id>/<rest> to the object named <id> of `className`
// (imported from `moduleFile`, bound as `binding`) with the URL rewritten to http://host/<rest>,
// as Dorm's own router does. `classes` ([{moduleFile, className, route, binding}]) serves several
// classes instead of one.
export function workerdFrontJs({ moduleFile, className, route, binding, classes }) {
  classes ??= [{ moduleFile, className, route, binding }];
  const imports = classes.map((c) => `import { ${c.className} } from "./${c.moduleFile}";`).join('\n');
  const routes = classes.map((c) => `  ${JSON.stringify(c.route)}: ${JSON.stringify(c.binding)},`).join('\n');
  return `${imports}
export { ${classes.map((c) => c.className).join(', ')} };
const bindings = {
${routes}
};
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = /^\\/_do\\/([^/]+)\\/([^/]+)(\\/.*)?$/.exec(url.pathname);
    if (m === null || !Object.hasOwn(bindings, m[1])) {
      return Response.json({ error: "no route" }, { status: 404 });
    }
    const ns = env[bindings[m[1]]];
    const stub = ns.get(ns.idFromName(decodeURIComponent(m[2])));
    const target = "http://host" + (m[3] ?? "/") + url.search;
    return stub.fetch(new Request(target, request));
  },
};
`;
}

// The config.capnp text serving worker.js + `moduleFile` on 127.0.0.1:port with SQL-backed objects
// of `className` stored under dataDir; `classes` ([{moduleFile, className, uniqueKey, binding}])
// declares several classes instead of one, each bound in every class's env.
// `localOutbound`: the worker's fetch() may reach loopback and private addresses (workerd's
// default network allows public ones only).
export function workerdConfig({ port, dataDir, workerName, moduleFile, compatibilityDate, className, uniqueKey, binding, classes, localOutbound = false }) {
  classes ??= [{ moduleFile, className, uniqueKey, binding }];
  const modules = ['worker.js', ...new Set(classes.map((c) => c.moduleFile))]
    .map((m) => `    (name = "${m}", esModule = embed "${m}"),`).join('\n');
  const namespaces = classes
    .map((c) => `    (className = "${c.className}", uniqueKey = "${c.uniqueKey}", enableSql = true),`).join('\n');
  const bindings = classes
    .map((c) => `    (name = "${c.binding}", durableObjectNamespace = "${c.className}"),`).join('\n');
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .${workerName}),
    (name = "disk", disk = (path = ${JSON.stringify(dataDir)}, writable = true)),${localOutbound ? `
    (name = "loopnet", network = (allow = ["public", "private", "local"])),` : ''}
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
  ],
);

const ${workerName} :Workerd.Worker = (
  modules = [
${modules}
  ],
  compatibilityDate = "${compatibilityDate}",
  durableObjectNamespaces = [
${namespaces}
  ],
  durableObjectStorage = (localDisk = "disk"),${localOutbound ? `
  globalOutbound = "loopnet",` : ''}
  bindings = [
${bindings}
  ],
);
`;
}

// Starts `workerd serve config.capnp` in confDir (logging to logFile) and waits until it accepts
// connections on port; stops it and throws if it exits or does not listen within timeoutMs.
export async function startWorkerdProcess(bin, confDir, port, logFile, timeoutMs, tailLines = 30) {
  const fd = fs.openSync(logFile, 'a');
  const child = track(spawn(bin, ['serve', 'config.capnp'], { cwd: confDir, stdio: ['ignore', fd, fd], detached: true }));
  fs.closeSync(fd);
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${tail(logFile, tailLines)}`);
      if (Date.now() > deadline) throw new Error(`workerd did not listen within ${timeoutMs / 1000} s:\n${tail(logFile, tailLines)}`);
      await sleep(100);
    }
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
  return child;
}

// ---------------------------------------------------------------------------------------------
// Dorm

// Starts `dorm serve` on a free loopback port over dataDir (stdout and stderr to logFile), with
// extraArgs appended to its command line and `env` as its environment.
export function spawnDorm(bin, dataDir, threads, logFile, extraArgs = [], env = process.env) {
  const fd = fs.openSync(logFile, 'a');
  // stdout is piped to find the "listening" line; stderr goes straight to the log.
  const child = track(spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, '--threads', String(threads), ...extraArgs],
    { stdio: ['ignore', 'pipe', fd], detached: true, env }));
  fs.closeSync(fd);
  return child;
}

// Resolves with the loopback base URL from the child's "listening" line; rejects if it exits,
// prints nothing within timeoutMs, or listens elsewhere than on loopback.
export async function dormListening(child, logFile, timeoutMs, tailLines = 30) {
  const baseUrl = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`dorm serve printed no listening line within ${timeoutMs / 1000} s:\n${tail(logFile, tailLines)}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      fs.appendFileSync(logFile, d);
      buf += d;
      const m = /dorm: listening on (http:\/\/[^\s]+)/.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dorm serve exited with ${code}:\n${tail(logFile, tailLines)}`)); });
  });
  if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(baseUrl)) {
    throw new Error(`dorm listens on ${baseUrl}, which is not a loopback address`);
  }
  return baseUrl;
}

// Runs `dorm deploy file --name name --access public --data dataDir`; throws if it fails.
export function dormDeploy(bin, file, name, dataDir, timeoutMs) {
  const r = spawnSync(bin, ['deploy', file, '--name', name, '--access', 'public', '--data', dataDir], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`dorm deploy failed (${r.status}): ${r.stderr}${r.stdout}`);
}

// ---------------------------------------------------------------------------------------------
// One class on both servers (bench.mjs, storage.mjs, websocket.mjs, fetch.mjs, crypto.mjs): `cls`
// is { moduleFile (in bench/), className, route, binding, uniqueKey }. start() gives a freshly
// started server that is the only one alive: { baseUrl, pid, child, logFile }.

// workerd with the class behind the front worker (workerdFrontJs). Options: `source`, the module's
// file when not bench/<moduleFile>; `build(source, outFile)` writes the module instead of a copy
// (TypeScript); `localOutbound` lets its fetch() reach loopback addresses; `freshData` gives every
// start() a data folder of its own, so that no object of an earlier run is left to load (else
// `dataDir` is kept across restarts).
export function makeClassWorkerd(tmp, cls, { source, build, localOutbound = false, freshData = false } = {}) {
  const bin = workerdBinary();
  const confDir = path.join(tmp, 'workerd');
  const dataDir = path.join(tmp, 'workerd-data');
  fs.mkdirSync(confDir, { recursive: true });
  if (!freshData) fs.mkdirSync(dataDir, { recursive: true });
  const from = source ?? path.join(benchDir, cls.moduleFile);
  const to = path.join(confDir, cls.moduleFile);
  if (build) build(from, to);
  else fs.copyFileSync(from, to);
  fs.writeFileSync(path.join(confDir, 'worker.js'), workerdFrontJs(cls));
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  let runs = 0;
  return {
    name: 'workerd',
    version,
    binary: bin,
    dataDir: freshData ? null : dataDir,
    async start() {
      const runData = freshData ? `${dataDir}-${runs++}` : dataDir;
      if (freshData) fs.mkdirSync(runData, { recursive: true });
      const port = await freePort();
      fs.writeFileSync(path.join(confDir, 'config.capnp'), workerdConfig({
        port, dataDir: runData, workerName: 'benchWorker', compatibilityDate: '2025-01-01', ...cls, localOutbound,
      }));
      const logFile = path.join(tmp, 'workerd.log');
      const child = await startWorkerdProcess(bin, confDir, port, logFile, 30000);
      return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid, child, logFile };
    },
  };
}

// `dorm serve` (options o.dormBin, o.dormThreads, plus `extraArgs`) on one data folder in `tmp`,
// kept across restarts: deploy(dataDir) runs once, after the first start is listening, and a
// restart must still serve what it deployed. start() gives { baseUrl, pid, child, logFile } and
// stops the server again if it does not come up or the deploy throws.
export function makeDormServer(tmp, o, deploy, extraArgs = []) {
  const dataDir = path.join(tmp, 'dorm-data');
  fs.mkdirSync(dataDir, { recursive: true });
  let deployed = false;
  return {
    name: 'dorm',
    version: null,
    binary: o.dormBin,
    dataDir,
    async start() {
      const logFile = path.join(tmp, 'dorm.log');
      const child = spawnDorm(o.dormBin, dataDir, o.dormThreads, logFile, extraArgs);
      try {
        const baseUrl = await dormListening(child, logFile, 30000);
        if (!deployed) {
          deploy(dataDir);
          deployed = true;
        }
        return { baseUrl, pid: child.pid, child, logFile };
      } catch (e) {
        await stopProcess(child);
        throw e;
      }
    },
  };
}

// makeDormServer with the class deployed, public, under its route.
export function makeClassDorm(tmp, cls, o, extraArgs = []) {
  return makeDormServer(tmp, o, (dataDir) => dormDeploy(o.dormBin, path.join(benchDir, cls.moduleFile), cls.route, dataDir, 60000), extraArgs);
}

// Runs scenario `s` on a freshly started `server`, recording into `r` ({ scenarios, checks,
// errors }): `check(baseUrl, agent)` → { ok, ... } for the answer checked before the runs,
// `measure(baseUrl, seconds)` → wrk's result (called for the warm-up, then for the measured run),
// `report(res)` → the log line's text after the label. The server is stopped afterwards.
export async function runClassScenario(server, r, s, o, { check, measure, report }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let proc = null;
  try {
    proc = await server.start();
    r.checks[s.key] = await check(proc.baseUrl, agent);
    if (o.warmup > 0) await measure(proc.baseUrl, o.warmup);
    const res = await measure(proc.baseUrl, o.duration);
    r.scenarios[s.key] = res;
    log(`${r.server}: ${s.label}: ${report(res)}${res.error_count ? `, ${res.error_count} errors` : ''}`);
  } catch (e) {
    r.errors.push(`${s.key}: ${e.message}`);
    log(`${r.server}: ERROR in ${s.key}: ${e.message}`);
  } finally {
    agent.destroy();
    if (proc) await stopProcess(proc.child);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

// Requests per second for a table cell ('-' when unknown).
export const fmtRps = (v) => (v == null ? '-' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
// Milliseconds for a table cell ('-' when unknown).
export const fmtMs = (v) => (v == null ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
// A ratio as "1.23x" ('-' when unknown or infinite).
export const fmtRatio = (v) => (v == null || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`);
// a / b, or null when either is unknown or b is 0.
export const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

// The median of the numbers `xs` (null for none): the middle one, or the mean of the two middle ones.
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// A text table: first column left-aligned, the others right-aligned, a dashed rule under the header.
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// The machine's description for the JSON (with the load average when withLoadavg).
export function machineInfo(withLoadavg = false) {
  const cpu = os.cpus();
  const wrkVersion = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return {
    cpus: cpu.length,
    cpu_model: cpu[0]?.model,
    memory_bytes: os.totalmem(),
    kernel: os.release(),
    node: process.version,
    ...(withLoadavg ? { loadavg_at_start: os.loadavg() } : {}),
    // The servers inherit it; each live object may hold open files.
    open_files_limit: /Max open files\s+(\S+)\s+(\S+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.slice(1, 3).join('/') ?? null,
    wrk: `${wrkVersion.stdout}${wrkVersion.stderr}`.split('\n')[0].trim(),
  };
}

// Whether every server's correctness checks passed and its runs had no errors; prints what failed.
// `results`: { [server]: { server, checks: {key: {ok, ...}}, scenarios: {key: {error_count}},
// errors: [message] } }.
export function checksPassed(results) {
  let ok = true;
  for (const r of Object.values(results)) {
    for (const [key, c] of Object.entries(r.checks)) {
      if (!c.ok) { ok = false; console.log(`  ${r.server} ${key}: check FAILED ${JSON.stringify(c)}`); }
    }
    for (const s of Object.values(r.scenarios)) if (s.error_count) ok = false;
    for (const e of r.errors) { ok = false; console.log(`  ${r.server} error: ${e}`); }
  }
  return ok;
}

// Checks that the servers `o` selects are installed (exits through fail when not), then makes the
// run's temporary folder, /tmp/<prefix>XXXXXX, and says where it is; returns its path.
export function benchTempDir(o, prefix) {
  if (o.dorm && !fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or use --workerd-only`);
  if (o.workerd) workerdBinary();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  log(`temporary folder ${tmp}`);
  return tmp;
}

// Writes `json` to o.out, reports where, removes or keeps tmp, and exits 0 when all went well.
export function finish(o, json, tmp, ok) {
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(json, null, 2)}\n`);
  console.log('');
  log(`results written to ${path.relative(process.cwd(), o.out) || o.out}`);
  if (o.keep || !ok) log(`kept ${tmp} (configs, data and server logs)`);
  else fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

// Prints one server's correctness rows ([name, ok, detail]), a row for wrk errors and its error
// lines, with check names padded to the longest; returns whether everything passed. `ok` is null for
// a check whose scenario the options left out (--only): printed as skipped, not a failure. Any
// other value but true fails, undefined (a selected scenario that did not get to it) included.
export function printChecks(result, checks) {
  const wrkRow = 'wrk runs without errors';
  const width = Math.max(wrkRow.length, ...checks.map(([name]) => name.length));
  const mark = (x) => (x === null ? 'skipped' : x === undefined ? 'not run' : x ? 'ok' : 'FAILED');
  let allOk = true;
  for (const [name, ok, detail] of checks) {
    if (ok !== true && ok !== null) allOk = false;
    console.log(`  ${result.server.padEnd(8)} ${name.padEnd(width)} ${mark(ok).padEnd(8)} ${detail ?? ''}`);
  }
  const wrkErrors = Object.values(result.scenarios).reduce((acc, s) => acc + s.error_count, 0);
  if (wrkErrors) {
    allOk = false;
    console.log(`  ${result.server.padEnd(8)} ${wrkRow.padEnd(width)} FAILED   ${wrkErrors} errors (see JSON)`);
  }
  for (const e of result.errors) console.log(`  ${result.server.padEnd(8)} error: ${e.split('\n')[0]}`);
  if (result.errors.length) allOk = false;
  return allOk;
}
