// The frame the differential checks share (run.mjs, rpc.mjs, project.mjs, fetch.mjs and the probe
// checks of probe_diff.mjs): their command-line options, a temporary folder, the overall time
// limit, workerd and Dorm started side by side, the comparison, and the exit status: 0 when every
// difference is listed in the check's known-differences file, 1 otherwise, 2 when a server could
// not be started or the run took over 110 s.
//
// Every server process runs in its own process group (bench/lib.mjs); only those are signalled.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  stopProcess, killAllChildren, freePort, workerdCandidates, startWorkerdProcess, spawnDorm,
  dormListening,
} from '../../bench/lib.mjs';
import { report } from './compare.mjs';

export const diffDir = path.dirname(fileURLToPath(import.meta.url));
export const rootDir = path.resolve(diffDir, '..', '..');
const OVERALL_LIMIT_MS = 110000;
const STOP_GRACE_MS = 5000;

// The options every check takes:
//   --keep            keep the temp folder (configs, data, logs, results.json)
//   --only a,b        run only these scenarios (each must be one of `scenarioNames`)
//   --dorm PATH       the binary (default $DORM_BIN, else build/dorm)
//   --workerd-only    print workerd's answers without starting Dorm (to see what the oracle says)
// and those of `extra`: flag → (opt, value) => void, for flags that take a value. Exits with
// status 2 on an unknown flag or scenario.
export function diffOptions(scenarioNames, extra = {}) {
  const args = process.argv.slice(2);
  const opt = {
    keep: false, only: null, workerdOnly: false,
    dorm: process.env.DORM_BIN || path.join(rootDir, 'build', 'dorm'),
  };
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--keep') opt.keep = true;
    else if (args[i] === '--only') opt.only = args[++i].split(',');
    else if (args[i] === '--dorm') opt.dorm = path.resolve(args[++i]);
    else if (args[i] === '--workerd-only') opt.workerdOnly = true;
    else if (extra[args[i]]) extra[args[i]](opt, args[++i]);
    else { console.error(`diff: unknown option ${args[i]}`); process.exit(2); }
  }
  const unknown = (opt.only ?? []).filter((n) => !scenarioNames.includes(n));
  if (unknown.length) { console.error(`diff: unknown scenario ${unknown.join(', ')}`); process.exit(2); }
  return opt;
}

