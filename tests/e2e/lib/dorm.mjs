// Shared helpers for the end-to-end suite: start and stop `dorm serve`, run the CLI, and talk
// HTTP to the server either through node:http or over raw sockets (for requests that a well
// behaved client library refuses to send, and for pipelining).
//
// Every server gets its own temporary data folder and listens on a kernel-chosen port, so test
// files can run in parallel without stepping on each other.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..');
export const FIXTURES_DIR = path.join(E2E_DIR, 'fixtures');
export const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');

export function fixture(name) {
  return path.join(FIXTURES_DIR, name);
}

// The release build's allocator gives freed pages back about 20 ms after they are freed (by the
// arena's next allocations or its background threads; src/util/process_allocator.cc), not at
// once: an RSS read right after a large body still counts the body's last chunks. A test that
// bounds what the runtime keeps after a body waits this long first; a body still held never
// falls back, so the bound still tells one.
export function allocatorSettled() {
  return sleep(300);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves like `promise`, or with null after `ms` without leaving a timer behind.
export function withTimeout(promise, ms) {
  let timer;
  const expiry = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

export function dormBin() {
  const bin = process.env.DORM_BIN
    ? path.resolve(process.env.DORM_BIN)
    : path.join(REPO_ROOT, 'build', 'dorm');
  if (!fs.existsSync(bin)) {
    throw new Error(`dorm binary not found at ${bin} (build it first, or point DORM_BIN at it)`);
  }
  return bin;
}

// ---------------------------------------------------------------------------------------------
// Cleanup bookkeeping. A failing test must not leave servers running (they would keep the test
// runner alive) or fill /tmp; set DORM_E2E_KEEP_TMP=1 to keep data folders for a post-mortem.

const liveProcesses = new Set();
const tempDirs = new Set();

process.on('exit', () => {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!process.env.DORM_E2E_KEEP_TMP) {
    for (const dir of tempDirs) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  }
});

export function makeTempDir(label = 'tmp') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dorm-e2e-${label}-`));
  tempDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// HTTP through node:http (one connection per request unless an agent is given).

export class HttpResponse {
  constructor(status, headers, body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  get text() {
    return this.body.toString('utf8');
  }

  json() {
    try {
      return JSON.parse(this.text);
    } catch {
      throw new Error(`response body is not JSON (status ${this.status}): ${preview(this.body)}`);
    }
  }
}

export function httpRequest({
  port,
  hostname = '127.0.0.1',
  method = 'GET',
  path: reqPath = '/',
  headers = {},
  body,
  timeoutMs = 30000,
  agent = false,
}) {
  return new Promise((resolve, reject) => {
    const hdrs = { ...headers };
    let payload;
    if (body !== undefined && body !== null) {
      payload = Buffer.isBuffer(body)
        ? body
        : typeof body === 'string'
          ? Buffer.from(body)
          : Buffer.from(JSON.stringify(body));
      if (!Object.keys(hdrs).some((h) => h.toLowerCase() === 'content-length')) {
        hdrs['content-length'] = String(payload.length);
      }
    }
    let settled = false;
    const finish = (fn, value) => {
      if (!settled) {
        settled = true;
        fn(value);
      }
    };
    const req = http.request({ hostname, port, method, path: reqPath, headers: hdrs, agent }, (res) => {
      const chunks = [];
      let ended = false;
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        ended = true;
        finish(resolve, new HttpResponse(res.statusCode, res.headers, Buffer.concat(chunks)));
      });
      res.on('aborted', () => finish(reject, new Error(`response aborted: ${method} ${reqPath}`)));
      res.on('error', (e) => finish(reject, e));
      res.on('close', () => {
        if (!ended) finish(reject, new Error(`connection closed mid-response: ${method} ${reqPath}`));
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error(`request timed out after ${timeoutMs} ms: ${method} ${reqPath}`));
    });
    req.on('error', (e) => finish(reject, e));
    req.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a TCP socket, with a small response parser that understands Content-Length,
// chunked bodies and bodies delimited by the connection closing.

function preview(buf, max = 300) {
  const s = Buffer.isBuffer(buf) ? buf.toString('latin1') : String(buf);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

// Returns {response, consumed} or null when `buf` does not yet hold a complete response.
export function tryParseResponse(buf, closed) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new Error(`malformed status line from server: ${JSON.stringify(statusLine)}`);
  const status = Number(m[2]);
  const headers = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line from server: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let pos = headEnd + 4;
  let body;
  if ((status >= 100 && status < 200) || status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('malformed chunk size from server');
      pos = lineEnd + 2;
      if (size === 0) {
        // Skip trailers up to the empty line.
        const end = buf.indexOf('\r\n\r\n', pos - 2);
        if (end < 0) return null;
        pos = end + 4;
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (buf.length < pos + len) return null;
    body = buf.subarray(pos, pos + len);
    pos += len;
  } else {
    if (!closed) return null;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  const response = new HttpResponse(status, headers, Buffer.from(body));
  response.httpVersion = m[1];
  return { response, consumed: pos };
}

// A raw connection to `port` that records what arrived (latin1) and when: {socket, text,
// arrivals: [{at, length}], closed, waitFor(pattern | 'closed', timeoutMs)}. waitFor resolves
// with the time (ms since the epoch) at which `pattern` first matched, or the connection ended.
// Resolves once connected.
export function connectRecording(port) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { text: '', arrivals: [], closed: false, socket };
  const waiters = new Set();
  const wake = () => { for (const w of waiters) w(); };
  socket.on('data', (d) => {
    state.text += d.toString('latin1');
    state.arrivals.push({ at: Date.now(), length: state.text.length });
    wake();
  });
  socket.on('error', () => {});
  socket.on('close', () => { state.closed = true; wake(); });
  state.waitFor = (pattern, timeoutMs = 10000) => new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern === 'closed' ? (state.closed ? [] : null) : pattern.exec(state.text);
      if (m) {
        cleanup();
        if (pattern === 'closed') return resolve(Date.now());
        const end = m.index + m[0].length;
        resolve(state.arrivals.find((a) => a.length >= end).at);
      } else if (state.closed) {
        cleanup();
        reject(new Error(`connection closed before ${pattern}: ${JSON.stringify(state.text.slice(0, 2000))}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}: ${JSON.stringify(state.text.slice(0, 2000))}`));
    }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });
  return new Promise((resolve) => socket.on('connect', () => resolve(state)));
}

export class RawConnection {
  static open(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ended = false;
    this.error = null;
    this.waiters = new Set();
    socket.on('data', (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    const onEnd = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', (e) => {
      // A reset after the server answered is expected for rejected requests; what was already
      // received stays in the buffer and is still parsed.
      this.error = e;
      onEnd();
    });
  }

  wake() {
    for (const w of this.waiters) w();
  }

  waitChange(deadline) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  write(data) {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve(false);
      this.socket.write(data, (err) => resolve(!err));
    });
  }

  async readResponse(timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = tryParseResponse(this.buffer, this.ended);
      if (parsed) {
        this.buffer = this.buffer.subarray(parsed.consumed);
        return parsed.response;
      }
      if (this.ended) {
        throw new Error(
          `connection closed before a complete response arrived (have ${this.buffer.length} bytes: ` +
            `${preview(this.buffer)})${this.error ? `; socket error ${this.error.code}` : ''}`,
        );
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for a response (have ${this.buffer.length} bytes: ` +
            `${preview(this.buffer)})`,
        );
      }
      await this.waitChange(deadline);
    }
  }

  async readResponses(count, timeoutMs = 15000) {
    const out = [];
    for (let i = 0; i < count; i++) out.push(await this.readResponse(timeoutMs));
    return out;
  }

  // Resolves true once the server has closed the connection, false on timeout.
  async waitClosed(timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() >= deadline) return false;
      await this.waitChange(deadline);
    }
    return true;
  }

  close() {
    this.socket.destroy();
  }
}

