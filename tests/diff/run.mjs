// Differential check: runs every scenario of scenarios.js on workerd and on Dorm and compares the
// JSON answers. Exit status 0 when every difference is listed in known-differences.json, 1
// otherwise, 2 when a server could not be started.
//
//   node tests/diff/run.mjs [--keep] [--only scenario,...] [--dorm PATH]

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  sleep, stopProcess, killAllChildren, freePort, workerdCandidates, workerdFrontJs, workerdConfig,
  startWorkerdProcess, spawnDorm, dormListening, dormDeploy,
} from '../../bench/lib.mjs';
import { answerOf, report } from './compare.mjs';

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
  'batch_limits', 'hostile_arguments', 'kv_list_mutation', 'poisoned_results', 'argument_errors', 'key_value_sizes', 'alarm_in_transaction', 'rows_read', 'cf_tables_visible', 'database_size', 'rename_to_cf',
  'host_object_clone', 'api_clone_refused', 'api_clone_copied', 'event_shapes',
];

const args = process.argv.slice(2);
const opt = { keep: false, only: null, dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm') };
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--keep') opt.keep = true;
  else if (args[i] === '--only') opt.only = args[++i].split(',');
  else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
  else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
}


// ---------------------------------------------------------------------------------------------
// Processes (each server in its own process group; only those are ever signalled)

const stop = (child) => stopProcess(child, 5000);
const killAll = killAllChildren;
let tmp = null;
const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); cleanupTmp(); process.exit(130); });

// ---------------------------------------------------------------------------------------------
// workerd

function workerdBinary() {
  const f = workerdCandidates()[0];
  if (!fs.existsSync(f)) throw new Error(`workerd not found at ${f} (run npm ci in bench/)`);
  return f;
}

const frontJs = workerdFrontJs({ moduleFile: 'scenarios.js', className: CLASS, route: NAME, binding: 'PROBE' });

async function startWorkerd() {
  const bin = workerdBinary();
  const conf = path.join(tmp, 'workerd');
  const data = path.join(tmp, 'workerd-data');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  fs.copyFileSync(scenariosFile, path.join(conf, 'scenarios.js'));
  fs.writeFileSync(path.join(conf, 'worker.js'), frontJs);
  const port = await freePort();
  fs.writeFileSync(path.join(conf, 'config.capnp'), workerdConfig({
    port, dataDir: data, workerName: 'w', moduleFile: 'scenarios.js', compatibilityDate: COMPAT_DATE,
    className: CLASS, uniqueKey: 'dorm-diff-probe', binding: 'PROBE',
  }));
  const logFile = path.join(tmp, 'workerd.log');
  const child = await startWorkerdProcess(bin, conf, port, logFile, 20000, 20);
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
  const child = spawnDorm(opt.dorm, data, 2, logFile);
  try {
    const baseUrl = await dormListening(child, logFile, 20000, 20);
    dormDeploy(opt.dorm, scenariosFile, NAME, data, 30000);
    return { name: 'dorm', version: null, child, baseUrl, logFile };
  } catch (e) {
    await stop(child);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

async function call(server, id, query = '') {
  return answerOf(`${server.baseUrl}/_do/${NAME}/${encodeURIComponent(id)}/${id}${query}`);
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

  const { unknown } = report(names, results, known);
  if (opt.keep) {
    fs.writeFileSync(path.join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`diff: kept ${tmp}`);
  } else {
    cleanupTmp();
  }
  process.exit(unknown.length ? 1 : 0);
}

main();
