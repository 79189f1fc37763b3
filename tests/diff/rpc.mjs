// Differential check of calls between objects: the classes of tests/e2e/fixtures/rpc/ (Target,
// Plain, Caller), unmodified, on workerd and on Dorm; every scenario of caller.js runs in a Caller
// object on both and the JSON answers are compared (ids normalised). Exit status 0 when every
// difference is listed in known-differences-rpc.json, 1 otherwise, 2 when a server could not start.
//
//   node tests/diff/rpc.mjs [--keep] [--only scenario,...] [--dorm PATH]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  stopProcess, killAllChildren, freePort, workerdCandidates, workerdFrontJs, workerdConfig,
  startWorkerdProcess, spawnDorm, dormListening, dormDeploy,
} from '../../bench/lib.mjs';
import { answerOf, report } from './compare.mjs';

const diffDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(diffDir, '..', '..');
const fixtures = path.join(rootDir, 'tests', 'e2e', 'fixtures', 'rpc');
const knownFile = path.join(diffDir, 'known-differences-rpc.json');
const COMPAT_DATE = '2026-03-01';
const OVERALL_LIMIT_MS = 110000;

// Each class: its file, exported name, Dorm name (URL and binding: TARGET...) and storage kind.
const CLASSES = [
  { file: 'target.js', className: 'Target', name: 'target', binding: 'TARGET' },
  { file: 'plain.js', className: 'Plain', name: 'plain', binding: 'PLAIN' },
  { file: 'caller.js', className: 'Caller', name: 'caller', binding: 'CALLER' },
];

// [scenario, query, caller instance]: run in this order (some depend on earlier ones).
const SCENARIOS = [
  ['envKeys', ''], ['increment', 'name=shared&by=2'], ['increment', 'name=shared&by=3'], ['getterArgs', ''], ['clone', ''],
  ['fail', ''], ['failLater', ''], ['reserved', ''], ['missing', ''], ['instanceProperty', ''],
  ['prototypeOnStub', ''], ['notAFunction', ''], ['returnFunction', ''], ['argFunction', ''],
  ['rpcTarget', ''], ['pipeline', ''], ['targetArg', ''], ['targetArgDispose', ''], ['keptCallback', ''], ['dupCallback', ''], ['stubArg', ''],
  ['functionsInResult', ''], ['stubProperty', ''], ['unclonable', ''],
  ['plainRpc', ''], ['plainFetch', ''], ['ids', ''], ['jurisdiction', ''], ['badIds', ''],
  ['fetch', 'name=fetched'], ['increment', 'name=fetched-count&by=7'], ['fetchRequest', 'name=fetched-count'],
  ['fetchThrows', ''], ['streamArg', ''], ['streamArgString', ''], ['streamArgObject', ''], ['streamArgError', ''],
  ['streamArgCancel', ''], ['streamArgIgnored', ''], ['streamArgKept', ''], ['streamArgLocked', ''], ['streamResult', ''],
  ['streamResultString', ''], ['streamResultError', ''], ['streamResultNested', ''], ['streamResultBig', ''],
  ['streamResultUnread', ''], ['streamClone', ''], ['streamPut', ''],
  ['requestArg', ''], ['requestArgStream', ''], ['requestEncodeManual', ''], ['requestEncodeAutomatic', ''],
  ['requestEncodeMade', ''], ['responseArg', ''], ['responseResult', ''], ['headersResult', ''],
  ['domExceptionArg', ''], ['writableArg', ''], ['writableArgString', ''], ['fetchStream', ''], ['fetchStreamFails', ''], ['fetchUploadStream', ''], ['order', 'name=ordered&n=50'], ['writeThenCall', 'name=gated'], ['self', 'depth=3'], ['reset', ''], ['afterReset', ''],
  ['spread', 'prefix=load&objects=10&rounds=3'],
];

const args = process.argv.slice(2);
const opt = { keep: false, only: null, dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm') };
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--keep') opt.keep = true;
  else if (args[i] === '--only') opt.only = args[++i].split(',');
  else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
  else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
}

const stop = (child) => stopProcess(child, 5000);
let tmp = null;
const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
process.on('exit', killAllChildren);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAllChildren(); cleanupTmp(); process.exit(130); });

async function startWorkerd() {
  const bin = workerdCandidates()[0];
  if (!fs.existsSync(bin)) throw new Error(`workerd not found at ${bin} (run npm ci in bench/)`);
  const conf = path.join(tmp, 'workerd');
  const data = path.join(tmp, 'workerd-data');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  for (const c of CLASSES) fs.copyFileSync(path.join(fixtures, c.file), path.join(conf, c.file));
  fs.writeFileSync(path.join(conf, 'worker.js'), workerdFrontJs({
    classes: CLASSES.map((c) => ({ moduleFile: c.file, className: c.className, route: c.name, binding: c.binding })),
  }));
  const port = await freePort();
  fs.writeFileSync(path.join(conf, 'config.capnp'), workerdConfig({
    port, dataDir: data, workerName: 'w', compatibilityDate: COMPAT_DATE,
    classes: CLASSES.map((c) => ({
      moduleFile: c.file, className: c.className, uniqueKey: `dorm-diff-rpc-${c.name}`, binding: c.binding,
    })),
  }));
  const logFile = path.join(tmp, 'workerd.log');
  const child = await startWorkerdProcess(bin, conf, port, logFile, 20000, 20);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { name: 'workerd', version, child, baseUrl: `http://127.0.0.1:${port}` };
}

async function startDorm() {
  if (!fs.existsSync(opt.dorm)) throw new Error(`${opt.dorm} does not exist`);
  const data = path.join(tmp, 'dorm-data');
  fs.mkdirSync(data, { recursive: true });
  const logFile = path.join(tmp, 'dorm.log');
  const child = spawnDorm(opt.dorm, data, 2, logFile);
  try {
    const baseUrl = await dormListening(child, logFile, 20000, 20);
    for (const c of CLASSES) dormDeploy(opt.dorm, path.join(fixtures, c.file), c.name, data, 30000);
    return { name: 'dorm', child, baseUrl };
  } catch (e) {
    await stop(child);
    throw e;
  }
}

async function call(server, scenario, query) {
  return answerOf(`${server.baseUrl}/_do/caller/c1/${scenario}${query ? `?${query}` : ''}`);
}

// Runs the scenarios in order; a scenario run more than once is named "<name>#<n>".
async function runAll(server, scenarios) {
  const out = {};
  for (const [name, query] of scenarios) {
    let key = name;
    for (let n = 2; key in out; n++) key = `${name}#${n}`;
    out[key] = await call(server, name, query);
  }
  return out;
}

async function main() {
  const guard = setTimeout(() => { console.error('diff: overall time limit reached'); killAllChildren(); cleanupTmp(); process.exit(2); }, OVERALL_LIMIT_MS);
  guard.unref();
  const known = JSON.parse(fs.readFileSync(knownFile, 'utf8'));
  const scenarios = opt.only ? SCENARIOS.filter(([n]) => opt.only.includes(n)) : SCENARIOS;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-diff-rpc-'));
  let servers = [];
  let results;
  try {
    const [w, d] = await Promise.all([startWorkerd(), startDorm()]);
    servers = [w, d];
    console.log(`diff rpc: ${w.version} at ${w.baseUrl}, dorm at ${d.baseUrl}; ${scenarios.length} scenarios`);
    const [rw, rd] = await Promise.all([runAll(w, scenarios), runAll(d, scenarios)]);
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
