// Differential check of a whole Wrangler project: examples/wrangler-project (a Worker and two
// classes calling each other over RPC, vars, migrations), unmodified, deployed on Dorm with
// `dorm deploy DIR` and on workerd from a capnp configuration generated from its wrangler.jsonc
// (main bundled by esbuild as Wrangler bundles it). The same requests go to both Workers and the
// answers (status and body, timestamps normalised) are compared. Exit status 0 when every
// difference is listed in known-differences-project.json, 1 otherwise, 2 when a server could not
// start.
//
//   node tests/diff/project.mjs [--keep] [--dorm PATH] [--project DIR]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  stopProcess, killAllChildren, freePort, workerdCandidates, startWorkerdProcess, spawnDorm,
  dormListening,
} from '../../bench/lib.mjs';
import { report } from './compare.mjs';

const diffDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(diffDir, '..', '..');
const knownFile = path.join(diffDir, 'known-differences-project.json');
const OVERALL_LIMIT_MS = 110000;

const args = process.argv.slice(2);
const opt = {
  keep: false,
  dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm'),
  project: path.join(rootDir, 'examples', 'wrangler-project'),
};
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--keep') opt.keep = true;
  else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
  else if (args[i] === '--project') opt.project = path.resolve(args[++i]);
  else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
}

// [name, method, path, body]: run in this order (later requests see earlier writes).
const REQUESTS = [
  ['join', 'POST', '/rooms/lobby/join?user=ann'],
  ['joinAgain', 'POST', '/rooms/lobby/join?user=ann'],
  ['joinOther', 'POST', '/rooms/garden/join?user=ann'],
  ['post', 'POST', '/rooms/lobby/post?user=ann', 'hello'],
  ['post2', 'POST', '/rooms/lobby/post?user=ann', 'second'],
  ['notMember', 'POST', '/rooms/lobby/post?user=bob', 'hi'],
  ['history', 'GET', '/rooms/lobby'],
  ['emptyRoom', 'GET', '/rooms/empty'],
  ['wrongMethod', 'DELETE', '/rooms/lobby'],
  ['notFound', 'GET', '/elsewhere'],
  ['root', 'GET', '/'],
];

// JSON with comments and trailing commas, as wrangler.jsonc allows.
function parseJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
    } else {
      out += c;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

const stop = (child) => stopProcess(child, 5000);
let tmp = null;
const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAllChildren(); cleanupTmp(); process.exit(130); });

function readConfig() {
  for (const name of ['wrangler.json', 'wrangler.jsonc']) {
    const file = path.join(opt.project, name);
    if (fs.existsSync(file)) return parseJsonc(fs.readFileSync(file, 'utf8'));
  }
  throw new Error(`no wrangler.json(c) in ${opt.project}`);
}

function capnpString(s) {
  return JSON.stringify(s);
}

