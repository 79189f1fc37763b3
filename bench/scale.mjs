// Scale: many live objects and many more on disk, on Dorm alone. Touches (one durable increment
// each) --live distinct objects on a server that evicts nothing, then more objects up to --disk
// in all on a server that evicts idle objects after a few seconds, then starts the server again
// over the full data folder. Reports the runtime's RSS, open file descriptors and threads along
// the way, the new-object rate, and checks a random sample of the objects read back the count
// they were given. workerd is not run: at its measured ~86 KiB per live object (bench.mjs), the
// live phase alone would need about 8 GiB.
// Started by `bench/run.sh --scale`, which checks the tools and raises the open-files limit.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  rootDir, fail, log, sleep, parseBenchArgs, shownBinary, stopProcess, killAllChildren, httpCall,
  pool, spawnDorm, dormListening, dormDeploy, fmtRps, table, machineInfo, finish, processTree,
} from './lib.mjs';

const usage = `usage: bench/run.sh --scale [options]
  --live N              objects touched on a server that evicts none (default 100000)
  --disk N              objects on disk in all at the end, the live ones included (default 1000000)
  --evict-seconds N     --idle-evict-seconds of the server while the rest are touched (default 10)
  --concurrency N       requests in flight (default 64)
  --sample N            random objects read back after each phase (default 1000)
  --max-seconds N       stop touching after N seconds in a phase and report what was reached
                        (default 1800)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/scale.json)
  --keep                keep the temporary folder (data, server logs)`;

function parseArgs(argv) {
  const o = {
    workerd: false,
    dorm: true,
    live: 100000,
    disk: 1000000,
    evictSeconds: 10,
    concurrency: 64,
    sample: 1000,
    maxSeconds: 1800,
    dormBin: process.env.DORM_BIN ? path.resolve(process.env.DORM_BIN) : path.join(rootDir, 'build', 'dorm'),
    dormThreads: 2,
    out: path.join(rootDir, 'bench', 'results', 'scale.json'),
    keep: false,
  };
  parseBenchArgs(argv, usage, o, (a, next, num) => {
    switch (a) {
      case '--live': o.live = num(a, next(), 1); return true;
      case '--disk': o.disk = num(a, next(), 1); return true;
      case '--evict-seconds': o.evictSeconds = num(a, next(), 1); return true;
      case '--concurrency': o.concurrency = num(a, next(), 1); return true;
      case '--sample': o.sample = num(a, next(), 1); return true;
      case '--max-seconds': o.maxSeconds = num(a, next(), 1); return true;
      default: return false;
    }
  });
  if (o.disk < o.live) fail('--disk counts the live objects too: it must be at least --live');
  if (!fs.existsSync(o.dormBin)) fail(`${o.dormBin} not found: build it with scripts/build.sh release`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Readings of the server's process tree (the supervisor and the runtime)

// { rss_bytes, fds, threads } summed over the tree, and the largest process's figures.
function reading(rootPid) {
  let rss = 0;
  let fds = 0;
  let threads = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
      threads += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      fds += fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch { /* exited meanwhile */ }
  }
  return { rss_bytes: rss, fds, threads };
}

const mib = (b) => (b / 1048576).toFixed(1);

// Folder size (bytes, allocated) and file count, without following links.
function folderStats(dir) {
  let bytes = 0;
  let files = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) { files++; bytes += fs.lstatSync(p).blocks * 512; }
    }
  }
  return { bytes, files };
}

// ---------------------------------------------------------------------------------------------
// Phases

