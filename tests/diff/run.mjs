// Differential check: runs every scenario of scenarios.js on workerd and on Dorm and compares the
// JSON answers. Exit status 0 when every difference is listed in known-differences.json, 1
// otherwise, 2 when a server could not be started.
//
//   node tests/diff/run.mjs [--keep] [--only scenario,...] [--dorm PATH]

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

const diffDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(diffDir, '..', '..');
const scenariosFile = path.join(diffDir, 'scenarios.js');
const knownFile = path.join(diffDir, 'known-differences.json');
const CLASS = 'DiffProbe';
const NAME = 'diff-probe';
const COMPAT_DATE = '2026-03-01';
const ALARM_WAIT_MS = 1200;
const OVERALL_LIMIT_MS = 110000;

// Scenario names, in the order they run (the keys of SCENARIOS in scenarios.js).
const SCENARIO_NAMES = [
  'get_put_delete_single', 'get_put_delete_batch', 'list_options', 'list_errors', 'utf8_key_order',
  'put_undefined', 'data_clone_error', 'transaction_rollback', 'delete_all', 'sql_exec_cursor',
  'sql_errors', 'transaction_sync', 'kv_sync', 'set_alarm_zero', 'get_alarm_set_delete', 'alarm_fires',
  'batch_limits', 'key_value_sizes', 'alarm_in_transaction', 'rows_read', 'cf_tables_visible', 'database_size', 'rename_to_cf',
];

const args = process.argv.slice(2);
const opt = { keep: false, only: null, dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm') };
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--keep') opt.keep = true;
  else if (args[i] === '--only') opt.only = args[++i].split(',');
  else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
  else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Processes (each server in its own process group; only those are ever signalled)

const children = new Set();
function killGroup(child, signal) {
  try { process.kill(-child.pid, signal); } catch { try { child.kill(signal); } catch { /* gone */ } }
}
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}
const killAll = () => { for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL'); };
let tmp = null;
const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); cleanupTmp(); process.exit(130); });

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}
function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}
const tail = (f) => { try { return fs.readFileSync(f, 'utf8').split('\n').slice(-20).join('\n'); } catch { return '(no log)'; } };

// ---------------------------------------------------------------------------------------------
// workerd

function workerdBinary() {
  const arch = { x64: '64', arm64: 'arm64' }[process.arch];
  const f = path.join(rootDir, 'bench', 'node_modules', '@cloudflare', `workerd-linux-${arch}`, 'bin', 'workerd');
  if (!fs.existsSync(f)) throw new Error(`workerd not found at ${f} (run npm ci in bench/)`);
  return f;
}

const frontJs = `import { ${CLASS} } from "./scenarios.js";
export { ${CLASS} };
const route = /^\\/_do\\/${NAME}\\/([^/]+)(\\/.*)?$/;
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = route.exec(url.pathname);
    if (m === null) return Response.json({ error: "no route" }, { status: 404 });
    const stub = env.PROBE.get(env.PROBE.idFromName(decodeURIComponent(m[1])));
    return stub.fetch(new Request("http://host" + (m[2] ?? "/") + url.search, request));
  },
};
`;

async function startWorkerd() {
  const bin = workerdBinary();
  const conf = path.join(tmp, 'workerd');
  const data = path.join(tmp, 'workerd-data');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  fs.copyFileSync(scenariosFile, path.join(conf, 'scenarios.js'));
  fs.writeFileSync(path.join(conf, 'worker.js'), frontJs);
  const port = await freePort();
  fs.writeFileSync(path.join(conf, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .w),
    (name = "disk", disk = (path = ${JSON.stringify(data)}, writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "scenarios.js", esModule = embed "scenarios.js"),
  ],
  compatibilityDate = "${COMPAT_DATE}",
  durableObjectNamespaces = [ (className = "${CLASS}", uniqueKey = "dorm-diff-probe", enableSql = true) ],
  durableObjectStorage = (localDisk = "disk"),
  bindings = [ (name = "PROBE", durableObjectNamespace = "${CLASS}") ],
);
`);
  const logFile = path.join(tmp, 'workerd.log');
  const fd = fs.openSync(logFile, 'a');
  const child = track(spawn(bin, ['serve', 'config.capnp'], { cwd: conf, stdio: ['ignore', fd, fd], detached: true }));
  fs.closeSync(fd);
  const deadline = Date.now() + 20000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${tail(logFile)}`);
    if (Date.now() > deadline) { await stop(child); throw new Error(`workerd did not listen within 20 s:\n${tail(logFile)}`); }
    await sleep(100);
  }
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { name: 'workerd', version, child, baseUrl: `http://127.0.0.1:${port}`, logFile };
}

// ---------------------------------------------------------------------------------------------
// Dorm

