// What each app's isolate costs the runtime: starts `dorm serve --threads 1`, deploys N
// single-class apps (a Durable Object that answers "ok"), touches each once, and prints the
// runtime process's RSS and CPU time before and after, and the time of each app's first request
// (its isolate created, the prelude and the runtime run, the module compiled). Nothing the apps do uses
// HTMLRewriter or node:stream, so neither is compiled.
//
//   node bench/isolate_cost.mjs [--apps 50] [--dorm path/to/dorm]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, runtimePidOf } from '../tests/e2e/lib/dorm.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const apps = Number(option('--apps', '50'));
if (option('--dorm')) process.env.DORM_BIN = path.resolve(option('--dorm'));

// The process's CPU time (user + system), in ms: unlike wall time, hardly moved by other load.
const cpuMs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 1000 / 100;  // utime, stime in 1/100 s
};
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-isolate-cost-'));
const file = path.join(dir, 'probe.js');
fs.writeFileSync(file, 'export class Probe {\n  fetch() { return new Response("ok"); }\n}\n');
const server = await startServer({ flags: ['--threads', '1'] });
try {
  const runtime = runtimePidOf(server.proc.pid);
  for (let i = 0; i < apps; ++i) await server.deploy(file, { name: 'probe', app: `app${i}` });
  // One app first, so that what every isolate shares (code pages, allocator pools) is in place.
  const first = await server.request('/_do/probe/x/', { headers: { host: `app0.localhost:${server.port}` } });
  if (first.status !== 200) throw new Error(`app0 answered ${first.status}`);
  const before = rssKiB(runtime);
  const cpuBefore = cpuMs(runtime);
  const times = [];
  for (let i = 1; i < apps; ++i) {
    const started = process.hrtime.bigint();
    const res = await server.request('/_do/probe/x/', { headers: { host: `app${i}.localhost:${server.port}` } });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (res.status !== 200) throw new Error(`app${i} answered ${res.status}`);
  }
  const after = rssKiB(runtime);
  const cpuPerApp = (cpuMs(runtime) - cpuBefore) / (apps - 1);
  // Each isolate's V8 heap, as /_admin/metrics reports it (refreshed every few seconds).
  const heapOf = async (metric) => {
    const res = await server.request('/_admin/metrics', { headers: { authorization: `Bearer ${server.adminToken()}` } });
    const values = [];
    for (const line of res.text.split('\n')) {
      if (line.startsWith(`${metric}{`)) values.push(Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return values.sort((a, b) => a - b);
  };
  let used = [];
  for (let waited = 0; used.length < apps && waited < 30000; waited += 500) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    used = await heapOf('dorm_isolate_heap_used_bytes');
  }
  const total = await heapOf('dorm_isolate_heap_total_bytes');
  const median = (values) => values.length ? Math.round(values[Math.floor(values.length / 2)] / 1024) : null;
  times.sort((a, b) => a - b);
  const result = {
    apps: apps - 1,
    rssBeforeMiB: +(before / 1024).toFixed(1),
    rssAfterMiB: +(after / 1024).toFixed(1),
    perAppKiB: Math.round((after - before) / (apps - 1)),
    heapUsedKiB: median(used),
    heapTotalKiB: median(total),
    isolatesReported: used.length,
    cpuPerAppMs: +cpuPerApp.toFixed(1),
    firstRequestMs: {
      median: +times[Math.floor(times.length / 2)].toFixed(2),
      min: +times[0].toFixed(2),
      p90: +times[Math.floor(times.length * 0.9)].toFixed(2),
    },
  };
  console.log(JSON.stringify(result));
} finally {
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
