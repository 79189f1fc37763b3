// WebCrypto inside Durable Objects, side by side on workerd and on Dorm: each HTTP request to an
// object runs N operations of one kind one after the other (bench/crypto-bench.js): HMAC-SHA-256
// sign and verify of 64 bytes, AES-128-GCM encrypt and decrypt of 1 KiB, SHA-256 of 1 MiB; at one
// connection to one object, and at 64 connections spread over 64 objects (both threads busy).
// Operations/s = requests/s × N. Each scenario gets a freshly started server that is the only one
// alive, and the servers alternate scenario by scenario, as in bench.mjs.
// Started by `bench/run.sh --crypto`, which checks the tools and raises the open-files limit.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  benchDir, fail, log, parseBenchArgs, httpCall, runWrk as runWrkArgs, makeClassWorkerd,
  makeClassDorm, runClassScenario, fmtRps, fmtMs, fmtRatio, ratio, table, machineInfo, finish,
  checksPassed, treeStats, benchOptions, killChildrenOnExit,
} from './lib.mjs';

const CLASS = { moduleFile: 'crypto-bench.js', className: 'CryptoBench', route: 'crypto-bench', binding: 'CRYPTO_BENCH', uniqueKey: 'dorm-bench-crypto' };

const usage = `usage: bench/run.sh --crypto [options]
  --workerd-only        run only the workerd side
  --dorm-only           run only the Dorm side
  --duration N          seconds of each measured wrk run (default 10)
  --warmup N            seconds of warm-up before each measured run (default 3)
  --wrk-threads N       wrk threads (default 1)
  --dorm PATH           the dorm binary (default build/dorm, or $DORM_BIN)
  --dorm-threads N      dorm serve --threads (default 2)
  --out FILE            where to write the JSON (default bench/results/crypto.json)
  --only KEY[,KEY]      run only these scenarios (hmac_sign_1, hmac_verify_1, aes_encrypt_1,
                        aes_decrypt_1, sha256_1, hmac_sign_64, aes_encrypt_64, sha256_64)
  --keep                keep the temporary folder (configs, data, server logs)`;

const defaults = benchOptions('crypto', {
  only: null,
});
const o = parseBenchArgs(process.argv.slice(2), usage, defaults, (a, next) => {
  if (a === '--only') { defaults.only = next().split(','); return true; }
  return false;
});

killChildrenOnExit();

// [key, label, op, operations per request, objects, connections, bytes per operation (for MB/s)]
const SCENARIOS = [
  ['hmac_sign_1', 'HMAC-SHA-256 sign, 64 B, 1 object', 'hmac-sign', 100, 1, 1, 0],
  ['hmac_verify_1', 'HMAC-SHA-256 verify, 64 B, 1 object', 'hmac-verify', 100, 1, 1, 0],
  ['aes_encrypt_1', 'AES-128-GCM encrypt, 1 KiB, 1 object', 'aes-gcm-encrypt', 100, 1, 1, 0],
  ['aes_decrypt_1', 'AES-128-GCM decrypt, 1 KiB, 1 object', 'aes-gcm-decrypt', 100, 1, 1, 0],
  ['sha256_1', 'SHA-256 of 1 MiB, 1 object', 'sha-256', 4, 1, 1, 1 << 20],
  ['hmac_sign_64', 'HMAC-SHA-256 sign, 64 B, 64 objects', 'hmac-sign', 100, 64, 64, 0],
  ['aes_encrypt_64', 'AES-128-GCM encrypt, 1 KiB, 64 objects', 'aes-gcm-encrypt', 100, 64, 64, 0],
  ['sha256_64', 'SHA-256 of 1 MiB, 64 objects', 'sha-256', 4, 64, 64, 1 << 20],
].map(([key, label, op, n, objects, connections, bytes]) => ({ key, label, op, n, objects, connections, bytes }))
  .filter((s) => o.only === null || o.only.includes(s.key));
if (SCENARIOS.length === 0) fail(`--only names no scenario\n${usage}`);

// The checksum the object answers for one request of `s`.
function expectedSum(s) {
  const each = { 'hmac-sign': 32, 'hmac-verify': 1, 'aes-gcm-encrypt': 1024 + 16, 'aes-gcm-decrypt': 1024, 'sha-256': 32 }[s.op];
  return String(each * s.n);
}

function action(s) {
  return `go?op=${s.op}&n=${s.n}`;
}

const fmtUs = (v) => (v == null ? '-' : v.toFixed(v < 100 ? 2 : 0));