async function startWorkerd(config) {
  const bin = workerdCandidates()[0];
  if (!fs.existsSync(bin)) throw new Error(`workerd not found at ${bin} (run npm ci in bench/)`);
  const conf = path.join(tmp, 'workerd');
  const data = path.join(tmp, 'workerd-data');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  // Bundled as Wrangler bundles for workerd (and as `dorm deploy` does).
  const bundled = spawnSync('esbuild', [config.main, '--bundle', '--format=esm', '--target=es2022',
    '--platform=neutral', '--main-fields=module,main', '--conditions=workerd,worker,browser',
    '--external:cloudflare:*', `--outfile=${path.join(conf, 'bundle.js')}`, '--log-level=error'],
  { cwd: opt.project, encoding: 'utf8' });
  if (bundled.status !== 0) throw new Error(`esbuild: ${bundled.stderr}`);
  const bindings = [];
  for (const [name, value] of Object.entries(config.vars ?? {})) {
    bindings.push(typeof value === 'string'
      ? `(name = ${capnpString(name)}, text = ${capnpString(value)})`
      : `(name = ${capnpString(name)}, json = ${capnpString(JSON.stringify(value))})`);
  }
  const classes = (config.durable_objects?.bindings ?? []).filter((b) => !b.script_name);
  for (const b of classes) {
    bindings.push(`(name = ${capnpString(b.name)}, durableObjectNamespace = ${capnpString(b.class_name)})`);
  }
  const namespaces = [...new Set(classes.map((b) => b.class_name))]
    .map((c) => `(className = ${capnpString(c)}, uniqueKey = "dorm-diff-project-${c}", enableSql = true)`);
  const port = await freePort();
  fs.writeFileSync(path.join(conf, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .w),
    (name = "disk", disk = (path = ${capnpString(data)}, writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const w :Workerd.Worker = (
  modules = [(name = "bundle.js", esModule = embed "bundle.js")],
  compatibilityDate = ${capnpString(config.compatibility_date ?? '2025-09-01')},
  durableObjectNamespaces = [${namespaces.join(', ')}],
  durableObjectStorage = (localDisk = "disk"),
  bindings = [${bindings.join(', ')}],
);
`);
  const child = await startWorkerdProcess(bin, conf, port, path.join(tmp, 'workerd.log'), 20000, 20);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { name: 'workerd', version, child, baseUrl: `http://127.0.0.1:${port}`, host: null };
}

async function startDorm(config) {
  if (!fs.existsSync(opt.dorm)) throw new Error(`${opt.dorm} does not exist`);
  const data = path.join(tmp, 'dorm-data');
  fs.mkdirSync(data, { recursive: true });
  const logFile = path.join(tmp, 'dorm.log');
  const child = spawnDorm(opt.dorm, data, 2, logFile);
  try {
    const baseUrl = await dormListening(child, logFile, 20000, 20);
    const deployed = spawnSync(opt.dorm, ['deploy', opt.project, '--data', data], { encoding: 'utf8', timeout: 60000 });
    if (deployed.status !== 0) throw new Error(`dorm deploy: ${deployed.stderr}`);
    const port = new URL(baseUrl).port;
    return { name: 'dorm', child, baseUrl, host: `${config.name}.localhost:${port}` };
  } catch (e) {
    await stop(child);
    throw e;
  }
}

// Status and body (JSON when it parses), with message timestamps made comparable.
async function ask(server, method, p, body) {
  // node:http, since fetch() will not send a Host header of one's own.
  const url = new URL(`${server.baseUrl}${p}`);
  const headers = server.host ? { host: server.host } : {};
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  const res = await new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const { text } = res;
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a text answer
  }
  const scrub = (v) => {
    if (Array.isArray(v)) return v.map(scrub);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'at' && typeof x === 'number' ? '<time>' : scrub(x)]));
    }
    return v;
  };
  return { status: res.status, body: scrub(parsed) };
}

async function runAll(server) {
  const out = {};
  for (const [name, method, p, body] of REQUESTS) out[name] = await ask(server, method, p, body);
  return out;
}

async function main() {
  const guard = setTimeout(() => { console.error('diff: overall time limit reached'); killAllChildren(); cleanupTmp(); process.exit(2); }, OVERALL_LIMIT_MS);
  guard.unref();
  const known = fs.existsSync(knownFile) ? JSON.parse(fs.readFileSync(knownFile, 'utf8')) : {};
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-diff-project-'));
  let servers = [];
  let results;
  try {
    const config = readConfig();
    const [w, d] = await Promise.all([startWorkerd(config), startDorm(config)]);
    servers = [w, d];
    console.log(`diff project: ${w.version} at ${w.baseUrl}, dorm at ${d.baseUrl}; ${REQUESTS.length} requests`);
    const [rw, rd] = await Promise.all([runAll(w), runAll(d)]);
    results = { workerd: rw, dorm: rd };
  } catch (e) {
    console.error(`diff: ${e.stack ?? e}`);
    for (const s of servers) await stop(s.child);
    killAllChildren();
    console.error(`diff: kept ${tmp}`);
    process.exit(2);
  }
  for (const s of servers) await stop(s.child);
  const { unknown } = report(Object.keys(results.workerd), results, known);
  if (opt.keep) {
    fs.writeFileSync(path.join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`diff: kept ${tmp}`);
  } else {
    cleanupTmp();
  }
  process.exit(unknown.length ? 1 : 0);
}

main();