async function startDorm() {
  if (!fs.existsSync(opt.dorm)) throw new Error(`${opt.dorm} does not exist`);
  const data = path.join(tmp, 'dorm-data');
  fs.mkdirSync(data, { recursive: true });
  const logFile = path.join(tmp, 'dorm.log');
  const fd = fs.openSync(logFile, 'a');
  const child = track(spawn(opt.dorm, ['serve', '--listen', '127.0.0.1:0', '--data', data, '--threads', '2'],
    { stdio: ['ignore', 'pipe', fd], detached: true }));
  fs.closeSync(fd);
  try {
    const baseUrl = await new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`dorm serve printed no listening line within 20 s:\n${tail(logFile)}`)), 20000);
      child.stdout.on('data', (d) => {
        fs.appendFileSync(logFile, d);
        buf += d;
        const m = /dorm: listening on (http:\/\/[^\s]+)/.exec(buf);
        if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`dorm serve exited with ${code}:\n${tail(logFile)}`)); });
    });
    if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(baseUrl)) throw new Error(`dorm listens on ${baseUrl}, not loopback`);
    const r = spawnSync(opt.dorm, ['deploy', scenariosFile, '--name', NAME, '--access', 'public', '--data', data], { encoding: 'utf8', timeout: 30000 });
    if (r.status !== 0) throw new Error(`dorm deploy failed (${r.status}): ${r.stderr}${r.stdout}`);
    return { name: 'dorm', version: null, child, baseUrl, logFile };
  } catch (e) {
    await stop(child);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

async function call(server, id, query = '') {
  const url = `${server.baseUrl}/_do/${NAME}/${encodeURIComponent(id)}/${id}${query}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return res.status === 200 ? body : { httpStatus: res.status, body };
  } catch (e) {
    return { requestFailed: e.message };
  }
}

// Values that legitimately differ between the two runs.
function normalise(v) {
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  if (typeof v === 'number' && v > 1e12 && v < 1e13) return '<time>'; // epoch milliseconds
  if (typeof v === 'string') return v.replace(/\b[0-9a-f]{64}\b/g, '<id>');
  return v;
}

async function runAll(server, names) {
  const out = {};
  const twoStep = names.filter((n) => n === 'alarm_fires');
  for (const n of twoStep) out[n] = { set: await call(server, n, '?step=set') };
  const started = Date.now();
  for (const n of names) if (!twoStep.includes(n)) out[n] = await call(server, n);
  if (twoStep.length) {
    const wait = ALARM_WAIT_MS - (Date.now() - started);
    if (wait > 0) await sleep(wait);
    for (const n of twoStep) out[n].read = await call(server, n, '?step=read');
  }
  return out;
}

const show = (v) => util.inspect(v, { depth: null, colors: false, breakLength: 100 });

function sideBySide(a, b) {
  const la = JSON.stringify(a, null, 2).split('\n');
  const lb = JSON.stringify(b, null, 2).split('\n');
  const w = Math.max(20, ...la.map((l) => l.length));
  const rows = [`${'workerd'.padEnd(w)} | dorm`, `${'-'.repeat(w)}-+-${'-'.repeat(20)}`];
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    const x = la[i] ?? '';
    const y = lb[i] ?? '';
    rows.push(`${x.padEnd(w)} ${x === y ? '|' : '*'} ${y}`);
  }
  return rows.join('\n');
}

// Leaf paths where the two values differ, as "path: workerd=... dorm=..." lines.
function pathDiff(a, b, at = '') {
  const isObj = (x) => x !== null && typeof x === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => pathDiff(a[k], b[k], `${at}${Array.isArray(a) ? `[${k}]` : `.${k}`}`));
  }
  if (util.isDeepStrictEqual(a, b)) return [];
  const j = (x) => (x === undefined ? '(absent)' : JSON.stringify(x));
  return [`${at || '.'}: workerd=${j(a)} dorm=${j(b)}`];
}

async function main() {
  const guard = setTimeout(() => { console.error('diff: overall time limit reached'); killAll(); cleanupTmp(); process.exit(2); }, OVERALL_LIMIT_MS);
  guard.unref();
  const known = JSON.parse(fs.readFileSync(knownFile, 'utf8'));
  const names = opt.only ?? SCENARIO_NAMES;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-diff-'));
  let servers = [];
  let results;
  try {
    const [w, d] = await Promise.all([startWorkerd(), startDorm()]);
    servers = [w, d];
    console.log(`diff: ${w.version} at ${w.baseUrl}, dorm at ${d.baseUrl}; ${names.length} scenarios`);
    const [rw, rd] = await Promise.all([runAll(w, names), runAll(d, names)]);
    results = { workerd: rw, dorm: rd };
  } catch (e) {
    console.error(`diff: ${e.stack ?? e}`);
    for (const s of servers) await stop(s.child);
    killAll();
    console.error(`diff: kept ${tmp}`);
    process.exit(2);
  }
  for (const s of servers) await stop(s.child);

  const differences = [];
  for (const n of names) {
    const a = normalise(results.workerd[n]);
    const b = normalise(results.dorm[n]);
    const same = util.isDeepStrictEqual(a, b);
    if (same) { console.log(`${n}: same`); continue; }
    const reason = known[n];
    differences.push({ scenario: n, known: Boolean(reason) });
    console.log(`${n}: DIFFERENT${reason ? ` (known: ${reason})` : ' (NEW)'}`);
    for (const line of pathDiff(a, b)) console.log(`    ${line}`);
    console.log(sideBySide(a, b).split('\n').map((l) => `    ${l}`).join('\n'));
  }
  const unknown = differences.filter((d) => !d.known);
  const stale = Object.keys(known).filter((k) => !differences.some((d) => d.scenario === k) && names.includes(k));
  console.log('');
  console.log(`diff: ${names.length} scenarios, ${names.length - differences.length} same, ` +
    `${differences.length - unknown.length} known differences, ${unknown.length} new`);
  if (stale.length) console.log(`diff: allow-listed but now the same: ${stale.join(', ')}`);
  if (unknown.length) console.log(`diff: new differences: ${unknown.map((d) => d.scenario).join(', ')}`);
  if (opt.keep) {
    fs.writeFileSync(path.join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`diff: kept ${tmp}`);
  } else {
    cleanupTmp();
  }
  process.exit(unknown.length ? 1 : 0);
}

main();