function runWrk(baseUrl, s, seconds) {
  const t = Math.max(1, Math.min(o.wrkThreads, s.connections));
  const args = ['-t', String(t), '-c', String(s.connections), '-d', `${seconds}s`, '--timeout', '10s',
    '-s', path.join(benchDir, 'counter.lua'), baseUrl, '--', 'GET', action(s), String(s.objects), 'crypto', CLASS.route];
  return runWrkArgs(args, seconds);
}

// The server's processes while a scenario runs, for their CPU time (see measure).
let serverPid = null;

async function runScenario(server, r, s) {
  const tracked = {
    ...server,
    async start() {
      const proc = await server.start();
      serverPid = proc.child.pid;
      return proc;
    },
  };
  await runClassScenario(tracked, r, s, o, {
    async check(baseUrl, agent) {
      const probe = await httpCall(agent, 'GET', `${baseUrl}/_do/${CLASS.route}/crypto-0/${action(s)}`);
      return { ok: probe.status === 200 && probe.body === expectedSum(s), status: probe.status, body: probe.body.slice(0, 200) };
    },
    // Server CPU time per operation (all its threads and processes, user + system): what an
    // operation costs the server, which moves much less than ops/s when other work shares the
    // cores (the load generator is on them too).
    async measure(baseUrl, seconds) {
      const cpu0 = treeStats(serverPid).cpu;
      const res = await runWrk(baseUrl, s, seconds);
      const cpu = treeStats(serverPid).cpu - cpu0;
      res.cpu_us_per_op = res.requests > 0 ? (cpu * 1e6) / (res.requests * s.n) : null;
      res.ops_per_s = res.rps == null ? null : res.rps * s.n;
      res.mb_per_s = res.ops_per_s == null || !s.bytes ? null : (res.ops_per_s * s.bytes) / (1 << 20);
      return res;
    },
    report: (res) => `${fmtRps(res.ops_per_s)} ops/s${res.mb_per_s ? ` (${res.mb_per_s.toFixed(0)} MiB/s)` : ''}, ` +
      `p99 ${fmtMs(res.p99_ms)} ms per request, server CPU ${fmtUs(res.cpu_us_per_op)} us per operation`,
  });
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'dorm-bench-crypto-'));
  if (o.dorm && !fs.existsSync(o.dormBin)) fail(`${o.dormBin} does not exist: build Dorm first, or use --workerd-only`);
  const servers = [];
  if (o.workerd) servers.push(makeClassWorkerd(tmp, CLASS));
  if (o.dorm) servers.push(makeClassDorm(tmp, CLASS, o));
  const results = {};
  for (const server of servers) results[server.name] = { server: server.name, version: server.version, scenarios: {}, checks: {}, errors: [] };
  log(`${o.duration} s runs after ${o.warmup} s warm-up; ${servers.map((s) => s.name).join(' and ')}`);
  for (const s of SCENARIOS) {
    for (const server of servers) await runScenario(server, results[server.name], s);
  }

  const w = results.workerd;
  const d = results.dorm;
  const comparison = {};
  const mb = (v) => (v == null ? '-' : v.toFixed(0));
  const rows = SCENARIOS.map((s) => {
    const ws = w?.scenarios[s.key];
    const ds = d?.scenarios[s.key];
    const c = {
      ops: ratio(ds?.ops_per_s, ws?.ops_per_s), p99: ratio(ds?.p99_ms, ws?.p99_ms),
      cpu_per_op: ratio(ds?.cpu_us_per_op, ws?.cpu_us_per_op),
    };
    comparison[s.key] = { dorm_over_workerd: c };
    return [s.label, `${s.connections}`, fmtRps(ws?.ops_per_s), mb(ws?.mb_per_s), fmtMs(ws?.p99_ms), fmtUs(ws?.cpu_us_per_op),
      fmtRps(ds?.ops_per_s), mb(ds?.mb_per_s), fmtMs(ds?.p99_ms), fmtUs(ds?.cpu_us_per_op), fmtRatio(c.ops), fmtRatio(c.p99),
      fmtRatio(c.cpu_per_op)];
  });
  console.log('');
  console.log('WebCrypto in objects (100 operations per request, 4 for SHA-256, one after the other; MiB/s for digests;');
  console.log('p99 per request, in ms; CPU = server CPU time per operation, in us; ratio = Dorm/workerd: ops/s above 1,');
  console.log('latency and CPU below 1 mean Dorm is ahead)');
  console.log(table(['scenario', 'conn', 'workerd ops/s', 'MiB/s', 'p99', 'CPU', 'dorm ops/s', 'MiB/s', 'p99', 'CPU', 'ops ratio',
    'p99 ratio', 'CPU ratio'], rows));
  finish(o, { machine: machineInfo(), options: o, results, comparison }, tmp, checksPassed(results));
}

main();