async function startServer(o, dataDir, logFile, extraArgs) {
  const t0 = process.hrtime.bigint();
  const child = spawnDorm(o.dormBin, dataDir, o.dormThreads, logFile, extraArgs);
  const baseUrl = await dormListening(child, logFile, 300000);
  return { child, baseUrl, startSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

// POSTs an increment to objects `${prefix}-${from}` .. `${prefix}-${to - 1}`, each expected to
// answer count 1, taking `checkpoints` readings on the way. Returns the phase's record.
async function touch(o, server, prefix, from, to, label) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  const total = to - from;
  const every = Math.max(1, Math.floor(total / 10));
  const checkpoints = [];
  let answered = 0;
  let failed = 0;
  let wrong = 0;
  let firstFailure = null;
  let peak = reading(server.child.pid);
  const sampler = setInterval(() => {
    const r = reading(server.child.pid);
    if (r.rss_bytes > peak.rss_bytes) peak = { ...peak, rss_bytes: r.rss_bytes };
    if (r.fds > peak.fds) peak = { ...peak, fds: r.fds };
  }, 500);
  const t0 = process.hrtime.bigint();
  const started = await pool(total, o.concurrency, async (i) => {
    const id = `${prefix}-${from + i}`;
    const res = await httpCall(agent, 'POST', `${server.baseUrl}/_do/counter/${id}/increment`)
      .catch((e) => ({ status: 0, body: e.message }));
    if (res.status !== 200) {
      if (failed++ === 0) firstFailure = `${id}: ${res.status || 'no response'}: ${res.body.slice(0, 200)}`;
    } else if (JSON.parse(res.body).count !== 1) {
      wrong++;
    }
    if (++answered % every === 0) {
      const r = { objects: from + answered, seconds: Number(process.hrtime.bigint() - t0) / 1e9, ...reading(server.child.pid) };
      checkpoints.push(r);
      peak = { rss_bytes: Math.max(peak.rss_bytes, r.rss_bytes), fds: Math.max(peak.fds, r.fds) };
      log(`${label}: ${r.objects} objects, ${r.seconds.toFixed(0)} s, RSS ${mib(r.rss_bytes)} MiB, ${r.fds} fds, ${r.threads} threads`);
    }
  }, Date.now() + o.maxSeconds * 1000);
  clearInterval(sampler);
  agent.destroy();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (firstFailure) log(`${label}: ${failed} touches failed; the first: ${firstFailure}`);
  return {
    touched: started, failed, wrong, first_failure: firstFailure, seconds, new_objects_per_second: started / seconds,
    checkpoints, peak_rss_bytes: peak.rss_bytes, peak_fds: peak.fds,
  };
}

// Reads `o.sample` random objects of `ids` back: each must answer count 1.
async function readSample(o, server, ids) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let bad = 0;
  let firstBad = null;
  await pool(o.sample, 16, async () => {
    const id = ids[Math.floor(Math.random() * ids.length)];
    const res = await httpCall(agent, 'GET', `${server.baseUrl}/_do/counter/${id}/get`).catch((e) => ({ status: 0, body: e.message }));
    const ok = res.status === 200 && JSON.parse(res.body).count === 1;
    if (!ok && bad++ === 0) firstBad = `${id}: ${res.status}: ${res.body.slice(0, 200)}`;
  });
  agent.destroy();
  return { sampled: o.sample, bad, first_bad: firstBad, ok: bad === 0 };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-scale-'));
  const dataDir = path.join(tmp, 'data');
  const logFile = path.join(tmp, 'dorm.log');
  fs.mkdirSync(dataDir);
  const json = { machine: machineInfo(true), options: { ...o, dormBin: shownBinary(o.dormBin) }, phases: {}, checks: {}, errors: [] };
  const onSignal = () => { killAllChildren(); process.exit(130); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let ok = true;
  let server = null;
  const idsOf = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  try {
    // Live: nothing is evicted while the objects are touched.
    server = await startServer(o, dataDir, logFile, ['--idle-evict-seconds', '86400']);
    dormDeploy(o.dormBin, path.join(rootDir, 'examples', 'counter.ts'), 'counter', dataDir, 60000);
    await sleep(1000);
    const base = reading(server.child.pid);
    log(`live: start: RSS ${mib(base.rss_bytes)} MiB, ${base.fds} fds, ${base.threads} threads`);
    const live = await touch(o, server, 'live', 0, o.live, 'live');
    await sleep(5000);
    live.before = base;
    live.idle_5s = reading(server.child.pid);
    live.per_object_bytes = (live.idle_5s.rss_bytes - base.rss_bytes) / Math.max(1, live.touched);
    json.checks.live_sample = await readSample(o, server, idsOf('live', live.touched));
    json.phases.live = live;
    log(`live: ${live.touched} objects resident: RSS ${mib(base.rss_bytes)} -> ${mib(live.idle_5s.rss_bytes)} MiB ` +
      `(${(live.per_object_bytes / 1024).toFixed(1)} KiB/object), ${live.idle_5s.fds} fds, peak ${live.peak_fds} fds; ` +
      `${fmtRps(live.new_objects_per_second)} new objects/s`);
    await stopProcess(server.child, 120000);
    server = null;

    // Disk: the rest, on a server that evicts objects idle for a few seconds.
    server = await startServer(o, dataDir, logFile, ['--idle-evict-seconds', String(o.evictSeconds)]);
    const diskBase = reading(server.child.pid);
    const disk = await touch(o, server, 'disk', 0, o.disk - o.live, 'disk');
    disk.before = diskBase;
    disk.after = reading(server.child.pid);
    await sleep((o.evictSeconds + 5) * 1000);
    disk.after_eviction = reading(server.child.pid);
    json.phases.disk = disk;
    log(`disk: ${disk.touched} more objects (${o.live + disk.touched} on disk): RSS ${mib(diskBase.rss_bytes)} -> ` +
      `${mib(disk.after.rss_bytes)} MiB, ${mib(disk.after_eviction.rss_bytes)} MiB once evicted; peak ${mib(disk.peak_rss_bytes)} MiB, ` +
      `${disk.peak_fds} fds; ${fmtRps(disk.new_objects_per_second)} new objects/s`);
    await stopProcess(server.child, 120000);
    server = null;

    // Restart over everything.
    const folder = folderStats(dataDir);
    server = await startServer(o, dataDir, logFile, []);
    await sleep(1000);
    const restart = { start_seconds: server.startSeconds, after_start: reading(server.child.pid), data: folder };
    const all = [...idsOf('live', live.touched), ...idsOf('disk', disk.touched)];
    json.checks.restart_sample = await readSample(o, server, all);
    restart.after_sample = reading(server.child.pid);
    json.phases.restart = restart;
    log(`restart over ${all.length} objects (${folder.files} files, ${mib(folder.bytes)} MiB): listening after ` +
      `${restart.start_seconds.toFixed(1)} s, RSS ${mib(restart.after_start.rss_bytes)} MiB, ${restart.after_start.fds} fds; ` +
      `after reading ${o.sample} of them: RSS ${mib(restart.after_sample.rss_bytes)} MiB, ${restart.after_sample.fds} fds`);
    await stopProcess(server.child, 120000);
    server = null;

    json.checks.live_touches = { ok: live.failed === 0 && live.wrong === 0 && live.touched === o.live, failed: live.failed, wrong: live.wrong };
    json.checks.disk_touches = { ok: disk.failed === 0 && disk.wrong === 0 && disk.touched === o.disk - o.live, failed: disk.failed, wrong: disk.wrong };
    for (const [name, c] of Object.entries(json.checks)) {
      if (!c.ok) { ok = false; log(`check failed: ${name}: ${JSON.stringify(c)}`); }
    }
    console.log();
    console.log(table(['phase', 'objects', 'RSS MiB', 'fds', 'threads', 'new objects/s'], [
      ['start', 0, mib(base.rss_bytes), base.fds, base.threads, '-'],
      ['live (none evicted)', live.touched, mib(live.idle_5s.rss_bytes), live.idle_5s.fds, live.idle_5s.threads, fmtRps(live.new_objects_per_second)],
      [`disk (evicted after ${o.evictSeconds} s)`, o.live + disk.touched, mib(disk.after_eviction.rss_bytes), disk.after_eviction.fds, disk.after_eviction.threads, fmtRps(disk.new_objects_per_second)],
      ['restarted, sample read', all.length, mib(restart.after_sample.rss_bytes), restart.after_sample.fds, restart.after_sample.threads, '-'],
    ]));
  } catch (e) {
    ok = false;
    json.errors.push(String(e.stack || e));
    log(`ERROR: ${e.stack || e}`);
  } finally {
    if (server) await stopProcess(server.child);
  }
  finish(o, json, tmp, ok);
}

main();
