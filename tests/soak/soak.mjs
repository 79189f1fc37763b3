// Soak test: one `dorm serve` under a steady victim load while hostile tenants and hostile
// clients take turns attacking it, for SOAK_SECONDS (default 1800). Not part of scripts/test.sh;
// run it with scripts/soak.sh (which builds first) or directly:
//
//   DORM_BIN=build/dorm SOAK_SECONDS=1800 node tests/soak/soak.mjs
//
// The victim (app "victim") gets SOAK_VICTIM_RPS HTTP requests a second, open loop, on
// SOAK_VICTIM_CONNECTIONS keep-alive connections (3 in 5 are durable counter increments with a
// SQL row, the rest reads), and SOAK_WS_CLIENTS WebSocket clients each send a message every
// SOAK_WS_INTERVAL_MS that the object writes to storage and echoes. Latency is measured from the
// moment a request is issued, so a stalled server shows in the tail instead of slowing the load.
//
// The hostile side rotates through phases of SOAK_PHASE_SECONDS each (a quiet phase first, as a
// baseline): CPU burners up to the CPU limit, thousands of 1 ms intervals, Atomics.wait, heap
// exhaustion, storage filled to its quota, SQL cursors held open, constructors that throw or
// spin, slowloris heads, unfinished bodies, a connection flood up to the connection limit (less the
// victim's connections and a reserve, so that the victim's own connections stay within it), huge request and response headers,
// malformed and ambiguous requests, broken and unfinished WebSocket frames, and an app forging
// handles and clearing timer ids to reach the victim's objects.
//
// Every SOAK_SAMPLE_SECONDS it prints, and appends to soak.csv in SOAK_OUT, the server's RSS,
// open descriptors, threads and CPU, the victim's requests ok / failed and p50 / p99 / max latency
// over the window, the hostile operations started, and the size of the log and data folder. At
// the end it checks that the server is up, that every acknowledged increment is stored, that the
// victim's vault still holds exactly its data and that its timers fired, that the server stops on
// SIGTERM, and prints a summary (also in SOAK_OUT/summary.txt; the server's log is server.log).
// Exit status 1 if the server died, victim data was lost or moved, or any victim request failed.
//
// Settings (environment; defaults in `cfg` below): DORM_BIN, SOAK_SECONDS, SOAK_SAMPLE_SECONDS,
// SOAK_PHASE_SECONDS, SOAK_VICTIM_RPS, SOAK_VICTIM_CONNECTIONS, SOAK_VICTIM_OBJECTS,
// SOAK_VICTIM_TIMEOUT_MS (a victim request or echo slower than this fails), SOAK_WS_CLIENTS,
// SOAK_WS_INTERVAL_MS, SOAK_CPU_LIMIT_MS, SOAK_MAX_CONNECTIONS, SOAK_CONNECTION_RESERVE,
// SOAK_SERVE_FLAGS (more `dorm serve` flags), SOAK_PHASES (a comma-separated subset), SOAK_OUT, SOAK_KEEP_DATA=1 (keep the data folder,
// which is otherwise removed after a passing run). SIGINT stops the load early and still checks
// the stored data.
import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WebSocket, frame, parseFrames } from '../e2e/lib/ws.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const securityFixture = (name) => path.join(root, 'tests', 'security', 'fixtures', name);
const soakFixture = (name) => path.join(here, 'fixtures', name);

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const cfg = {
  bin: path.resolve(process.env.DORM_BIN ?? path.join(root, 'build', 'dorm')),
  seconds: envNumber('SOAK_SECONDS', 1800),
  sampleSeconds: envNumber('SOAK_SAMPLE_SECONDS', 10),
  phaseSeconds: envNumber('SOAK_PHASE_SECONDS', 15),
  victimRps: envNumber('SOAK_VICTIM_RPS', 100),
  // Enough connections that a thread stalled for the CPU limit is measured as the server's stall,
  // not as the load generator running out of connections.
  victimConnections: envNumber('SOAK_VICTIM_CONNECTIONS', 256),
  victimObjects: envNumber('SOAK_VICTIM_OBJECTS', 8),
  victimTimeoutMs: envNumber('SOAK_VICTIM_TIMEOUT_MS', 30000),
  wsClients: envNumber('SOAK_WS_CLIENTS', 2),
  wsIntervalMs: envNumber('SOAK_WS_INTERVAL_MS', 100),
  cpuLimitMs: envNumber('SOAK_CPU_LIMIT_MS', 2000),
  maxConnections: envNumber('SOAK_MAX_CONNECTIONS', 1024),
  // Connections the flood leaves free below the limit besides the victim's: the other phases'.
  connectionReserve: envNumber('SOAK_CONNECTION_RESERVE', 32),
  out: process.env.SOAK_OUT ?? path.join(os.tmpdir(), `dorm-soak-${new Date().toISOString().replace(/[:.]/g, '-')}`),
  keepData: Boolean(process.env.SOAK_KEEP_DATA),
};

// Limits of a server that hosts tenants it does not trust. SOAK_SERVE_FLAGS adds or overrides.
const serveFlags = [
  '--cpu-limit-ms', String(cfg.cpuLimitMs),
  '--heap-limit-mb', '128',
  '--idle-evict-seconds', '30',
  '--max-connections', String(cfg.maxConnections),
  '--max-buffered-body-bytes', String(128 << 20),
  '--header-timeout-seconds', '10',
  '--body-timeout-seconds', '10',
  '--keep-alive-timeout-seconds', '30',
  '--max-object-storage-mb', '16',
  '--max-app-storage-mb', '48',
  ...(process.env.SOAK_SERVE_FLAGS ?? '').split(/\s+/).filter(Boolean),
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes) => bytes / (1 << 20);
const fmt = (n, digits = 1) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// The server.

