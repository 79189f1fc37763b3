// Outbound fetch() from Durable Objects, side by side on workerd and on Dorm: each HTTP request to
// an object makes one fetch() to a local upstream (bench/fetch-upstream.mjs, a Node process of its
// own) and answers with the body's length. Scenarios: a 100-byte body at 1 and 64 connections, and
// a 64 KiB body at 64 connections; and a 100 MiB body streamed through a proxying object
// (`return fetch(upstream)`) to one client, measured as throughput and the server's peak RSS. Each scenario gets a freshly started server that is the only
// one alive, and the servers alternate scenario by scenario, as in bench.mjs. The upstream is the
// same for both servers, so it bounds both alike.
// Started by `bench/run.sh --fetch`, which checks the tools and raises the open-files limit.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, fail, log, parseBenchArgs, stopProcess, httpCall, runWrk as runWrkArgs,
  makeClassWorkerd, makeClassDorm, runClassScenario, fmtRps, fmtMs, fmtRatio, ratio, table,
  machineInfo, finish, checksPassed, treeStats, benchOptions, killChildrenOnExit,
} from './lib.mjs';

const CLASS = { moduleFile: 'fetch-bench.js', className: 'FetchBench', route: 'fetch-bench', binding: 'FETCH_BENCH', uniqueKey: 'dorm-bench-fetch' };

const usage = `usage: bench/run.sh --fetch [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured wrk run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --wrk-threads N       wrk threads (default 1)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/fetch.json)
  --only KEY[,KEY]      run only these scenarios (small_1, small_64, big_64, stream_100mb; and
                        stream_1gb, run only when named: the same as stream_100mb with 1 GiB)
  --keep                keep the temporary folder (configs, data, server logs)`;

const defaults = benchOptions('fetch', {
  only: null,
});
const o = parseBenchArgs(process.argv.slice(2), usage, defaults, (a, next) => {
  if (a === '--only') { defaults.only = next().split(','); return true; }
  return false;
});

killChildrenOnExit();

// [key, label, size, objects, connections, expected body length, run only when named]
const SCENARIOS = [
  ['small_1', 'fetch() of 100 B, 1 object, 1 conn', 'small', 1, 1, 100],
  ['small_64', 'fetch() of 100 B, 64 objects, 64 conn', 'small', 64, 64, 100],
  ['big_64', 'fetch() of 64 KiB, 64 objects, 64 conn', 'big', 64, 64, 65536],
  ['stream_100mb', 'return fetch() of 100 MiB, streamed', 'huge', 1, 1, 100 * 1024 * 1024],
  // Whether memory grows with the body: the same peak as stream_100mb means it does not.
  ['stream_1gb', 'return fetch() of 1 GiB, streamed', 'huge', 1, 1, 1024 * 1024 * 1024, true],
].map(([key, label, size, objects, connections, length, named = false]) => ({ key, label, size, objects, connections, length, named }))
  .filter((s) => (o.only === null ? !s.named : o.only.includes(s.key)));
if (SCENARIOS.length === 0) fail(`--only names no scenario\n${usage}`);

async function startUpstream() {
  const child = spawn(process.execPath, [path.join(benchDir, 'fetch-upstream.mjs')], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /listening (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the upstream exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function action(s, upstream) {
  const mib = s.size === 'huge' ? `&mib=${s.length / 1048576}` : '';
  return `go?upstream=${encodeURIComponent(upstream)}&size=${s.size}${mib}`;
}

function runWrk(baseUrl, s, upstream, seconds) {
  const t = Math.max(1, Math.min(o.wrkThreads, s.connections));
  const args = ['-t', String(t), '-c', String(s.connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--', 'GET', action(s, upstream), String(s.objects), 'fetcher', CLASS.route];
  return runWrkArgs(args, seconds);
}

// The length of the body at `url`, read to its end.
function download(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    }).on('error', reject);
  });
}

// One client downloads the streamed body: MiB/s, and the server's RSS before and at its peak.
// A 1 MiB body through the same path goes first, so that "before" includes what the first use
// costs once (the object and its isolate, the outbound client, code paged in), and the growth is
// what the long body adds.
async function runStream(proc, s, upstream) {
  const url = `${proc.baseUrl}/_do/${CLASS.route}/fetcher-0/${action(s, upstream)}`;
  await download(url.replace(/mib=\d+/, 'mib=1'));
  const rssBefore = treeStats(proc.child.pid).rss;
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, treeStats(proc.child.pid).rss); }, 50);
  const started = process.hrtime.bigint();
  const received = await download(url);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  return {
    ok: received === s.length, bytes: received, seconds, mib_per_s: received / 1048576 / seconds,
    rss_before_mib: rssBefore / 1048576, rss_peak_mib: peak / 1048576,
  };
}