// Starts workerd with its configuration in `tmp`/workerd and its data in `tmp`/workerd-data.
// `files`: [source path, name in the configuration folder]; `texts`: { name: contents };
// `config(port, dataDir)`: the capnp configuration. Throws when it does not start.
export async function startWorkerd(tmp, { files = [], texts = {}, config }) {
  const bin = workerdCandidates().find((c) => fs.existsSync(c));
  if (!bin) throw new Error('workerd not found (npm ci in bench/)');
  const conf = path.join(tmp, 'workerd');
  const data = path.join(tmp, 'workerd-data');
  fs.mkdirSync(conf, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  for (const [from, name] of files) fs.copyFileSync(from, path.join(conf, name));
  for (const [name, text] of Object.entries(texts)) fs.writeFileSync(path.join(conf, name), text);
  const port = await freePort();
  fs.writeFileSync(path.join(conf, 'config.capnp'), config(port, data));
  const logFile = path.join(tmp, 'workerd.log');
  const child = await startWorkerdProcess(bin, conf, port, logFile, 20000, 20);
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { name: 'workerd', version, children: [child], logFiles: [logFile], baseUrl: `http://127.0.0.1:${port}` };
}

// Starts `dorm serve` (two threads, `flags` added) with its data in `tmp`/<label>-data, then calls
// `deploy(dataDir, baseUrl)`. Stops it and throws when either fails.
export async function startDorm(tmp, opt, { deploy, flags = [], label = 'dorm' }) {
  if (!fs.existsSync(opt.dorm)) throw new Error(`${opt.dorm} does not exist`);
  const data = path.join(tmp, `${label}-data`);
  fs.mkdirSync(data, { recursive: true });
  const logFile = path.join(tmp, `${label}.log`);
  const child = spawnDorm(opt.dorm, data, 2, logFile, flags);
  try {
    const baseUrl = await dormListening(child, logFile, 20000, 20);
    await deploy(data, baseUrl);
    return { name: 'dorm', children: [child], logFiles: [logFile], baseUrl };
  } catch (e) {
    await stopProcess(child, STOP_GRACE_MS);
    throw e;
  }
}

// Runs one check. `check`:
//   label          printed after "diff" in the first line ("rpc", ...), or ''
//   tmpPrefix      the temp folder's name prefix
//   knownFile      the known differences ({scenario: reason}); a missing file lists none
//   names          the scenarios, in the order `report()` prints them
//   prepare(tmp)   optional: what both servers need first (test servers...); its value is passed on
//   startWorkerd(tmp, prepared), startDorm(tmp, prepared): each resolves to a server as the
//                  functions above return (children, logFiles, version for workerd)
//   runAll(server, prepared): resolves to {scenario: answer} (both servers run at once)
//   describe(servers, prepared): optional text for the first line
//   close():       optional: stops what `prepare` started (also on a signal or the time limit)
//   afterStop(servers, prepared): optional, after both servers stopped (reads their logs)
// Never returns: exits with the status described at the top.
export async function runDiff(opt, check) {
  const close = check.close ?? (() => {});
  let tmp = null;
  const cleanupTmp = () => { if (tmp && !opt.keep) fs.rmSync(tmp, { recursive: true, force: true }); };
  const abandon = () => { killAllChildren(); close(); };
  process.on('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { abandon(); cleanupTmp(); process.exit(130); });
  const guard = setTimeout(() => {
    console.error('diff: overall time limit reached');
    abandon();
    cleanupTmp();
    process.exit(2);
  }, OVERALL_LIMIT_MS);
  guard.unref();
  const known = fs.existsSync(check.knownFile) ? JSON.parse(fs.readFileSync(check.knownFile, 'utf8')) : {};
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), check.tmpPrefix));
  let servers = [];
  const stopServers = async () => {
    for (const s of servers) for (const c of s.children) await stopProcess(c, STOP_GRACE_MS);
  };
  let prepared;
  let results;
  try {
    prepared = check.prepare ? await check.prepare(tmp) : undefined;
    const starting = [check.startWorkerd(tmp, prepared)];
    if (!opt.workerdOnly) starting.push(check.startDorm(tmp, prepared));
    const started = await Promise.allSettled(starting);
    servers = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [w, d] = servers;
    const where = check.describe ? check.describe(servers, prepared)
      : `${w.version} at ${w.baseUrl}${d ? `, dorm at ${d.baseUrl}` : ' (workerd only)'}`;
    // With --workerd-only, standard output is the answers alone (the e2e tests' recorded fixtures).
    const headline = `diff${check.label ? ` ${check.label}` : ''}: ${where}; ${check.names.length} scenarios`;
    if (opt.workerdOnly) console.error(headline);
    else console.log(headline);
    const runs = await Promise.all(servers.map((s) => check.runAll(s, prepared)));
    results = { workerd: runs[0], dorm: runs[1] };
  } catch (e) {
    console.error(`diff: ${e.stack ?? e}`);
    await stopServers();
    abandon();
    console.error(`diff: kept ${tmp}`);
    process.exit(2);
  }
  await stopServers();
  close();
  let unknown = [];
  if (opt.workerdOnly) console.log(JSON.stringify(results.workerd, null, 2));
  else ({ unknown } = report(check.names, results, known));
  check.afterStop?.(servers, prepared);
  if (opt.keep) {
    fs.writeFileSync(path.join(tmp, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`diff: kept ${tmp}`);
  } else {
    cleanupTmp();
  }
  process.exit(unknown.length ? 1 : 0);
}