fs.mkdirSync(cfg.out, { recursive: true });
const dataDir = path.join(cfg.out, 'data');
const logPath = path.join(cfg.out, 'server.log');
const csvPath = path.join(cfg.out, 'soak.csv');
let server = null; // {proc, pid, port, exit: null | {code, signal}}

async function startServer() {
  if (!fs.existsSync(cfg.bin)) throw new Error(`dorm binary not found at ${cfg.bin} (build it, or set DORM_BIN)`);
  const log = fs.openSync(logPath, 'a');
  const args = ['serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...serveFlags];
  // Its own process group: a Ctrl-C meant for the load generator must not stop the server before
  // the stored data is checked.
  const proc = spawn(cfg.bin, args, { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  const s = { proc, pid: proc.pid, port: null, exit: null, args };
  s.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve((s.exit = { code, signal }))));
  // Whatever ends the load generator, the server it started does not outlive it.
  process.on('exit', () => {
    if (s.exit === null) proc.kill('SIGKILL');
  });
  const deadline = Date.now() + 30000;
  while (s.port === null) {
    if (s.exit) throw new Error(`dorm serve exited ${JSON.stringify(s.exit)} before listening; see ${logPath}`);
    if (Date.now() > deadline) throw new Error(`dorm serve did not print its address within 30 s; see ${logPath}`);
    const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(fs.readFileSync(logPath, 'utf8'));
    if (m) s.port = Number(m[1]);
    else await sleep(100);
  }
  return s;
}

async function deploy(file, app, name) {
  const args = ['deploy', file, '--app', app, '--name', name, '--access', 'public', '--data', dataDir];
  try {
    await promisify(execFile)(cfg.bin, args, { timeout: 60000 });
  } catch (e) {
    throw new Error(`dorm ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

function procStatus(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), threads: field('Threads') };
}

const USER_HZ = 100; // the unit of /proc/PID/stat's CPU times on Linux

function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ; // utime + stime
}

// `dorm serve` is a supervisor whose one child, the runtime process, holds the objects.
function runtimePid(pid) {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

function dirBytes(dir) {
  let total = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    try {
      if (e.isDirectory()) total += dirBytes(p);
      else if (e.isFile()) total += fs.statSync(p).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers.

const hostOf = (app) => `${app}.localhost:${server.port}`;

// Resolves {status, text}; rejects on a network error or after timeoutMs.
function request({ app, method = 'GET', path: reqPath, body, agent = false, timeoutMs = 60000, headers = {} }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const hdrs = { host: hostOf(app), ...headers };
    if (payload) hdrs['content-length'] = String(payload.length);
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: reqPath, headers: hdrs, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function requestJson(opts) {
  const res = await request(opts);
  if (res.status !== 200) throw new Error(`${opts.method ?? 'GET'} ${opts.path} (${opts.app}): ${res.status} ${res.text.slice(0, 200)}`);
  return JSON.parse(res.text);
}

// ---------------------------------------------------------------------------------------------
// Measurements.

const startedAt = Date.now();
const elapsedS = () => (Date.now() - startedAt) / 1000;
let currentPhase = 'setup';
let windowPhases = new Set();

const victim = {
  issued: 0,
  ok: 0,
  failed: 0,
  inFlight: 0,
  windowOk: 0,
  windowFailed: 0,
  windowLatencies: [],
  allLatencies: [],
  failures: [], // the first few, for the summary
  acked: new Map(), // object name -> acknowledged seqs
  byPhase: new Map(), // hostile phase running when a request was issued -> latencies
  ws: { ok: 0, failed: 0, windowOk: 0, windowFailed: 0, windowLatencies: [], allLatencies: [], reconnects: 0 },
};

function victimFailure(what, detail) {
  if (victim.failures.length < 20) victim.failures.push(`${fmt(elapsedS(), 0)} s [${currentPhase}] ${what}: ${detail}`);
}

const hostile = {
  sent: 0,
  windowSent: 0,
  outcomes: new Map(), // phase -> Map(outcome -> count)
  leaks: [], // anything that reached another app's data
  timersArmed: [], // vault instances whose timer the attacker tried to cancel, with when
};

function hostileOutcome(phase, outcome) {
  if (!hostile.outcomes.has(phase)) hostile.outcomes.set(phase, new Map());
  const m = hostile.outcomes.get(phase);
  m.set(outcome, (m.get(outcome) ?? 0) + 1);
}

function hostileSent(n = 1) {
  hostile.sent += n;
  hostile.windowSent += n;
}

// ---------------------------------------------------------------------------------------------
// The victim's load.

const victimAgent = new http.Agent({ keepAlive: true, maxSockets: cfg.victimConnections, scheduling: 'fifo' });
const NOTE = 'n'.repeat(64);
let victimStopping = false;

function victimRequest(seq) {
  const object = `l${seq % cfg.victimObjects}`;
  const increment = seq % 5 < 3;
  const issued = performance.now();
  const phase = currentPhase;
  victim.issued++;
  victim.inFlight++;
  const opts = increment
    ? { app: 'victim', method: 'POST', path: `/_do/ledger/${object}/inc?seq=${seq}`, body: { note: NOTE } }
    : { app: 'victim', path: `/_do/ledger/${object}/read` };
  request({ ...opts, agent: victimAgent, timeoutMs: cfg.victimTimeoutMs, headers: { 'content-type': 'application/json' } })
    .then((res) => {
      const latency = performance.now() - issued;
      if (res.status === 200 && increment) {
        // Acknowledged, however late: it must be stored.
        if (!victim.acked.has(object)) victim.acked.set(object, []);
        victim.acked.get(object).push(seq);
      }
      if (res.status === 200 && latency > cfg.victimTimeoutMs) {
        victim.failed++;
        victim.windowFailed++;
        victimFailure(`${opts.method ?? 'GET'} ${opts.path}`, `answered after ${fmt(latency, 0)} ms`);
      } else if (res.status === 200) {
        victim.ok++;
        victim.windowOk++;
        victim.windowLatencies.push(latency);
        victim.allLatencies.push(latency);
        if (!victim.byPhase.has(phase)) victim.byPhase.set(phase, []);
        victim.byPhase.get(phase).push(latency);
      } else {
        victim.failed++;
        victim.windowFailed++;
        victimFailure(`${opts.method ?? 'GET'} ${opts.path}`, `${res.status} ${res.text.slice(0, 160)}`);
      }
    })
    .catch((e) => {
      victim.failed++;
      victim.windowFailed++;
      victimFailure(`${opts.method ?? 'GET'} ${opts.path}`, e.message);
    })
    .finally(() => victim.inFlight--);
}

// Open loop: the requests due since the start are issued whatever the answers' pace.
async function runVictimHttp(until) {
  const loopStart = Date.now();
  let seq = 0;
  while (!victimStopping && Date.now() < until) {
    const due = Math.floor(((Date.now() - loopStart) / 1000) * cfg.victimRps);
    while (seq < due) victimRequest(seq++);
    await sleep(10);
  }
}

class VictimSocket {
  constructor(index) {
    this.index = index;
    this.pending = new Map(); // message number -> send time
    this.next = 0;
    this.ws = null;
    this.open = false;
  }

  connect() {
    const url = `ws://127.0.0.1:${server.port}/_do/ledger/ws${this.index}`;
    const ws = new WebSocket(url, { headers: { host: hostOf('victim') }, handshakeTimeout: cfg.victimTimeoutMs });
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
    });
    ws.on('message', (data) => {
      const n = Number(String(data).split(':')[1]);
      const sent = this.pending.get(n);
      if (sent === undefined) return;
      this.pending.delete(n);
      const latency = performance.now() - sent;
      victim.ws.ok++;
      victim.ws.windowOk++;
      victim.ws.windowLatencies.push(latency);
      victim.ws.allLatencies.push(latency);
    });
    ws.on('error', (e) => {
      if (!victimStopping) victimFailure(`WebSocket ${this.index}`, e.message);
    });
    ws.on('close', (code, reason) => {
      this.open = false;
      if (victimStopping) return;
      victimFailure(`WebSocket ${this.index} closed`, `${code} ${reason}`);
      this.failPending();
      victim.ws.failed++;
      victim.ws.windowFailed++;
      victim.ws.reconnects++;
      setTimeout(() => this.connect(), 1000);
    });
  }

  failPending() {
    victim.ws.failed += this.pending.size;
    victim.ws.windowFailed += this.pending.size;
    this.pending.clear();
  }

  // Counts echoes that did not come within the victim's timeout as failed.
  expire() {
    const now = performance.now();
    for (const [n, sent] of this.pending) {
      if (now - sent <= cfg.victimTimeoutMs) break;
      this.pending.delete(n);
      victim.ws.failed++;
      victim.ws.windowFailed++;
      victimFailure(`WebSocket ${this.index} echo ${n}`, `no echo within ${cfg.victimTimeoutMs} ms`);
    }
  }

  tick() {
    this.expire();
    if (!this.open) return;
    const n = this.next++;
    this.pending.set(n, performance.now());
    this.ws.send(`echo:${n}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile phases. Each runs until `until`; what it leaves open it closes itself.

let hostileStopping = false;
const phaseDone = (until) => hostileStopping || Date.now() >= until || server.exit !== null;
let idCounter = 0;
const freshId = (prefix) => `${prefix}${idCounter++}`;

// Sends a hostile HTTP request through node:http and records its status (or error).
async function hostileRequest(phase, opts) {
  hostileSent();
  try {
    const res = await request({ timeoutMs: 60000, ...opts });
    hostileOutcome(phase, String(res.status));
    return res;
  } catch (e) {
    hostileOutcome(phase, /no answer/.test(e.message) ? 'no answer in 60 s' : e.code ?? e.message);
    return null;
  }
}

// Writes raw bytes on a new connection and resolves with the first status code the server sends,
// or how the connection ended without one.
function rawProbe(payload, timeoutMs = 30000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    let head = '';
    let settled = false;
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const statusOf = () => /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    const timer = setTimeout(() => finish(statusOf() ?? 'no answer'), timeoutMs);
    socket.on('connect', () => {
      for (const part of Array.isArray(payload) ? payload : [payload]) socket.write(part);
    });
    socket.on('data', (d) => {
      if (head.length < 64) head += d.toString('latin1');
      if (statusOf()) finish(statusOf());
    });
    socket.on('error', (e) => finish(statusOf() ?? e.code ?? 'error'));
    socket.on('close', () => finish(statusOf() ?? 'closed without answer'));
  });
}

// Holds `target()` connections open until the phase ends, re-opening those the server closes;
// `start(socket)` writes what each one sends first, `tick(socket)` runs every second on each.
async function holdConnections(phase, until, { target, start = () => {}, tick }) {
  const held = new Set();
  const open = () => {
    hostileSent();
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    held.add(socket);
    let head = '';
    socket.on('connect', () => start(socket));
    socket.on('data', (d) => {
      if (head.length < 64) head += d.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      held.delete(socket);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      hostileOutcome(phase, status ?? (socket.soakClosing ? 'still open at the end of the phase' : 'closed without answer'));
    });
  };
  let lastTick = Date.now();
  while (!phaseDone(until)) {
    // At most 50 new connections per 100 ms, so that the load generator stays light.
    for (let i = 0; i < 50 && held.size < target(); i++) open();
    if (tick && Date.now() - lastTick >= 1000) {
      lastTick = Date.now();
      for (const s of held) if (s.writable) tick(s);
    }
    await sleep(100);
  }
  for (const s of held) {
    s.soakClosing = true;
    s.destroy();
  }
}

// Workers running `fn` in a loop until the phase ends.
async function loop(until, workers, fn, pauseMs = 0) {
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (!phaseDone(until)) {
      await fn(w);
      if (pauseMs) await sleep(pauseMs);
    }
  }));
}

// A WebSocket handshake on a raw socket to the hog app; resolves the socket after the 101.
function rawWebSocket() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no handshake answer'));
    }, 30000);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('connect', () => socket.write(
      `GET /_do/hog/ws${idCounter++ % 4} HTTP/1.1\r\nHost: ${hostOf('hog')}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n'));
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', onData);
      const head = buf.subarray(0, end).toString('latin1');
      if (!/^HTTP\/1\.1 101/.test(head)) {
        socket.destroy();
        reject(new Error(head.split('\r\n')[0]));
        return;
      }
      socket.rest = buf.subarray(end + 4);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

// Sends `frames` on a fresh WebSocket and resolves with the close code the server sends, or how
// the connection ended.
async function wsAttack(phase, frames, timeoutMs = 30000) {
  hostileSent();
  let socket;
  try {
    socket = await rawWebSocket();
  } catch (e) {
    hostileOutcome(phase, `handshake: ${e.message}`);
    return;
  }
  const outcome = await new Promise((resolve) => {
    let buf = socket.rest;
    const finish = (o) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish('open after 30 s'), timeoutMs);
    const check = () => {
      const { frames: got } = parseFrames(buf);
      const close = got.find((f) => f.opcode === 8);
      if (close) finish(`close ${close.code}`);
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      check();
    });
    socket.on('error', () => {});
    socket.on('close', () => finish('dropped'));
    for (const f of frames) socket.write(f);
    check();
  });
  hostileOutcome(phase, outcome);
}

const BIG_CHUNK = Buffer.alloc(1 << 20, 0x61);

const MALFORMED = [
  Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS hello
  'GET / HTTP/9.9\r\n\r\n',
  'GET /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nTransfer-Encoding: xchunked\r\n\r\n',
  'POST /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  'POST /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
  'POST /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello',
  'GET /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nHost: victim.localhost\r\n\r\n',
  'POST /_do/probe/m?op=size HTTP/1.1\r\nHost: probe.localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  'POST /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nContent-Length: -1\r\n\r\n',
  'GET /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nNo colon here\r\n\r\n',
  'GET /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nX-Nul: a\0b\r\n\r\n',
  `GET /_do/probe/${'%zz'.repeat(10)} HTTP/1.1\r\nHost: probe.localhost\r\n\r\n`,
  `GET /_do/probe/${'a'.repeat(2000)} HTTP/1.1\r\nHost: probe.localhost\r\n\r\n`,
  `GET /${'a'.repeat(100000)} HTTP/1.1\r\nHost: probe.localhost\r\n\r\n`,
  'GET /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nx-dorm-original-path: /forged\r\n\r\n',
  'GET /_admin/v1/apps HTTP/1.1\r\nHost: probe.localhost\r\nAuthorization: Bearer forged\r\n\r\n',
  // A smuggling attempt: a second request hidden in a body that a lenient parser would read as one.
  'POST /_do/probe/m HTTP/1.1\r\nHost: probe.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /_admin/v1/apps HTTP/1.1\r\nHost: x\r\n\r\n',
  // 100 pipelined requests.
  'GET /_do/probe/p HTTP/1.1\r\nHost: probe.localhost\r\n\r\n'.repeat(100),
  // A chunked trailer over the limit.
  ['POST /_do/probe/m?op=size HTTP/1.1\r\nHost: probe.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n',
    `X-Trailer: ${'t'.repeat(90 * 1024)}\r\n\r\n`],
];

const phases = [
  { name: 'quiet', run: async (until) => { while (!phaseDone(until)) await sleep(200); } },

  { name: 'cpu', // two burners, each running to the CPU limit, again and again
    run: (until) => loop(until, 2, (w) => hostileRequest('cpu', { app: 'hog', path: `/_do/hog/burn${idCounter++ % 4}/${w === 0 ? 'spin' : 'sql-spin'}` })) },

  { name: 'slowloris', // heads that never finish, one byte a second
    run: (until) => holdConnections('slowloris', until, {
      target: () => 200,
      start: (s) => s.write('GET /_do/probe/s HTTP/1.1\r\nHost: probe.localhost\r\nX-Slow: '),
      tick: (s) => s.write('a'),
    }) },

  { name: 'storage', // objects and the app filled to their quotas, then emptied
    run: (until) => loop(until, 2, async (w) => {
      const object = `fill${w}-${idCounter++ % 3}`;
      for (let i = 0; i < 40 && !phaseDone(until); i++) {
        const res = await hostileRequest('storage', { app: 'filler', path: `/_do/box/${object}/${i % 4 === 3 ? 'sql-insert' : 'put'}?size=262144&count=4&key=k${i}` });
        if (!res || res.status !== 200) break;
      }
      await hostileRequest('storage', { app: 'filler', path: `/_do/box/${object}/delete-all` });
    }) },

  { name: 'timers', // 2,000 1 ms intervals on a fresh object every 2 s
    run: (until) => loop(until, 1, () => hostileRequest('timers', { app: 'hog', path: `/_do/hog/${freshId('t')}/intervals?count=2000` }), 2000) },

  { name: 'headers', // 90 KiB of request headers, 2,000 fields, 70 KB response headers
    run: (until) => loop(until, 2, async (w) => {
      const n = idCounter++ % 3;
      if (n === 0) {
        hostileSent();
        hostileOutcome('headers', await rawProbe(`GET /_do/probe/h HTTP/1.1\r\nHost: probe.localhost\r\nX-Big: ${'b'.repeat(90 * 1024)}\r\n\r\n`));
      } else if (n === 1) {
        let many = '';
        for (let i = 0; i < 2000; i++) many += `X-F${i}: v\r\n`;
        hostileSent();
        hostileOutcome('headers', await rawProbe(`GET /_do/probe/h HTTP/1.1\r\nHost: probe.localhost\r\n${many}\r\n`));
      } else {
        await hostileRequest('headers', { app: 'probe', path: `/_do/probe/h${w}?op=cookie&n=70000` });
      }
    }, 50) },

  { name: 'ctors', // constructors that throw, throw in blockConcurrencyWhile, spin and wait
    run: (until) => loop(until, 2, async () => {
      const kind = ['throw', 'bcw', 'spin', 'wait', 'ok'][idCounter++ % 5];
      await hostileRequest('ctors', { app: 'ctors', path: `/_do/bad-ctor/${freshId(kind)}/` });
    }, 100) },

  { name: 'bodies', // 8 MiB of 64 MiB bodies, then nothing
    run: (until) => holdConnections('bodies', until, {
      target: () => 8,
      start: (s) => {
        s.write(`POST /_do/probe/b?op=size HTTP/1.1\r\nHost: probe.localhost\r\nContent-Length: ${64 << 20}\r\n\r\n`);
        for (let i = 0; i < 8; i++) s.write(BIG_CHUNK);
      },
    }) },

  { name: 'atomics', // Atomics.wait in a request and in a constructor
    run: (until) => loop(until, 1, async () => {
      await hostileRequest('atomics', { app: 'hog', path: `/_do/hog/${freshId('a')}/atomics` });
      await hostileRequest('atomics', { app: 'ctors', path: `/_do/bad-ctor/${freshId('wait')}/` });
    }, 200) },

  { name: 'malformed', // unparsable, ambiguous and smuggling requests, each on its own connection
    run: (until) => loop(until, 4, async () => {
      hostileSent();
      hostileOutcome('malformed', await rawProbe(MALFORMED[idCounter++ % MALFORMED.length]));
    }, 20) },

  { name: 'heap', // an isolate filled to its heap limit
    run: (until) => loop(until, 1, () => hostileRequest('heap', { app: 'hog', path: `/_do/hog/heap${idCounter++ % 2}/heap` }), 500) },

  { name: 'flood', // connections that send nothing, up to the limit less the reserve
    run: (until) => holdConnections('flood', until, {
      target: () => Math.max(0, cfg.maxConnections - cfg.victimConnections - cfg.wsClients - cfg.connectionReserve),
    }) },

  { name: 'cursor', // endless SQL cursors read far ahead and left open
    run: (until) => loop(until, 1, async () => {
      const object = `cur${idCounter++ % 4}`;
      const opened = await hostileRequest('cursor', { app: 'filler', path: `/_do/box/${object}/cursor-open` });
      for (let i = 0; opened?.status === 200 && i < 5 && !phaseDone(until); i++) {
        await hostileRequest('cursor', { app: 'filler', path: `/_do/box/${object}/cursor-next?n=5000` });
      }
    }, 200) },

  { name: 'websocket', // unfinished, oversized and malformed frames
    run: (until) => loop(until, 3, async () => {
      const n = idCounter++ % 7;
      const text = (s) => frame({ opcode: 1, payload: Buffer.from(s) });
      const attacks = [
        // 2 MiB of a 16 MiB message, then nothing: dropped after the body timeout.
        [frame({ opcode: 2, payload: Buffer.alloc(2 << 20), length: 16 << 20 }).subarray(0, 14 + (2 << 20))],
        [frame({ opcode: 1, payload: Buffer.from('unmasked'), mask: false })],
        [frame({ opcode: 1, payload: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]) })],
        [frame({ opcode: 9, payload: Buffer.from('ping'), fin: false })],
        [frame({ opcode: 3, payload: Buffer.from('reserved opcode') })],
        [frame({ opcode: 2, payload: Buffer.alloc(16), length: 40 << 20 }).subarray(0, 14 + 16)],
        [text('hello'), frame({ opcode: 0, payload: Buffer.from('continuation without start') })],
      ];
      await wsAttack('websocket', attacks[n]);
    }, 50) },

  { name: 'forgery', // handle forgery and timer cancelling aimed at the victim's vault
    run: (until) => loop(until, 1, async () => {
      const timerObject = freshId('t');
      const armed = await hostileRequest('forgery', { app: 'victim', path: `/_do/vault/${timerObject}/arm-timer?ms=1500` });
      if (armed?.status === 200) hostile.timersArmed.push({ object: timerObject, at: Date.now() });
      await hostileRequest('forgery', { app: 'attacker', path: `/_do/attacker/${freshId('c')}/clear-timers` });
      const res = await hostileRequest('forgery', { app: 'attacker', path: `/_do/attacker/a${idCounter++ % 2}/probe?slots=64` });
      if (res?.status === 200) {
        for (const a of JSON.parse(res.text).attempts) {
          const made = a.name.startsWith('new ') && !a.threw;
          if (made || JSON.stringify(a).includes('victim-')) hostile.leaks.push(`${fmt(elapsedS(), 0)} s: ${JSON.stringify(a).slice(0, 300)}`);
        }
      }
    }, 1000) },
];

