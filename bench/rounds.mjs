// Runs the side-by-side benchmark (bench.mjs: workerd, Dorm and the nginx ceiling) several times
// and reports, for each performance target that run measures (the storage scenarios, SELECT and
// alarms, are storage.mjs's), the median over the rounds with its range.
// One round varies with the host (the same build has measured nginx anywhere from 72,000 to
// 216,000 req/s on this kind of machine), so a target is judged on the median of the ratios, each
// ratio taken within one round where both servers met the same host.
//
//   bench/run.sh --rounds N [bench.mjs options]
//
// Every round's JSON is kept beside the summary (OUT-round-1.json ...); the summary (medians,
// ranges, each round's values) goes to --out (default bench/results/rounds.json). Exit status 0
// when every round exited 0.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchDir, fail, log, table, median, fmtRatio, fmtRps, ratio } from './lib.mjs';

function parseArgs(argv) {
  let rounds = null;
  let out = path.join(benchDir, 'results', 'rounds.json');
  const passed = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log('usage: bench/run.sh --rounds N [--out FILE] [options of bench/run.sh --help]');
      process.exit(0);
    }
    if (a === '--rounds' || a === '--out') {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      const v = argv[++i];
      if (a === '--out') {
        out = path.resolve(v);
      } else {
        rounds = Number(v);
        if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds wants an integer >= 1, got ${v}`);
      }
    } else {
      passed.push(a);
    }
  }
  if (rounds == null) fail('--rounds N is required');
  return { rounds, out, passed };
}

// The figures each target is judged on, read from one round's JSON (bench.mjs's format); null
// where the round did not measure it (a server or scenario left out, a failed run).
const figures = [
  { key: 'spread_1000_share', label: 'spread over 1,000: share of 1 object\'s rate', target: '>= 0.60', want: (v) => v >= 0.6,
    get: (j) => ratio(rps(j, 'dorm', 'increment_1000obj_c64'), rps(j, 'dorm', 'increment_1obj_c64')) },
  { key: 'spread_1000_vs_workerd', label: 'spread over 1,000: Dorm/workerd', target: '>= 20', want: (v) => v >= 20,
    get: (j) => versus(j, 'increment_1000obj_c64') },
  { key: 'spread_10000_share', label: 'spread over 10,000: share of 1 object\'s rate', target: '>= 0.60', want: (v) => v >= 0.6,
    get: (j) => ratio(rps(j, 'dorm', 'increment_10000obj_c64'), rps(j, 'dorm', 'increment_1obj_c64')) },
  { key: 'spread_10000_vs_workerd', label: 'spread over 10,000: Dorm/workerd', target: '>= 20', want: (v) => v >= 20,
    get: (j) => versus(j, 'increment_10000obj_c64') },
  { key: 'new_object_vs_workerd', label: 'a new object each: Dorm/workerd', target: '>= 10', want: (v) => v >= 10,
    get: (j) => versus(j, 'increment_new_c64') },
  { key: 'get_vs_nginx', label: 'GET, 1 object: Dorm/nginx', target: '>= 0.60', want: (v) => v >= 0.6,
    get: (j) => ratio(rps(j, 'dorm', 'get_1obj_c64'), rps(j, 'nginx', 'get_1obj_c64')) },
  { key: 'get_cpu_us', label: 'GET, 1 object: Dorm CPU µs per request', target: '<= 35', want: (v) => v <= 35,
    get: (j) => j.results?.dorm?.scenarios?.get_1obj_c64?.server_cpu_us_per_request ?? null },
  { key: 'idle_kib_per_object', label: 'memory: Dorm KiB per idle touched object', target: '<= 5', want: (v) => v <= 5,
    get: (j) => kib(j.results?.dorm?.memory?.idle?.per_object_bytes) },
];

function rps(json, server, scenario) {
  return json.results?.[server]?.scenarios?.[scenario]?.rps ?? null;
}

function versus(json, scenario) {
  return ratio(rps(json, 'dorm', scenario), rps(json, 'workerd', scenario));
}

function kib(bytes) {
  return bytes == null ? null : bytes / 1024;
}

const fmtValue = (v) => (v == null ? '-' : v >= 100 ? fmtRps(v) : v.toFixed(2));

function main() {
  const { rounds, out, passed } = parseArgs(process.argv.slice(2));
  const base = out.replace(/\.json$/, '');
  const jsons = [];
  let allExited0 = true;
  for (let round = 1; round <= rounds; round++) {
    const file = `${base}-round-${round}.json`;
    log(`round ${round} of ${rounds} (results to ${path.relative(process.cwd(), file) || file})`);
    const run = spawnSync(process.execPath, [path.join(benchDir, 'bench.mjs'), ...passed, '--out', file],
      { stdio: 'inherit' });
    if (run.status !== 0) {
      allExited0 = false;
      log(`round ${round} exited with ${run.status ?? run.signal}`);
    }
    if (!fs.existsSync(file)) fail(`round ${round} wrote no results (${file})`);
    jsons.push(JSON.parse(fs.readFileSync(file, 'utf8')));
  }

  // Each scenario's Dorm/workerd ratio too, so that the table shows every ratio the rounds measured.
  const scenarioRatios = (jsons[0].scenarios ?? []).map((s) => ({
    key: `${s.key}_vs_workerd`, label: `${s.label}: Dorm/workerd`, get: (j) => versus(j, s.key),
  }));
  const summary = {};
  const rows = [];
  for (const f of [...figures, ...scenarioRatios]) {
    const values = jsons.map((j) => f.get(j));
    const measured = values.filter((v) => v != null && Number.isFinite(v));
    const mid = median(measured);
    const met = f.want && mid != null ? f.want(mid) : null;
    summary[f.key] = { label: f.label, target: f.target ?? null, median: mid, min: measured.length ? Math.min(...measured) : null,
      max: measured.length ? Math.max(...measured) : null, rounds: values, met };
    rows.push([f.label, f.target ?? '', fmtValue(mid),
      measured.length ? `${fmtValue(Math.min(...measured))}..${fmtValue(Math.max(...measured))}` : '-',
      values.map(fmtValue).join(' '), met == null ? '' : met ? 'met' : 'not met']);
  }
  console.log('');
  console.log(`Targets over ${rounds} round(s): median, range and each round (ratios within one round; ${fmtRatio(1)} = equal)`);
  console.log(table(['figure', 'target', 'median', 'range', 'rounds', ''], rows));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ rounds, options: passed, rounds_files: jsons.map((_, i) => `${path.basename(base)}-round-${i + 1}.json`), summary }, null, 2)}\n`);
  console.log('');
  log(`summary written to ${path.relative(process.cwd(), out) || out}`);
  process.exit(allExited0 ? 0 : 1);
}

main();
