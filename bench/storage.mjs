// Storage scenarios, side by side on workerd and on Dorm: SQL insert throughput, SELECT of 1,000
// rows, alarm firing latency across 10,000 objects, and the activation of evicted objects with a
// database of about 1 MB. The class is bench/storage-bench.js, run
// unchanged by both servers. Each scenario gets a freshly started server that is the only one
// alive, and the servers alternate scenario by scenario, as in bench.mjs.
// Started by `bench/run.sh --storage`, which checks the tools and raises the open-files limit.

import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, rootDir, fail, log, sleep, parseBenchArgs, shownBinary, stopProcess, probeFsync,
  httpCall, pool, runWrk as runWrkArgs, runWrkScript, dormDeploy, fmtRps, fmtMs, fmtRatio, ratio, table,
  machineInfo, finish, printChecks, treeStats, benchOptions, killChildrenOnExit, logServerErrors,
  makeDormServer, benchTempDir, makeClassWorkerd,
} from './lib.mjs';
const classFile = path.join(benchDir, 'storage-bench.js');
const className = 'StorageBench';
const routeName = 'storage-bench';

// ---------------------------------------------------------------------------------------------
// Options

const usage = `usage: bench/run.sh --storage [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured wrk run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --connections N       wrk connections (default 64)
  --wrk-threads N       wrk threads (default 1)
  --rows N              rows in the table of the SELECT scenario (default 1000)
  --alarms N            objects that each get one alarm (default 10000)
  --alarm-lead N        seconds between the end of setting the alarms (as estimated) and the
                        start of their 1-second window (default 3)
  --alarm-wait N        seconds to wait after the window for alarms to fire (default 60)
  --no-alarm-throughput  skip setting every alarm again for one instant (alarms/s)
  --activation-objects N  objects given a database of about 1 MB each, then asked once each,
                        one after the other, by a freshly started server (default 200; 0: skip)
  --activation-rows N   rows written into each of those databases (default 20000, about 1 MB)
  --alarm-setup-max-seconds N
                        stop creating the alarm objects after N seconds (default 150) and
                        go on with those created, to bound the run on a slow server
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --only KEYS           run only these scenarios, comma-separated: sql_insert, sql_select,
                        alarms, activation (default all)
  --out FILE            where to write the JSON (default bench/results/storage.json)
  --keep                keep the temporary folder (configs, data, server logs)`;