// Sends `payload` on a fresh connection and reads `count` responses.
export async function rawExchange(port, payload, { count = 1, timeoutMs = 15000 } = {}) {
  const conn = await RawConnection.open(port);
  try {
    await conn.write(payload);
    return await conn.readResponses(count, timeoutMs);
  } finally {
    conn.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI.

function cleanEnv(extra = {}) {
  const env = { ...process.env };
  // The suite decides explicitly how each CLI call finds its server.
  delete env.DORM_SERVER;
  delete env.DORM_TOKEN;
  return { ...env, ...extra };
}

export function runCli(args, { env = {}, input = '', cwd, timeoutMs = 60000 } = {}) {
  const bin = dormBin();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: cleanEnv(env), cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    liveProcesses.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {
      // The CLI may exit without reading its input.
    });
    child.stdin.end(input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dorm ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveProcesses.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveProcesses.delete(child);
      resolve({ code, signal, stdout, stderr, args });
    });
  });
}

export function describeCli(result) {
  return `dorm ${result.args.join(' ')} → exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

// ---------------------------------------------------------------------------------------------
// The server.

const LISTENING = /listening on (http:\/\/\S+)/;
// The supervisor's line when the runtime process died and was started again (see
// src/control/supervisor.h). The server keeps answering, so a test would not notice a crash
// without it: every server checks that it saw no more of these than its test expected.
export const RUNTIME_CRASH = /the runtime process \(pid \d+\) ended by signal (SIG\w+)/g;

// The runtime process of the `dorm serve` whose (supervisor's) pid is `pid`.
export function runtimePidOf(pid) {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`expected one runtime process under dorm serve (pid ${pid}), found ${children.length}`);
  return Number(children[0]);
}

const allServers = new Set();
process.on('exit', () => {
  for (const server of allServers) {
    const problem = server.unexpectedCrashes();
    if (problem) {
      console.error(problem);
      process.exitCode = 1;
    }
  }
});

export class DormServer {
  constructor({ args, dataDir, flags, cwd, dataFlag }) {
    this.args = args;
    this.dataDir = dataDir;
    this.flags = flags;
    this.cwd = cwd;
    this.dataFlag = dataFlag;
    this.stdout = '';
    this.stderr = '';
    this.output = ''; // both streams, in arrival order
    this.exitInfo = null;
    this.outputWaiters = new Set();
    this.expectedRuntimeCrashes = 0;
    allServers.add(this);
    this.proc = spawn(dormBin(), args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    liveProcesses.add(this.proc);
    // A server left running by a failed test must not keep the test process alive; every wait on
    // the server below has its own timer, and the exit handler kills what is left.
    this.proc.unref();
    this.proc.stdout.unref();
    this.proc.stderr.unref();
    const onData = (stream) => (d) => {
      const s = d.toString();
      this[stream] += s;
      this.output += s;
      for (const w of this.outputWaiters) w();
    };
    this.proc.stdout.on('data', onData('stdout'));
    this.proc.stderr.on('data', onData('stderr'));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        liveProcesses.delete(this.proc);
        this.exitInfo = { code, signal };
        for (const w of this.outputWaiters) w();
        resolve(this.exitInfo);
      });
      this.proc.on('error', (e) => {
        liveProcesses.delete(this.proc);
        this.exitInfo = { code: null, signal: null, error: e };
        for (const w of this.outputWaiters) w();
        resolve(this.exitInfo);
      });
    });
  }

  // How many times the runtime process died and was restarted.
  runtimeCrashes() {
    return [...this.output.matchAll(RUNTIME_CRASH)].length;
  }

  // Declares that the test crashes the runtime process `count` more times on purpose.
  expectRuntimeCrashes(count = 1) {
    this.expectedRuntimeCrashes += count;
  }

  // A description of the crashes the test did not expect, or null.
  unexpectedCrashes() {
    const seen = this.runtimeCrashes();
    if (seen <= this.expectedRuntimeCrashes) return null;
    return `dorm's runtime process crashed ${seen} time(s), ${this.expectedRuntimeCrashes} expected\n${this.outputTail()}`;
  }

  // The pid of the runtime process (the supervisor's child), which holds the objects: memory,
  // descriptors and CPU are measured there.
  runtimePid() {
    return runtimePidOf(this.proc.pid);
  }

  outputTail(max = 4000) {
    const s = this.output;
    return `--- dorm output (${this.args.join(' ')}) ---\n${s.length > max ? `...${s.slice(-max)}` : s}`;
  }

  // Resolves with the first match of `pattern` in the server's output (stdout and stderr).
  waitForOutput(pattern, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(this.output);
        if (m) {
          cleanup();
          resolve(m);
        } else if (this.exitInfo) {
          cleanup();
          reject(new Error(`dorm exited (${JSON.stringify(this.exitInfo)}) before printing ${pattern}\n${this.outputTail()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in dorm's output\n${this.outputTail()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.outputWaiters.delete(check);
      };
      this.outputWaiters.add(check);
      check();
    });
  }

  async waitReady(timeoutMs) {
    const m = await this.waitForOutput(LISTENING, timeoutMs);
    this.url = m[1].replace(/\/$/, '');
    const u = new URL(this.url);
    this.hostname = u.hostname;
    this.port = Number(u.port);
    this.host = u.host;
  }

  lines() {
    return this.output.split(/\r?\n/);
  }

  // Stops the server with `signal` and checks that it exits with `expectCode` (0 by default).
  async stop({ signal = 'SIGTERM', timeoutMs = 20000, expectCode = 0 } = {}) {
    if (!this.exitInfo) {
      this.proc.kill(signal);
      const info = await withTimeout(this.exited, timeoutMs);
      if (!info) {
        this.proc.kill('SIGKILL');
        await this.exited;
        throw new Error(`dorm did not exit within ${timeoutMs} ms of ${signal}\n${this.outputTail()}`);
      }
    }
    const info = this.exitInfo;
    const crashes = this.unexpectedCrashes();
    if (crashes) throw new Error(crashes);
    if (expectCode !== null && info.code !== expectCode) {
      throw new Error(
        `dorm exited with code ${info.code} (signal ${info.signal}) after ${signal}; expected ${expectCode}\n${this.outputTail()}`,
      );
    }
    return info;
  }

  async kill9() {
    if (!this.exitInfo) this.proc.kill('SIGKILL');
    const info = await withTimeout(this.exited, 20000);
    if (!info) throw new Error('dorm did not exit within 20 s of SIGKILL');
    const crashes = this.unexpectedCrashes();
    if (crashes) throw new Error(crashes);
    return info;
  }

  // Starts a new server on the same data folder (the current one must have exited).
  async restart({ flags } = {}) {
    if (!this.exitInfo) throw new Error('restart() called while the server is still running');
    return startServer({ dataDir: this.dataDir, flags: flags ?? this.flags, cwd: this.cwd, dataFlag: this.dataFlag });
  }

  request(reqPath, opts = {}) {
    return httpRequest({ port: this.port, path: reqPath, ...opts });
  }

  // Requests `reqPath` and returns the parsed JSON body, asserting the status first.
  async json(reqPath, opts = {}, expectStatus = 200) {
    const res = await this.request(reqPath, opts);
    if (res.status !== expectStatus) {
      throw new Error(`${opts.method ?? 'GET'} ${reqPath}: expected status ${expectStatus}, got ${res.status}: ${preview(res.body)}`);
    }
    return res.json();
  }

  adminToken() {
    return fs.readFileSync(path.join(this.dataDir, 'admin-token'), 'utf8').trim();
  }

  api(method, apiPath, body, { token, headers = {} } = {}) {
    return this.request(`/_admin/v1${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${token ?? this.adminToken()}`, 'content-type': 'application/json', ...headers },
      body,
    });
  }

  // Names of the classes deployed to `app`, sorted, read through the admin API.
  async classNames(app = 'default') {
    const res = await this.api('GET', `/apps/${app}/classes`);
    if (res.status !== 200) throw new Error(`listing classes of ${app}: status ${res.status}: ${preview(res.body)}`);
    return res.json().classes.map((c) => c.name).sort();
  }

  cli(args, opts) {
    return runCli([...args, '--data', this.dataDir], opts);
  }

  // Deploys `file` through the CLI. Throws when the deploy fails unless `check` is false.
  async deploy(file, { name, app, access = 'public', check = true, extraArgs = [] } = {}) {
    const args = ['deploy', file];
    if (access !== null) args.push('--access', access);
    if (name) args.push('--name', name);
    if (app) args.push('--app', app);
    const result = await this.cli([...args, ...extraArgs]);
    if (check && result.code !== 0) throw new Error(`deploy failed: ${describeCli(result)}`);
    return result;
  }
}

export async function startServer({ dataDir, flags = [], cwd, dataFlag = true, listen = '127.0.0.1:0', timeoutMs = 30000 } = {}) {
  dataDir ??= makeTempDir('data');
  const args = ['serve', '--listen', listen];
  if (dataFlag) args.push('--data', dataDir);
  args.push(...flags);
  const server = new DormServer({ args, dataDir, flags, cwd, dataFlag });
  try {
    await server.waitReady(timeoutMs);
  } catch (e) {
    await server.kill9();
    throw e;
  }
  return server;
}

// A server whose disk fails on demand: a preloaded library (tests/security/native/failing_fsync.c)
// makes fsync(), fdatasync() and syncfs() fail with EIO while the file `failFlag` exists (create
// it to fail flushes, remove it to let them succeed). Only the server gets the library: the
// environment is restored once it is spawned. `flags` as for startServer.
export async function startServerWithFailingDisk({ flags = [] } = {}) {
  const work = makeTempDir('failing-disk');
  const library = path.join(work, 'failing_fsync.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library,
    path.join(here, '..', '..', 'security', 'native', 'failing_fsync.c'), '-ldl']);
  const failFlag = path.join(work, 'fail-now');
  const saved = { LD_PRELOAD: process.env.LD_PRELOAD, DORM_TEST_FAIL_FSYNC: process.env.DORM_TEST_FAIL_FSYNC, ASAN_OPTIONS: process.env.ASAN_OPTIONS };
  process.env.LD_PRELOAD = library;
  process.env.DORM_TEST_FAIL_FSYNC = failFlag;
  process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ?? ''}:verify_asan_link_order=0`;
  const starting = startServer({ flags });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return { server: await starting, failFlag };
}

// Polls `fn` until it returns a truthy value; returns that value.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// Checks that a CLI call failed the way the contract says: exit status 1 and `text` on stderr.
export function assertCliFailure(assert, result, text) {
  assert.notEqual(result.code, 0, `expected failure:\n${describeCli(result)}`);
  assert.equal(result.code, 1, `the contract says failures exit with status 1:\n${describeCli(result)}`);
  if (text instanceof RegExp) {
    assert.match(result.stderr, text, `stderr should match ${text}:\n${describeCli(result)}`);
  } else if (text !== undefined) {
    assert.ok(result.stderr.includes(text), `stderr should contain ${JSON.stringify(text)}:\n${describeCli(result)}`);
  }
}

// Checks that a response is an error produced by the server itself: `status` and a JSON body
// `{"error": "<non-empty string>"}`. `status` may be a list of acceptable codes.
export function assertServerError(assert, res, status) {
  const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
  assert.ok(ok, `expected status ${status}, got ${res.status}: ${preview(res.body)}`);
  let body;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    assert.fail(`server error body should be JSON, got ${preview(res.body)}`);
  }
  assert.equal(typeof body.error, 'string', `error body should be {"error": "..."}: ${preview(res.body)}`);
  assert.ok(body.error.length > 0, 'error message should not be empty');
  return body;
}
