// The differential check of one probe class (webcrypto.mjs, htmlrewriter.mjs): every scenario of
// the probe runs in an object of the class on workerd and on Dorm (GET /_do/<name>/<scenario>/<scenario>),
// and the JSON answers are compared. Exit status 0 when every difference is listed in the
// known-differences file, 1 otherwise, 2 when a server could not be started or the run took over
// 110 s.
//
//   node tests/diff/<probe>.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
//
// --workerd-only prints workerd's answers without starting Dorm (to see what the oracle says).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  stopProcess, killAllChildren, freePort, workerdCandidates, workerdConfig, workerdFrontJs,
  startWorkerdProcess, spawnDorm, dormListening, dormDeploy,
} from '../../bench/lib.mjs';
import { answerOf, normalise, report } from './compare.mjs';

const diffDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.resolve(diffDir, '..', '..');
const COMPAT_DATE = '2026-03-01';
const OVERALL_LIMIT_MS = 110000;

// probe: { file (under tests/e2e/fixtures), className, name (the route and the deploy's name),
// known (the known-differences file under tests/diff), scenarios (names, in the order they run),
// tmpPrefix }.
export async function runProbeDiff(probe) {
  const probeFile = path.join(rootDir, 'tests', 'e2e', 'fixtures', probe.file);
  const knownFile = path.join(diffDir, probe.known);
  const args = process.argv.slice(2);
  const opt = { keep: false, only: null, workerdOnly: false, dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm') };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--keep') opt.keep = true;
    else if (args[i] === '--only') opt.only = args[++i].split(',');
    else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
    else if (args[i] === '--workerd-only') opt.workerdOnly = true;
    else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
  }
  const unknownNames = (opt.only ?? []).filter((n) => !probe.scenarios.includes(n));
  if (unknownNames.length) { console.error(`diff: unknown scenario ${unknownNames.join(', ')}`); process.exit(2); }

  let tmp = null;
  const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAllChildren(); cleanupTmp(); process.exit(130); });

  async function startWorkerd() {
    const bin = workerdCandidates().find((c) => fs.existsSync(c));
    if (!bin) throw new Error('workerd not found (npm ci in bench/)');
    const conf = path.join(tmp, 'workerd');
    const data = path.join(tmp, 'workerd-data');
    fs.mkdirSync(conf, { recursive: true });
    fs.mkdirSync(data, { recursive: true });
    fs.copyFileSync(probeFile, path.join(conf, probe.file));
    fs.writeFileSync(path.join(conf, 'worker.js'), workerdFrontJs({
      moduleFile: probe.file, className: probe.className, route: probe.name, binding: 'PROBE',
    }));
    const port = await freePort();
    fs.writeFileSync(path.join(conf, 'config.capnp'), workerdConfig({
      port, dataDir: data, workerName: 'w', moduleFile: probe.file, compatibilityDate: COMPAT_DATE,
      className: probe.className, uniqueKey: `dorm-${probe.name}`, binding: 'PROBE',
    }));
    const child = await startWorkerdProcess(bin, conf, port, path.join(tmp, 'workerd.log'), 20000, 20);
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
      dormDeploy(opt.dorm, probeFile, probe.name, data, 30000);
      return { name: 'dorm', child, baseUrl };
    } catch (e) {
      await stopProcess(child, 5000);
      throw e;
    }
  }

  async function runAll(server, names) {
    const out = {};
    for (const n of names) out[n] = normalise(await answerOf(`${server.baseUrl}/_do/${probe.name}/${n}/${n}`));
    return out;
  }

  const guard = setTimeout(() => { console.error('diff: overall time limit reached'); killAllChildren(); cleanupTmp(); process.exit(2); }, OVERALL_LIMIT_MS);
  guard.unref();
  const known = JSON.parse(fs.readFileSync(knownFile, 'utf8'));
  const names = opt.only ?? probe.scenarios;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), probe.tmpPrefix));
  const servers = [];
  let results;
  try {
    const w = await startWorkerd();
    servers.push(w);
    if (opt.workerdOnly) {
      console.log(JSON.stringify(await runAll(w, names), null, 2));
      await stopProcess(w.child, 5000);
      cleanupTmp();
      process.exit(0);
    }
    const d = await startDorm();
    servers.push(d);
    console.log(`diff: ${w.version} at ${w.baseUrl}, dorm at ${d.baseUrl}; ${names.length} scenarios`);
    const [rw, rd] = await Promise.all([runAll(w, names), runAll(d, names)]);
    results = { workerd: rw, dorm: rd };
  } catch (e) {
    console.error(`diff: ${e.stack ?? e}`);
    for (const s of servers) await stopProcess(s.child, 5000);
    killAllChildren();
    console.error(`diff: kept ${tmp}`);
    process.exit(2);
  }
  for (const s of servers) await stopProcess(s.child, 5000);
  const { unknown } = report(names, results, known);
  if (opt.keep) {
    fs.writeFileSync(path.join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`diff: kept ${tmp}`);
  } else {
    cleanupTmp();
  }
  process.exit(unknown.length ? 1 : 0);
}