// SOAK_PHASES=name,name,... runs only those phases (in the rotation's order).
const selectedPhases = process.env.SOAK_PHASES
  ? phases.filter((p) => process.env.SOAK_PHASES.split(',').includes(p.name))
  : phases;

async function runHostile(until) {
  let index = 0;
  while (!hostileStopping && Date.now() < until && server.exit === null) {
    const phase = selectedPhases[index++ % selectedPhases.length];
    currentPhase = phase.name;
    windowPhases.add(phase.name);
    const phaseUntil = Math.min(until, Date.now() + cfg.phaseSeconds * 1000);
    await phase.run(phaseUntil);
  }
  currentPhase = 'end';
}

// ---------------------------------------------------------------------------------------------
// Sampling.

const samples = [];
const CSV_HEADER = 'elapsed_s,phase,rss_mib,fds,threads,server_cpu_pct,victim_ok,victim_failed,victim_in_flight,victim_p50_ms,victim_p99_ms,victim_max_ms,ws_ok,ws_failed,ws_p99_ms,hostile_sent,log_mib,data_mib,loadgen_cpu_pct,loadavg_1m';
let lastSample = { at: performance.now(), serverCpu: 0, loadCpu: process.cpuUsage() };

function takeSample() {
  const now = performance.now();
  const wall = (now - lastSample.at) / 1000;
  let rssKiB = NaN;
  let threads = NaN;
  let fds = NaN;
  let serverCpu = lastSample.serverCpu;
  if (server.exit === null) {
    try {
      const runtime = runtimePid(server.pid);
      ({ rssKiB, threads } = procStatus(runtime));
      fds = fs.readdirSync(`/proc/${runtime}/fd`).length;
      // CPU of the runtime processes that ended is not counted again: a restart shows as a dip.
      serverCpu = cpuSeconds(server.pid) + cpuSeconds(runtime);
    } catch {
      // the server exited meanwhile
    }
  }
  const loadCpu = process.cpuUsage();
  const loadCpuS = (loadCpu.user - lastSample.loadCpu.user + loadCpu.system - lastSample.loadCpu.system) / 1e6;
  const lat = victim.windowLatencies.sort((a, b) => a - b);
  const wsLat = victim.ws.windowLatencies.sort((a, b) => a - b);
  let logBytes = 0;
  try {
    logBytes = fs.statSync(logPath).size;
  } catch {
    // not yet written
  }
  const sample = {
    elapsed: elapsedS(),
    phase: [...windowPhases].join('+'),
    rssMiB: rssKiB / 1024,
    fds,
    threads,
    serverCpuPct: ((serverCpu - lastSample.serverCpu) / wall) * 100,
    ok: victim.windowOk,
    failed: victim.windowFailed,
    p50: percentile(lat, 0.5),
    p99: percentile(lat, 0.99),
    max: lat.length ? lat[lat.length - 1] : null,
    wsOk: victim.ws.windowOk,
    wsFailed: victim.ws.windowFailed,
    wsP99: percentile(wsLat, 0.99),
    hostileSent: hostile.windowSent,
    logMiB: mib(logBytes),
    dataMiB: mib(dirBytes(dataDir)),
    loadCpuPct: (loadCpuS / wall) * 100,
    inFlight: victim.inFlight,
    loadavg: os.loadavg()[0],
  };
  samples.push(sample);
  lastSample = { at: now, serverCpu, loadCpu };
  victim.windowOk = victim.windowFailed = 0;
  victim.windowLatencies = [];
  victim.ws.windowOk = victim.ws.windowFailed = 0;
  victim.ws.windowLatencies = [];
  hostile.windowSent = 0;
  windowPhases = new Set([currentPhase]);

  const row = [fmt(sample.elapsed, 0), sample.phase, fmt(sample.rssMiB), sample.fds, sample.threads, fmt(sample.serverCpuPct, 0),
    sample.ok, sample.failed, sample.inFlight, fmt(sample.p50), fmt(sample.p99), fmt(sample.max), sample.wsOk, sample.wsFailed, fmt(sample.wsP99),
    sample.hostileSent, fmt(sample.logMiB, 2), fmt(sample.dataMiB), fmt(sample.loadCpuPct, 0), fmt(sample.loadavg, 2)];
  fs.appendFileSync(csvPath, `${row.join(',')}\n`);
  console.log(`[${fmt(sample.elapsed, 0).padStart(5)} s] ${sample.phase.padEnd(18)} rss ${fmt(sample.rssMiB).padStart(6)} MiB  fds ${String(sample.fds).padStart(4)}  thr ${sample.threads}  cpu ${fmt(sample.serverCpuPct, 0).padStart(3)}%  ` +
    `victim ${sample.ok} ok ${sample.failed} failed ${sample.inFlight} waiting p50/p99/max ${fmt(sample.p50)}/${fmt(sample.p99)}/${fmt(sample.max)} ms  ` +
    `ws ${sample.wsOk} ok ${sample.wsFailed} failed p99 ${fmt(sample.wsP99)} ms  hostile ${sample.hostileSent}  log ${fmt(sample.logMiB, 2)} MiB  load-gen ${fmt(sample.loadCpuPct, 0)}%  loadavg ${fmt(sample.loadavg, 2)}`);
}