function parseArgs(argv) {
  const o = benchOptions('storage', {
    connections: 64,
    rows: 1000,
    alarms: 10000,
    alarmLead: 3,
    alarmWait: 60,
    alarmSetupMax: 150,
    alarmThroughput: true,
    activationObjects: 200,
    activationRows: 20000,
    only: null,
  });
  const known = ['sql_insert', 'sql_select', 'alarms', 'activation'];
  return parseBenchArgs(argv, usage, o, (a, next, num) => {
    switch (a) {
      case '--connections': o.connections = num(a, next(), 1); return true;
      case '--rows': o.rows = num(a, next(), 1); return true;
      case '--alarms': o.alarms = num(a, next(), 0); return true;
      case '--alarm-lead': o.alarmLead = num(a, next(), 1); return true;
      case '--alarm-wait': o.alarmWait = num(a, next(), 1); return true;
      case '--alarm-setup-max-seconds': o.alarmSetupMax = num(a, next(), 1); return true;
      case '--no-alarm-throughput': o.alarmThroughput = false; return true;
      case '--activation-objects': o.activationObjects = num(a, next(), 0); return true;
      case '--activation-rows': o.activationRows = num(a, next(), 1); return true;
      case '--only': {
        o.only = next().split(',').filter(Boolean);
        const unknown = o.only.filter((k) => !known.includes(k));
        if (unknown.length || !o.only.length) fail(`--only: unknown scenario ${unknown.join(', ')}; known: ${known.join(', ')}`);
        return true;
      }
      default: return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Processes

killChildrenOnExit();

// ---------------------------------------------------------------------------------------------
// HTTP client for setting up, checking and the alarm scenario

async function call(agent, method, url, expectStatus = 200) {
  const r = await httpCall(agent, method, url);
  if (r.status !== expectStatus) throw new Error(`${method} ${url}: status ${r.status}: ${r.body.slice(0, 200)}`);
  return r.body;
}

const objectUrl = (baseUrl, id, rest) => `${baseUrl}/_do/${routeName}/${encodeURIComponent(id)}/${rest}`;

// Nearest-rank percentile of an ascending array.
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// wrk

function runWrk(baseUrl, method, urlPath, seconds, connections, threads) {
  const t = Math.max(1, Math.min(threads, connections));
  const args = ['-t', String(t), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'storage.lua'), baseUrl, '--', method, urlPath];
  return runWrkArgs(args, seconds).then((r) => ({ ...r, connections, wrk_threads: t }));
}

// ---------------------------------------------------------------------------------------------
// Servers

// The front worker routes /_do/storage-bench/<id>/<rest> to the object named <id> with the URL
// rewritten to http://host/<rest>, which is what Dorm's own router does.
function makeWorkerd(tmp) {
  return makeClassWorkerd(tmp, { moduleFile: 'storage-bench.js', className, route: routeName, binding: 'STORAGE_BENCH', uniqueKey: 'dorm-bench-storage' });
}

// Deployed once; restarts on the same data folder must still serve it.
function makeDorm(tmp, o) {
  return makeDormServer(tmp, o, (dataDir) => dormDeploy(o.dormBin, classFile, routeName, dataDir, 60000));
}

// ---------------------------------------------------------------------------------------------
// Scenarios

// The wrk scenarios. setup() runs on the fresh server before the warm-up; check() after the run.
function wrkScenarios(o) {
  return [
    {
      key: 'sql_insert',
      label: `SQL INSERT, 1 object, ${o.connections} conn`,
      method: 'POST',
      id: 'insert',
      rest: 'insert',
      async setup(agent, baseUrl, st) {
        st.insertBefore = JSON.parse(await call(agent, 'GET', objectUrl(baseUrl, 'insert', 'count'))).rows;
      },
      // Each answered insert is a row; requests cut off in flight when wrk stopped may add some.
      async check(agent, baseUrl, st, runs) {
        const rows = JSON.parse(await call(agent, 'GET', objectUrl(baseUrl, 'insert', 'count'))).rows;
        const added = rows - st.insertBefore;
        const answered = runs.reduce((a, r) => a + r.requests - r.errors.status, 0);
        const slack = runs.reduce((a, r) => a + r.connections + r.error_count, 0);
        return { rows_added: added, answered_inserts: answered, max_in_flight_at_cutoffs: slack, ok: added >= answered && added <= answered + slack };
      },
    },
    {
      key: 'sql_select',
      label: `SQL SELECT ${o.rows} rows, 1 object, ${o.connections} conn`,
      method: 'GET',
      id: 'select',
      rest: 'select',
      async setup(agent, baseUrl) {
        const filled = JSON.parse(await call(agent, 'POST', objectUrl(baseUrl, 'select', `fill?n=${o.rows}`))).rows;
        if (filled !== o.rows) throw new Error(`filled ${filled} rows, expected ${o.rows}`);
      },
      // The rows come back as JSON: each has the id and the text the fill wrote.
      async check(agent, baseUrl) {
        const rows = JSON.parse(await call(agent, 'GET', objectUrl(baseUrl, 'select', 'select')));
        const expected = Math.min(o.rows, 1000);
        const shaped = rows.every((row, i) => Object.keys(row).join() === 'id,v' && typeof row.id === 'number' &&
          row.v === `row ${i} of the select benchmark, some text`);
        return { rows_returned: rows.length, expected, ok: rows.length === expected && shaped };
      },
    },
  ];
}

// Starts `server`, runs fn(proc, agent), stops it; an error is recorded, not thrown.
async function withServer(server, r, where, fn) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let proc = null;
  try {
    proc = await server.start();
    r.log_file = proc.logFile;
    await fn(proc, agent);
  } catch (e) {
    r.errors.push(`${where}: ${e.message}`);
    log(`${r.server}: ERROR in ${where}: ${e.message}`);
  } finally {
    agent.destroy();
    if (proc) await stopProcess(proc.child);
  }
}

async function runWrkScenario(server, r, s, o) {
  await withServer(server, r, s.key, async (proc, agent) => {
    const st = {};
    await s.setup(agent, proc.baseUrl, st);
    const urlPath = `/_do/${routeName}/${s.id}/${s.rest}`;
    const runs = [];
    if (o.warmup > 0) runs.push(await runWrk(proc.baseUrl, s.method, urlPath, o.warmup, o.connections, o.wrkThreads));
    const disk = probeFsync(server.dataDir, 20);
    // The server's CPU time (all its processes and threads) per answered request: steadier than
    // requests/s when other work shares the machine.
    const cpuBefore = treeStats(proc.child.pid).cpu;
    const res = await runWrk(proc.baseUrl, s.method, urlPath, o.duration, o.connections, o.wrkThreads);
    const cpuSeconds = treeStats(proc.child.pid).cpu - cpuBefore;
    res.server_cpu_us_per_request = res.requests > 0 ? (cpuSeconds * 1e6) / res.requests : null;
    runs.push(res);
    res.disk_fsync_p50_ms_before = disk.p50_ms;
    res.check = await s.check(agent, proc.baseUrl, st, runs);
    r.scenarios[s.key] = res;
    log(`${r.server}: ${s.label}: ${fmtRps(res.rps)} req/s, p50 ${fmtMs(res.p50_ms)} ms, p99 ${fmtMs(res.p99_ms)} ms` +
      `, server CPU ${res.server_cpu_us_per_request === null ? '-' : res.server_cpu_us_per_request.toFixed(0)} µs per request` +
      `${res.error_count ? `, ${res.error_count} errors ${JSON.stringify(res.errors)}` : ''} (disk fsync p50 ${fmtMs(disk.p50_ms)} ms); ` +
      `check ${res.check.ok ? 'ok' : 'FAILED'} ${JSON.stringify(res.check)}`);
  });
}

// Activation of an evicted object with a database of about 1 MB: `activationObjects` objects are
// each filled with `activationRows` rows (one commit each), the server is stopped and started
// again, so that none of them is in memory (the file system's cache still holds their files, as it
// would on a server with memory to spare), eight other objects are asked first (so that the app's
// isolate is made on each of Dorm's threads, which objects are spread over, before measuring), and
// each object is then asked for its row count once, one after the other: the
// latency is the object's activation (its database opened, its class constructed) plus one query.
async function runActivationScenario(server, r, o) {
  const n = o.activationObjects;
  const ids = Array.from({ length: n }, (_, i) => `activation-${i}`);
  const a = { objects: n, rows: o.activationRows };
  r.activation = a;
  await withServer(server, r, 'activation setup', async (proc, agent) => {
    const t = Date.now();
    await pool(n, 8, async (i) => {
      const filled = JSON.parse(await call(agent, 'POST', objectUrl(proc.baseUrl, ids[i], `fill?n=${o.activationRows}`))).rows;
      if (filled !== o.activationRows) throw new Error(`${ids[i]}: filled ${filled} rows, expected ${o.activationRows}`);
    });
    a.fill_seconds = (Date.now() - t) / 1000;
    a.database_bytes = JSON.parse(await call(agent, 'GET', objectUrl(proc.baseUrl, ids[0], 'size'))).bytes;
  });
  await withServer(server, r, 'activation', async (proc, agent) => {
    for (let i = 0; i < 8; i++) await call(agent, 'GET', objectUrl(proc.baseUrl, `activation-first-${i}`, 'count'));
    // wrk on one connection asks each object once, one after the other (bench/activation.lua):
    // a Node client's own pauses (garbage collection, compilation, page faults) had made a tenth
    // of the latencies its own rather than the server's.
    const prefix = `/_do/${routeName}/activation-`;
    const res = await runWrkScript(['-t', '1', '-c', '1', '-d', '300s', '--timeout', '10s',
      '-s', path.join(benchDir, 'activation.lua'), proc.baseUrl, '--', prefix, String(n), '/count',
      `"rows":${o.activationRows}`], 300, 'ACTIVATION_RESULT ');
    const wrong = res.wrong + (n - res.answered) + res.timeouts;
    Object.assign(a, {
      p50_ms: res.p50_us / 1000, p99_ms: res.p99_us / 1000, max_ms: res.max_us / 1000, mean_ms: res.mean_us / 1000,
      answered: res.answered, wrong_counts: wrong, ok: wrong === 0 && res.answered === n,
    });
    log(`${r.server}: activation of ${n} evicted objects (${(a.database_bytes / 1048576).toFixed(2)} MiB database each), one after ` +
      `the other: p50 ${fmtMs(a.p50_ms)} ms, p99 ${fmtMs(a.p99_ms)} ms, max ${fmtMs(a.max_ms)} ms${wrong ? `; ${wrong} wrong answers` : ''}`);
  });
}

// A single alarm on an otherwise idle server, ten times in a row, each on its own object and due
// 2 s after it was set (longer than Dorm keeps an idle database open). Reported: the latency
// alarm() recorded (handler start minus the scheduled time), p50 and max.
async function runIdleAlarms(proc, agent, r) {
  const values = [];
  for (let k = 0; k < 10; k++) {
    const url = (rest) => objectUrl(proc.baseUrl, `idle-alarm-${k}`, rest);
    const at = Date.now() + 2000;
    await call(agent, 'POST', url(`alarm?at=${at}`));
    await sleep(Math.max(0, at + 20 - Date.now()));
    const deadline = Date.now() + 30000;
    for (;;) {
      const v = JSON.parse(await call(agent, 'GET', url('alarm')));
      if (v.latency_ms !== null) {
        values.push(v.latency_ms);
        break;
      }
      if (Date.now() > deadline) throw new Error(`the alarm of idle-alarm-${k} did not fire within 30 s`);
      await sleep(20);
    }
  }
  values.sort((x, y) => x - y);
  r.idle_alarm = { count: values.length, p50_ms: percentile(values, 0.5), max_ms: values[values.length - 1], values };
  log(`${r.server}: single alarm on an idle server (${values.length} in a row): p50 ${fmtMs(r.idle_alarm.p50_ms)} ms, max ${fmtMs(r.idle_alarm.max_ms)} ms`);
}

// Alarm firing latency. Every object is first created (POST /prepare), which also tells how fast
// this server handles new objects; from that rate the alarms' window is placed so that setting
// them all is over a few seconds before the first is due. Each object then stores a time in that
// 1-second window and sets its alarm for it; alarm() records Date.now() minus the stored time.
// The read-back is kept light while alarms may still be firing: a sample of 50 not yet seen to
// fire every 2 s, and all the rest only once the whole sample has fired.
async function runAlarmScenario(server, r, o) {
  await withServer(server, r, 'alarms', async (proc, agent) => {
    await runIdleAlarms(proc, agent, r);
    let n = o.alarms;
    const ids = Array.from({ length: n }, (_, i) => `alarm-${i}`);
    const a = { objects: n };
    r.alarms = a;
    let failed = 0;
    let firstFailure = null;
    const noteFailure = (what, e) => { if (failed++ === 0) firstFailure = `${what}: ${e.message}`; };

    let t = Date.now();
    n = await pool(n, 32, async (i) => {
      await call(agent, 'POST', objectUrl(proc.baseUrl, ids[i], 'prepare')).catch((e) => noteFailure(ids[i], e));
    }, t + o.alarmSetupMax * 1000);
    if (n < a.objects) {
      log(`${r.server}: note: only ${n} of ${a.objects} objects created within ${o.alarmSetupMax} s; the scenario goes on with those`);
      a.requested_objects = a.objects;
      a.objects = n;
      a.stopped_by_time_limit = true;
    }
    a.prepare_seconds = (Date.now() - t) / 1000;
    a.prepare_rps = n / a.prepare_seconds;

    // Setting may be slower than creating (workerd evicts objects idle for about 10 s), hence 1.5x.
    const windowStart = Date.now() + Math.ceil(1.5 * a.prepare_seconds * 1000) + o.alarmLead * 1000;
    const windowEnd = windowStart + 1000;
    ids.length = n;
    const scheduled = ids.map(() => windowStart + Math.floor(Math.random() * 1000));
    t = Date.now();
    await pool(n, 32, async (i) => {
      await call(agent, 'POST', objectUrl(proc.baseUrl, ids[i], `alarm?at=${scheduled[i]}`)).catch((e) => noteFailure(ids[i], e));
    });
    const setDone = Date.now();
    a.set_seconds = (setDone - t) / 1000;
    a.set_margin_seconds = (windowStart - setDone) / 1000;
    log(`${r.server}: alarms: ${n} objects created in ${a.prepare_seconds.toFixed(1)} s, alarms set in ${a.set_seconds.toFixed(1)} s, ` +
      `${a.set_margin_seconds.toFixed(1)} s before the window${failed ? `; ${failed} requests failed, the first: ${firstFailure}` : ''}`);
    if (a.set_margin_seconds < 0) log(`${r.server}: note: setting the alarms ran into their window, so the first ones fired under load`);

    const latency = new Map();
    const readOne = async (i) => {
      try {
        const v = JSON.parse(await call(agent, 'GET', objectUrl(proc.baseUrl, ids[i], 'alarm')));
        if (v.latency_ms !== null) {
          if (v.scheduled !== scheduled[i]) throw new Error(`stored scheduled time ${v.scheduled}, expected ${scheduled[i]}`);
          latency.set(i, v.latency_ms);
        }
      } catch (e) {
        noteFailure(`reading ${ids[i]}`, e);
      }
    };
    const deadline = windowEnd + o.alarmWait * 1000;
    await sleep(Math.max(0, windowEnd + 2000 - Date.now()));
    let fullReads = 0;
    while (latency.size < n) {
      const pending = [];
      for (let i = 0; i < n; i++) if (!latency.has(i)) pending.push(i);
      const sample = pending.length <= 50 ? pending : Array.from({ length: 50 }, () => pending[Math.floor(Math.random() * pending.length)]);
      await pool(sample.length, 16, (k) => readOne(sample[k]));
      const sampleDone = sample.every((i) => latency.has(i));
      const pastDeadline = Date.now() >= deadline;
      if (sampleDone || pastDeadline) {
        await pool(pending.length, 32, (k) => readOne(pending[k]));
        fullReads++;
        if (pastDeadline) break;
      }
      if (latency.size < n) await sleep(2000);
    }
    const values = [...latency.values()].sort((x, y) => x - y);
    Object.assign(a, {
      fired: values.length,
      missing: n - values.length,
      p50_ms: percentile(values, 0.5),
      p90_ms: percentile(values, 0.9),
      p99_ms: percentile(values, 0.99),
      max_ms: values.length ? values[values.length - 1] : null,
      min_ms: values.length ? values[0] : null,
      early: values.filter((v) => v < 0).length,
      wait_bound_s: o.alarmWait,
      read_back_seconds_after_window: (Date.now() - windowEnd) / 1000,
      full_reads: fullReads,
      failed_requests: failed,
      first_failure: firstFailure,
    });
    a.ok = a.missing === 0 && a.early === 0 && failed === 0;
    log(`${r.server}: alarms: ${a.fired} of ${n} fired; latency p50 ${fmtMs(a.p50_ms)} ms, p99 ${fmtMs(a.p99_ms)} ms, max ${fmtMs(a.max_ms)} ms` +
      `${a.early ? `; ${a.early} fired early` : ''}`);
    if (o.alarmThroughput) await runAlarmThroughput(proc, agent, r, ids, o);
  });
}

// Alarm throughput: the same objects' alarms set again, all for one instant, placed (like the
// window above) a few seconds after setting them will be over. The rate is how many fired per
// second from that instant until the last one (each alarm() records when it ran), so it tells
// how fast a server works through alarms that are all due, one per object.
async function runAlarmThroughput(proc, agent, r, ids, o) {
  const n = ids.length;
  const b = { objects: n };
  r.alarm_throughput = b;
  let failed = 0;
  let firstFailure = null;
  const noteFailure = (what, e) => { if (failed++ === 0) firstFailure = `${what}: ${e.message}`; };
  const setEstimate = (r.alarms?.set_seconds ?? 10) * 1000;
  const instant = Date.now() + Math.ceil(1.5 * setEstimate) + o.alarmLead * 1000;
  let t = Date.now();
  await pool(n, 32, async (i) => {
    await call(agent, 'POST', objectUrl(proc.baseUrl, ids[i], `alarm?at=${instant}`)).catch((e) => noteFailure(ids[i], e));
  });
  b.set_seconds = (Date.now() - t) / 1000;
  b.set_margin_seconds = (instant - Date.now()) / 1000;
  // Before the wait, so that a profiler can be started for the burst.
  log(`${r.server}: alarm throughput: ${n} alarms set in ${b.set_seconds.toFixed(1)} s, due at ${new Date(instant).toISOString()}`);
  const firedAt = new Map();
  const readOne = async (i) => {
    try {
      const v = JSON.parse(await call(agent, 'GET', objectUrl(proc.baseUrl, ids[i], 'alarm')));
      if (v.scheduled === instant && v.fired_at !== null && v.fired_at >= instant - 5) firedAt.set(i, v.fired_at);
    } catch (e) {
      noteFailure(`reading ${ids[i]}`, e);
    }
  };
  const deadline = instant + o.alarmWait * 1000;
  // The server's CPU time (all its threads) from the instant until the sample has fired: the
  // alarms' work with little else (the sample's reads), steadier than the rate on a busy machine.
  await sleep(Math.max(0, instant - Date.now()));
  const cpuAtInstant = treeStats(proc.child.pid).cpu;
  let cpuFiring = null;
  await sleep(Math.max(0, instant + 1000 - Date.now()));
  // Read lightly while they may still fire (a sample of 50), then all of them.
  while (firedAt.size < n) {
    const pending = [];
    for (let i = 0; i < n; i++) if (!firedAt.has(i)) pending.push(i);
    const sample = pending.length <= 50 ? pending : Array.from({ length: 50 }, () => pending[Math.floor(Math.random() * pending.length)]);
    await pool(sample.length, 16, (k) => readOne(sample[k]));
    const pastDeadline = Date.now() >= deadline;
    if (sample.every((i) => firedAt.has(i)) || pastDeadline) {
      if (cpuFiring === null) cpuFiring = treeStats(proc.child.pid).cpu - cpuAtInstant;
      await pool(pending.length, 32, (k) => readOne(pending[k]));
      if (pastDeadline) break;
    }
    if (firedAt.size < n) await sleep(1000);
  }
  const last = firedAt.size ? Math.max(...firedAt.values()) : null;
  // When the handlers began, from the instant: a late first fire or a slow tail both lower the
  // rate, and tell apart waking late from working slowly.
  const after = Array.from(firedAt.values(), (t) => t - instant).sort((x, y) => x - y);
  const afterAt = (q) => (after.length ? after[Math.min(after.length - 1, Math.floor(q * after.length))] : null);
  Object.assign(b, {
    fired: firedAt.size,
    missing: n - firedAt.size,
    instant_ms: instant,
    first_after_ms: afterAt(0),
    p10_after_ms: afterAt(0.1),
    p50_after_ms: afterAt(0.5),
    p90_after_ms: afterAt(0.9),
    last_after_ms: last === null ? null : last - instant,
    alarms_per_second: last === null ? null : firedAt.size / Math.max(0.001, (last - instant) / 1000),
    server_cpu_ms_per_alarm: cpuFiring === null || firedAt.size === 0 ? null : (cpuFiring * 1000) / firedAt.size,
    failed_requests: failed,
    first_failure: firstFailure,
  });
  b.ok = b.missing === 0 && failed === 0;
  log(`${r.server}: alarm throughput: ${b.fired} of ${n} alarms due at one instant fired within ${fmtMs(b.last_after_ms)} ms: ` +
    `${b.alarms_per_second === null ? '-' : fmtRps(b.alarms_per_second)} alarms/s (set ${b.set_margin_seconds.toFixed(1)} s before; ` +
    `first / 10% / 50% / 90% fired after ${[b.first_after_ms, b.p10_after_ms, b.p50_after_ms, b.p90_after_ms].map(fmtMs).join(' / ')} ms), ` +
    `server CPU ${b.server_cpu_ms_per_alarm === null ? '-' : b.server_cpu_ms_per_alarm.toFixed(3)} ms per alarm` +
    `${failed ? `; ${failed} requests failed, the first: ${firstFailure}` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Report


function report(results, scenarios, o) {
  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  const rows = [];
  for (const s of scenarios) {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    const c = { rps: ratio(ds?.rps, ws?.rps), p50: ratio(ds?.p50_ms, ws?.p50_ms), p99: ratio(ds?.p99_ms, ws?.p99_ms) };
    comparison[s.key] = { dorm_over_workerd: c };
    rows.push([s.label, fmtRps(ws?.rps), fmtMs(ws?.p50_ms), fmtMs(ws?.p99_ms), fmtRps(ds?.rps), fmtMs(ds?.p50_ms), fmtMs(ds?.p99_ms),
      fmtRatio(c.rps), fmtRatio(c.p50), fmtRatio(c.p99)]);
  }
  console.log('');
  console.log(`SQL throughput and latency (${o.duration} s runs after ${o.warmup} s warm-up; latency in ms; ratio = Dorm/workerd)`);
  for (const r of [w, d]) {
    const fs50 = Object.values(r?.scenarios ?? {}).map((s) => fmtMs(s.disk_fsync_p50_ms_before));
    if (fs50.length) console.log(`(${r.server}: data on ${r.disk?.filesystem}; 4 KiB append+fsync p50 before each run: ${fs50.join(', ')} ms)`);
  }
  console.log('(req/s ratio above 1 and latency ratios below 1 mean Dorm is ahead)');
  console.log(table(['scenario', 'workerd req/s', 'p50', 'p99', 'dorm req/s', 'p50', 'p99', 'req/s ratio', 'p50 ratio', 'p99 ratio'], rows));

  if (o.alarms > 0) {
    const wa = w?.alarms;
    const da = d?.alarms;
    const c = { p50: ratio(da?.p50_ms, wa?.p50_ms), p99: ratio(da?.p99_ms, wa?.p99_ms), max: ratio(da?.max_ms, wa?.max_ms) };
    comparison.alarms = { dorm_over_workerd: c };
    console.log('');
    console.log(`Alarm firing latency (${o.alarms} objects, one alarm each, all due within one second; ms after the scheduled time;`);
    console.log(`ratio = Dorm/workerd, below 1 means Dorm fires sooner)`);
    const row = (name, a) => [name, a ? `${a.fired}/${a.objects}` : '-', fmtMs(a?.p50_ms), fmtMs(a?.p99_ms), fmtMs(a?.max_ms),
      a?.prepare_rps == null ? '-' : fmtRps(a.prepare_rps), a?.set_seconds == null ? '-' : a.set_seconds.toFixed(1),
      a?.set_margin_seconds == null ? '-' : a.set_margin_seconds.toFixed(1)];
    console.log(table(['server', 'fired', 'p50', 'p99', 'max', 'new obj/s', 'set s', 'margin s'],
      [row('workerd', wa), row('dorm', da), ['ratio', '', fmtRatio(c.p50), fmtRatio(c.p99), fmtRatio(c.max), '', '', '']]));
    console.log(`('margin' is how long before the window setting the alarms was over; a negative margin means the first alarms fired under load.)`);
    if (o.alarmThroughput) {
      const tp = (b) => (b ? `${b.fired}/${b.objects} in ${fmtMs(b.last_after_ms)} ms, ${b.alarms_per_second === null ? '-' : fmtRps(b.alarms_per_second)} alarms/s` : '-');
      comparison.alarm_throughput = { dorm_over_workerd: ratio(d?.alarm_throughput?.alarms_per_second, w?.alarm_throughput?.alarms_per_second) };
      console.log(`Alarm throughput (the same objects, every alarm due at one instant): workerd ${tp(w?.alarm_throughput)}; dorm ${tp(d?.alarm_throughput)}; ` +
        `ratio ${fmtRatio(comparison.alarm_throughput.dorm_over_workerd)}`);
    }
    const idle = (a) => (a ? `p50 ${fmtMs(a.p50_ms)} ms, max ${fmtMs(a.max_ms)} ms` : '-');
    console.log(`Single alarm on an idle server (10 in a row, ms after the scheduled time): workerd ${idle(w?.idle_alarm)}; dorm ${idle(d?.idle_alarm)}`);
  }

  if (o.activationObjects > 0) {
    const act = (a) => (a?.p50_ms == null ? '-' : `p50 ${fmtMs(a.p50_ms)} ms, p99 ${fmtMs(a.p99_ms)} ms, max ${fmtMs(a.max_ms)} ms`);
    comparison.activation = { dorm_over_workerd: { p50: ratio(d?.activation?.p50_ms, w?.activation?.p50_ms), p99: ratio(d?.activation?.p99_ms, w?.activation?.p99_ms) } };
    const size = d?.activation?.database_bytes ?? w?.activation?.database_bytes;
    console.log('');
    console.log(`Activation of an evicted object (${o.activationObjects} objects, ${size == null ? '?' : (size / 1048576).toFixed(2)} MiB database each, ` +
      `asked one after the other by a freshly started server): workerd ${act(w?.activation)}; dorm ${act(d?.activation)}; ` +
      `p99 ratio ${fmtRatio(comparison.activation.dorm_over_workerd.p99)}`);
  }

  console.log('');
  console.log('Checks');
  // A check of a scenario --only left out is skipped (null), not failed.
  const ran = (key, ok) => (!o.only || o.only.includes(key) ? ok : null);
  let allOk = true;
  for (const r of [w, d]) {
    if (!r) continue;
    const ins = r.scenarios.sql_insert?.check;
    const sel = r.scenarios.sql_select?.check;
    const checks = [
      ['inserted rows match wrk', ran('sql_insert', ins?.ok), ins && `${ins.rows_added} rows added, ${ins.answered_inserts} answered (+${ins.max_in_flight_at_cutoffs} in flight at most)`],
      ['SELECT answers its rows as JSON', ran('sql_select', sel?.ok), sel && `${sel.rows_returned} rows, expected ${sel.expected}`],
    ];
    if (o.alarms > 0) {
      const a = r.alarms;
      checks.push(['every alarm fired, none early', ran('alarms', a?.ok), a && `${a.fired} of ${a.objects} fired${a.stopped_by_time_limit ? ` (of ${a.requested_objects} requested; setup hit its time limit)` : ''}, ${a.early} early, ${a.failed_requests} failed requests`]);
      if (o.alarmThroughput) {
        const b = r.alarm_throughput;
        checks.push(['every alarm due at one instant fired', ran('alarms', b?.ok), b && `${b.fired} of ${b.objects} fired, ${b.failed_requests} failed requests`]);
      }
    }
    if (o.activationObjects > 0) {
      const act = r.activation;
      checks.push(['each activated object has its rows', ran('activation', act?.ok), act && `${act.objects} objects, ${act.wrong_counts ?? '-'} wrong counts`]);
    }
    if (!printChecks(r, checks)) allOk = false;
  }
  return { comparison, allOk };
}


// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const tmp = benchTempDir(o, 'dorm-bench-storage-');
  const started = new Date();
  const machine = machineInfo(true);
  const results = {};
  const wanted = (key) => !o.only || o.only.includes(key);
  const scenarios = wrkScenarios(o).filter((s) => wanted(s.key));
  let failed = false;
  try {
    const servers = [];
    if (o.workerd) servers.push(makeWorkerd(tmp));
    if (o.dorm) servers.push(makeDorm(tmp, o));
    for (const server of servers) {
      results[server.name] = {
        server: server.name,
        version: server.version,
        binary: shownBinary(server.binary),
        disk: probeFsync(server.dataDir, 20),
        scenarios: {},
        alarms: null,
        errors: [],
        log_file: null,
      };
    }
    // Alternate which server goes first, scenario by scenario.
    const jobs = [...scenarios.map((s) => (server) => runWrkScenario(server, results[server.name], s, o))];
    if (o.alarms > 0 && wanted('alarms')) jobs.push((server) => runAlarmScenario(server, results[server.name], o));
    if (o.activationObjects > 0 && wanted('activation')) jobs.push((server) => runActivationScenario(server, results[server.name], o));
    for (const [k, job] of jobs.entries()) {
      for (const server of k % 2 === 0 ? servers : [...servers].reverse()) await job(server);
    }
    if (logServerErrors(servers, results)) failed = true;
  } catch (e) {
    console.error(`bench: ${e.stack ?? e}`);
    failed = true;
  }
  const { comparison, allOk } = report(results, scenarios, o);
  machine.loadavg_at_end = os.loadavg();
  const json = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    options: {
      duration_s: o.duration, warmup_s: o.warmup, connections: o.connections, wrk_threads: o.wrkThreads, rows: o.rows,
      alarms: o.alarms, alarm_throughput: o.alarmThroughput, activation_objects: o.activationObjects, activation_rows: o.activationRows, alarm_lead_s: o.alarmLead, alarm_wait_s: o.alarmWait, alarm_setup_max_s: o.alarmSetupMax, dorm_threads: o.dormThreads,
    },
    machine,
    class_source: path.relative(rootDir, classFile),
    scenarios: scenarios.map(({ key, label, method, id, rest }) => ({ key, label, method, path: `/_do/${routeName}/${id}/${rest}` })),
    results,
    comparison,
    correct: allOk,
  };
  finish(o, json, tmp, !failed && allOk);
}

main();
