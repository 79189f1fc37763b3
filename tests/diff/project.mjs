// Differential check of a whole Wrangler project: examples/wrangler-project (a Worker and two
// classes calling each other over RPC, vars, migrations), unmodified, deployed on Dorm with
// `dorm deploy DIR` and on workerd from a capnp configuration generated from its wrangler.jsonc
// (main bundled by esbuild as Wrangler bundles it). The same requests go to both Workers and the
// answers (status and body, timestamps normalised) are compared, allow-list
// known-differences-project.json (harness.mjs: options, exit status).
//
//   node tests/diff/project.mjs [--keep] [--only request,...] [--dorm PATH] [--workerd-only] [--project DIR]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { diffDir, rootDir, diffOptions, startWorkerd, startDorm, runDiff } from './harness.mjs';

const knownFile = path.join(diffDir, 'known-differences-project.json');

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

const opt = diffOptions(REQUESTS.map(([name]) => name), {
  '--project': (o, value) => { o.project = path.resolve(value); },
});
opt.project ??= path.join(rootDir, 'examples', 'wrangler-project');
const requests = opt.only ? REQUESTS.filter(([name]) => opt.only.includes(name)) : REQUESTS;

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

// The Worker bundled as Wrangler bundles it for workerd (and as `dorm deploy` does), with its vars
// and the classes it defines bound as in wrangler.jsonc.
function workerdFiles(config) {
  const bundled = spawnSync('esbuild', [config.main, '--bundle', '--format=esm', '--target=es2022',
    '--platform=neutral', '--main-fields=module,main', '--conditions=workerd,worker,browser',
    '--external:cloudflare:*', '--log-level=error'],
  { cwd: opt.project, encoding: 'utf8', maxBuffer: 64 << 20 });
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
  return {
    texts: { 'bundle.js': bundled.stdout },
    config: (port, dataDir) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .w),
    (name = "disk", disk = (path = ${capnpString(dataDir)}, writable = true)),
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
`,
  };
}

function deployProject(data) {
  const deployed = spawnSync(opt.dorm, ['deploy', opt.project, '--data', data], { encoding: 'utf8', timeout: 60000 });
  if (deployed.status !== 0) throw new Error(`dorm deploy: ${deployed.stderr}`);
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
  for (const [name, method, p, body] of requests) out[name] = await ask(server, method, p, body);
  return out;
}

runDiff(opt, {
  label: 'project',
  tmpPrefix: 'dorm-diff-project-',
  knownFile,
  names: requests.map(([name]) => name),
  prepare: () => readConfig(),
  startWorkerd: async (tmp, config) => ({ ...await startWorkerd(tmp, workerdFiles(config)), host: null }),
  startDorm: async (tmp, config) => {
    const d = await startDorm(tmp, opt, { deploy: deployProject });
    return { ...d, host: `${config.name}.localhost:${new URL(d.baseUrl).port}` };
  },
  runAll,
});