// ---------------------------------------------------------------------------------------------
// End checks.

// Returns {acknowledged, missing}; adds what is wrong to `problems`.
async function checkVictimData(problems) {
  let acknowledged = 0;
  let missingTotal = 0;
  for (let i = 0; i < cfg.victimObjects; i++) {
    const object = `l${i}`;
    const acked = victim.acked.get(object) ?? [];
    acknowledged += acked.length;
    const { count, seqs } = await requestJson({ app: 'victim', path: `/_do/ledger/${object}/seqs`, timeoutMs: 60000 });
    const stored = new Set(seqs);
    const missing = acked.filter((seq) => !stored.has(seq));
    missingTotal += missing.length;
    if (missing.length) problems.push(`ledger ${object}: ${missing.length} acknowledged increments missing (first: ${missing.slice(0, 5).join(', ')})`);
    if (count !== seqs.length) problems.push(`ledger ${object}: counter ${count} but ${seqs.length} rows (written in the same turn)`);
  }
  for (const id of ['v1', 'v2']) {
    const vault = await requestJson({ app: 'victim', path: `/_do/vault/${id}/read` });
    if (vault.secret !== 'victim-secret' || JSON.stringify(vault.rows) !== '["victim-row"]' || JSON.stringify(vault.keys) !== '["secret"]' || !(vault.alarm > Date.now())) {
      problems.push(`vault ${id} changed: ${JSON.stringify(vault)}`);
    }
  }
  let unfired = 0;
  for (const { object, at } of hostile.timersArmed) {
    if (Date.now() - at < 10000) continue; // the timer may still be pending (or its object busy)
    const vault = await requestJson({ app: 'victim', path: `/_do/vault/${object}/read` });
    if (vault.timer !== 'fired') unfired++;
  }
  if (unfired) problems.push(`${unfired} of the vault's timers never fired (cancelled by another app?)`);
  if (hostile.leaks.length) problems.push(`the attacker reached victim data or made a handle: ${hostile.leaks.slice(0, 3).join(' | ')}`);
  return { acknowledged, missing: missingTotal };
}