async function runScenario(server, r, s, upstream) {
  if (s.size === 'huge') {
    let proc = null;
    try {
      proc = await server.start();
      const res = await runStream(proc, s, upstream);
      r.checks[s.key] = { ok: res.ok, bytes: res.bytes };
      r.scenarios[s.key] = res;
      log(`${r.server}: ${s.label}: ${res.mib_per_s.toFixed(1)} MiB/s, RSS ${res.rss_before_mib.toFixed(0)} -> peak ${res.rss_peak_mib.toFixed(0)} MiB`);
    } catch (e) {
      r.errors.push(`${s.key}: ${e.message}`);
      log(`${r.server}: ERROR in ${s.key}: ${e.message}`);
    } finally {
      if (proc) await stopProcess(proc.child);
    }
    return;
  }
  await runClassScenario(server, r, s, o, {
    async check(baseUrl, agent) {
      const probe = await httpCall(agent, 'GET', `${baseUrl}/_do/${CLASS.route}/fetcher-0/${action(s, upstream)}`);
      return { ok: probe.status === 200 && probe.body === String(s.length), status: probe.status, body: probe.body.slice(0, 200) };
    },
    measure: (baseUrl, seconds) => runWrk(baseUrl, s, upstream, seconds),
    report: (res) => `${fmtRps(res.rps)} req/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms`,
  });
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'dorm-bench-fetch-'));
  if (o.dorm && !fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or use --workerd-only`);
  const upstream = await startUpstream();
  const servers = [];
  if (o.workerd) servers.push(makeClassWorkerd(tmp, CLASS, { localOutbound: true }));
  if (o.dorm) servers.push(makeClassDorm(tmp, CLASS, o, ['--outbound-allow', '127.0.0.1']));
  const results = {};
  for (const server of servers) results[server.name] = { server: server.name, version: server.version, scenarios: {}, checks: {}, errors: [] };
  log(`${o.duration} s runs after ${o.warmup} s warm-up; ${servers.map((s) => s.name).join(' and ')}; upstream ${upstream.url}`);
  for (const s of SCENARIOS) {
    for (const server of servers) await runScenario(server, results[server.name], s, upstream.url);
  }
  await stopProcess(upstream.child);

  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  const rows = SCENARIOS.filter((s) => s.size !== 'huge').map((s) => {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    const c = { rps: ratio(ds?.rps, ws?.rps), p50: ratio(ds?.p50_ms, ws?.p50_ms), p99: ratio(ds?.p99_ms, ws?.p99_ms) };
    comparison[s.key] = { dorm_over_workerd: c };
    return [s.label, fmtRps(ws?.rps), fmtMs(ws?.p50_ms), fmtMs(ws?.p99_ms), fmtRps(ds?.rps),
      fmtMs(ds?.p50_ms), fmtMs(ds?.p99_ms), fmtRatio(c.rps), fmtRatio(c.p50), fmtRatio(c.p99)];
  });
  if (rows.length > 0) {
    console.log('');
    console.log('Outbound fetch() from objects (one fetch() per request; latency per request, in ms;');
    console.log('ratio = Dorm/workerd: req/s above 1 and latency below 1 mean Dorm is ahead)');
    console.log(table(['scenario', 'workerd req/s', 'p50', 'p99', 'dorm req/s', 'p50', 'p99', 'req ratio', 'p50 ratio', 'p99 ratio'], rows));
  }
  const streamed = SCENARIOS.filter((s) => s.size === 'huge').map((s) => {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    comparison[s.key] = { dorm_over_workerd: { throughput: ratio(ds?.mib_per_s, ws?.mib_per_s) } };
    const cell = (x) => (x === undefined ? '-' : `${x.mib_per_s.toFixed(1)} MiB/s, RSS peak ${x.rss_peak_mib.toFixed(0)} MiB (from ${x.rss_before_mib.toFixed(0)})`);
    return [s.label, cell(ws), cell(ds), fmtRatio(comparison[s.key].dorm_over_workerd.throughput)];
  });
  if (streamed.length > 0) {
    console.log('');
    console.log('Streamed bodies through a proxying object (one client; RSS of the server\'s processes)');
    console.log(table(['scenario', 'workerd', 'dorm', 'throughput ratio'], streamed));
  }
  finish(o, { machine: machineInfo(), options: o, results, comparison }, tmp, checksPassed(results));
}

main();