function summarize({ problems, acknowledged, shutdown, diedDuringRun }) {
  const valid = samples.filter((s) => Number.isFinite(s.rssMiB));
  const maxBy = (key) => valid.reduce((best, s) => (best === null || s[key] > best[key] ? s : best), null);
  const maxRss = maxBy('rssMiB');
  const maxFds = maxBy('fds');
  const worstP99 = samples.filter((s) => s.p99 !== null).reduce((best, s) => (best === null || s.p99 > best.p99 ? s : best), null);
  const worstWs = samples.filter((s) => s.wsP99 !== null).reduce((best, s) => (best === null || s.wsP99 > best.wsP99 ? s : best), null);
  const duration = samples.length ? samples[samples.length - 1].elapsed : 0;
  const secondHalf = valid.filter((s) => s.elapsed >= duration / 2);
  // Least-squares slope of RSS over the second half, in MiB per minute.
  let slope = null;
  if (secondHalf.length >= 2) {
    const mx = secondHalf.reduce((a, s) => a + s.elapsed, 0) / secondHalf.length;
    const my = secondHalf.reduce((a, s) => a + s.rssMiB, 0) / secondHalf.length;
    const num = secondHalf.reduce((a, s) => a + (s.elapsed - mx) * (s.rssMiB - my), 0);
    const den = secondHalf.reduce((a, s) => a + (s.elapsed - mx) ** 2, 0);
    slope = den > 0 ? (num / den) * 60 : null;
  }
  const all = victim.allLatencies.sort((a, b) => a - b);
  const wsAll = victim.ws.allLatencies.sort((a, b) => a - b);
  const lines = [];
  lines.push(`soak summary: ${fmt(duration, 0)} s, ${samples.length} samples, ${cfg.cpuLimitMs} ms CPU limit, ${cfg.maxConnections} connections max; results in ${cfg.out}`);
  lines.push(`  server: ${diedDuringRun ? `DIED ${JSON.stringify(diedDuringRun)}` : 'up to the end'}${shutdown ? `; SIGTERM: ${shutdown}` : ''}`);
  if (valid.length) {
    lines.push(`  RSS: start ${fmt(valid[0].rssMiB)} MiB, max ${fmt(maxRss.rssMiB)} MiB (at ${fmt(maxRss.elapsed, 0)} s, ${maxRss.phase}), end ${fmt(valid[valid.length - 1].rssMiB)} MiB; ` +
      `last half: ${fmt(secondHalf[0]?.rssMiB)} -> ${fmt(valid[valid.length - 1].rssMiB)} MiB (${valid[valid.length - 1].rssMiB - (secondHalf[0]?.rssMiB ?? 0) >= 0 ? '+' : ''}${fmt(valid[valid.length - 1].rssMiB - (secondHalf[0]?.rssMiB ?? 0))} MiB, trend ${fmt(slope, 2)} MiB/min)`);
    lines.push(`  descriptors: start ${valid[0].fds}, max ${maxFds.fds} (at ${fmt(maxFds.elapsed, 0)} s, ${maxFds.phase}), end ${valid[valid.length - 1].fds}; threads max ${Math.max(...valid.map((s) => s.threads))}`);
  }
  lines.push(`  victim HTTP: ${victim.ok} ok, ${victim.failed} failed; overall p50/p99/max ${fmt(percentile(all, 0.5))}/${fmt(percentile(all, 0.99))}/${fmt(all[all.length - 1])} ms; ` +
    `worst window p99 ${fmt(worstP99?.p99)} ms (at ${fmt(worstP99?.elapsed, 0)} s, ${worstP99?.phase})`);
  lines.push(`  victim WebSocket: ${victim.ws.ok} echoes, ${victim.ws.failed} failed, ${victim.ws.reconnects} reconnects; overall p99 ${fmt(percentile(wsAll, 0.99))} ms; ` +
    `worst window p99 ${fmt(worstWs?.wsP99)} ms (at ${fmt(worstWs?.elapsed, 0)} s, ${worstWs?.phase})`);
  const byPhase = [...victim.byPhase].map(([phase, latencies]) => {
    const sorted = latencies.sort((a, b) => a - b);
    return `${phase} ${fmt(percentile(sorted, 0.5))}/${fmt(percentile(sorted, 0.99))}`;
  });
  lines.push(`  victim HTTP p50/p99 ms by the hostile phase running when issued: ${byPhase.join(', ')}`);
  if (acknowledged !== null) {
    lines.push(`  victim data: ${acknowledged.acknowledged} acknowledged increments over ${cfg.victimObjects} objects, ${acknowledged.missing} missing; ` +
      `${hostile.timersArmed.length} vault timers armed against the attacker's cancelling`);
  }
  lines.push(`  hostile: ${hostile.sent} operations; cross-app leaks ${hostile.leaks.length}`);
  for (const [phase, outcomes] of hostile.outcomes) {
    lines.push(`    ${phase}: ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} x${n}`).join(', ')}`);
  }
  const last = samples[samples.length - 1];
  if (last) lines.push(`  server log: ${fmt(last.logMiB, 2)} MiB; data folder ${fmt(last.dataMiB)} MiB; load generator CPU mean ${fmt(samples.reduce((a, s) => a + s.loadCpuPct, 0) / samples.length, 0)}% of a core; machine load average mean ${fmt(samples.reduce((a, s) => a + s.loadavg, 0) / samples.length, 2)}, max ${fmt(Math.max(...samples.map((s) => s.loadavg)), 2)} on ${os.cpus().length} cores`);
  for (const f of victim.failures) lines.push(`  victim failure: ${f}`);
  lines.push(problems.length ? `  FAIL: ${problems.join('; ')}` : '  PASS: server up, no victim request failed, no acknowledged write lost, nothing moved between apps');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main.

async function main() {
  if (selectedPhases.length === 0) throw new Error(`SOAK_PHASES names no phase; phases: ${phases.map((p) => p.name).join(',')}`);
  console.log(`soak: ${cfg.seconds} s with ${cfg.bin}; output in ${cfg.out}`);
  fs.writeFileSync(csvPath, `${CSV_HEADER}\n`);
  server = await startServer();
  console.log(`soak: dorm serve pid ${server.pid} on port ${server.port}: ${server.args.slice(5).join(' ')}`);
  // What was measured, for whoever reads the results later.
  let commit = null;
  try {
    const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    commit = `${git('rev-parse', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : ''}`;
  } catch {
    // not a git checkout
  }
  fs.writeFileSync(path.join(cfg.out, 'config.json'), `${JSON.stringify({ ...cfg, serveArgs: server.args, checkoutCommit: commit, cpus: os.cpus().length, startedAt: new Date(startedAt).toISOString() }, null, 2)}\n`);
  await deploy(soakFixture('ledger.js'), 'victim', 'ledger');
  await deploy(securityFixture('victim.js'), 'victim', 'vault');
  await deploy(soakFixture('hog.js'), 'hog', 'hog');
  await deploy(securityFixture('storage_box.js'), 'filler', 'box');
  await deploy(securityFixture('bad_constructors.js'), 'ctors', 'bad-ctor');
  await deploy(securityFixture('attacker.js'), 'attacker', 'attacker');
  await deploy(securityFixture('http_probe.js'), 'probe', 'probe');
  for (const id of ['v1', 'v2']) await requestJson({ app: 'victim', path: `/_do/vault/${id}/seed` });

  let interrupted = false;
  const until = Date.now() + cfg.seconds * 1000;
  const stopEarly = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log('soak: interrupted; stopping the load and checking what was stored');
    victimStopping = true;
    hostileStopping = true;
  };
  process.on('SIGINT', stopEarly);
  process.on('SIGTERM', stopEarly);

  lastSample = { at: performance.now(), serverCpu: cpuSeconds(server.pid), loadCpu: process.cpuUsage() };
  const sampler = setInterval(takeSample, cfg.sampleSeconds * 1000);
  const sockets = Array.from({ length: cfg.wsClients }, (_, i) => new VictimSocket(i));
  for (const s of sockets) s.connect();
  const wsTicker = setInterval(() => sockets.forEach((s) => s.tick()), cfg.wsIntervalMs);
  server.exited.then(() => {
    victimStopping = true;
    hostileStopping = true;
  });
  await Promise.all([runVictimHttp(until), runHostile(until)]);
  victimStopping = true;
  clearInterval(wsTicker);

  // The last requests settle (or time out) before the window closes.
  const settleUntil = Date.now() + cfg.victimTimeoutMs + 1000;
  while ((victim.inFlight > 0 || sockets.some((s) => s.pending.size > 0 && s.open)) && Date.now() < settleUntil) {
    sockets.forEach((s) => s.expire());
    await sleep(50);
  }
  clearInterval(sampler);
  takeSample();
  for (const s of sockets) s.ws?.close(1000, 'done');

  const problems = [];
  if (interrupted) problems.push('interrupted before the end');
  let acknowledged = null;
  let shutdown = null;
  const diedDuringRun = server.exit;
  if (diedDuringRun !== null) {
    problems.push(`the server died: ${JSON.stringify(diedDuringRun)} (see ${logPath})`);
  } else {
    try {
      acknowledged = await checkVictimData(problems);
    } catch (e) {
      problems.push(`checking the victim's data failed: ${e.message}`);
    }
    const stopStart = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await Promise.race([server.exited, sleep(40000).then(() => null)]);
    if (exit === null) {
      server.proc.kill('SIGKILL');
      problems.push('the server did not stop within 40 s of SIGTERM');
      shutdown = 'no exit within 40 s';
    } else {
      shutdown = `exit ${exit.code ?? exit.signal} in ${fmt((Date.now() - stopStart) / 1000, 1)} s`;
      if (exit.code !== 0) problems.push(`the server exited ${JSON.stringify(exit)} on SIGTERM`);
    }
  }
  if (victim.failed > 0) problems.push(`${victim.failed} victim HTTP requests failed`);
  const crashes = fs.readFileSync(logPath, 'utf8').match(/the runtime process \(pid \d+\) ended by signal .*/g) ?? [];
  if (crashes.length) problems.push(`the runtime process crashed ${crashes.length} time(s): ${crashes.slice(0, 3).join(' | ')}`);
  if (victim.ws.failed > 0) problems.push(`${victim.ws.failed} victim WebSocket echoes failed`);
  victimAgent.destroy();
  const summary = summarize({ problems, acknowledged, shutdown, diedDuringRun });
  console.log(summary);
  fs.writeFileSync(path.join(cfg.out, 'summary.txt'), `${summary}\n`);
  if (!cfg.keepData && problems.length === 0) fs.rmSync(dataDir, { recursive: true, force: true });
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`soak: ${e.stack ?? e}`);
    if (server && server.exit === null) server.proc.kill('SIGKILL');
    process.exit(1);
  },
);
