// The differential check of streamed client uploads: the fixture tests/e2e/fixtures/request-streaming
// (a Worker passing requests to an object, and the object reading its body in various ways) runs
// on workerd and on Dorm, and the same raw HTTP exchanges go to both: the first chunk answered
// before the rest is sent (object URL on Dorm, the Worker's stub.fetch() on both), a client that
// leaves mid-body, text/JSON/form bodies in parts, and answers that leave the body unread (does
// the connection go on?). Prints each scenario's answers; exit status 0 when they are the same,
// 1 otherwise, 2 when a server could not start.
//
//   node tests/diff/request_streaming.mjs [--dorm PATH]
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, killAllChildren, startWorkerdProcess, stopProcess, workerdCandidates } from '../../bench/lib.mjs';

const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtureDir = path.join(rootDir, 'tests', 'e2e', 'fixtures', 'request-streaming');
const args = process.argv.slice(2);
const dormIndex = args.indexOf('--dorm');
if (dormIndex >= 0) process.env.DORM_BIN = path.resolve(args[dormIndex + 1]);
const { startServer } = await import('../e2e/lib/dorm.mjs');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
process.on('exit', killAllChildren);

async function startWorkerd(tmp) {
  const bin = workerdCandidates().find((c) => fs.existsSync(c));
  if (!bin) throw new Error('workerd not found (npm ci in bench/)');
  fs.copyFileSync(path.join(fixtureDir, 'index.js'), path.join(tmp, 'index.js'));
  const port = await freePort();
  fs.writeFileSync(path.join(tmp, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = "2025-04-01",
  durableObjectNamespaces = [ (className = "Uploads", uniqueKey = "up", enableSql = true) ],
  durableObjectStorage = (inMemory = void),
  bindings = [ (name = "UP", durableObjectNamespace = "Uploads") ],
);
`);
  const child = await startWorkerdProcess(bin, tmp, port, path.join(tmp, 'workerd.log'), 20000);
  return { port, host: 'x', stop: () => stopProcess(child) };
}

async function startDorm() {
  const server = await startServer();
  const deployed = await server.cli(['deploy', fixtureDir, '--access', 'public']);
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
  return { port: server.port, host: `upstream.localhost:${server.port}`, stop: () => server.stop() };
}

function connect(port) {
  const s = net.connect(port, '127.0.0.1');
  const c = { s, text: '', closed: false };
  s.on('data', (d) => { c.text += d.toString('latin1'); });
  s.on('error', () => {});
  s.on('close', () => { c.closed = true; });
  return new Promise((resolve) => s.on('connect', () => resolve(c)));
}

// The status line, the Connection field and the body (chunked bodies decoded) of each response.
function summary(text) {
  const out = [];
  for (let rest = text; rest.length;) {
    const split = rest.indexOf('\r\n\r\n');
    if (split < 0) break;
    const head = rest.slice(0, split);
    const status = head.split('\r\n')[0];
    const connection = /\r\nconnection: *([^\r]*)/i.exec(head)?.[1].toLowerCase() ?? null;
    let body = '';
    rest = rest.slice(split + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (status.includes(' 100 ')) { out.push({ status }); continue; }
    if (length) {
      body = rest.slice(0, Number(length[1]));
      rest = rest.slice(Number(length[1]));
    } else {
      for (;;) {
        const eol = rest.indexOf('\r\n');
        if (eol < 0) { body += '<unterminated>'; rest = ''; break; }
        const size = parseInt(rest.slice(0, eol), 16);
        if (size === 0) { rest = rest.slice(eol + 4); break; }
        body += rest.slice(eol + 2, eol + 2 + size);
        rest = rest.slice(eol + 2 + size + 2);
      }
    }
    out.push({ status, connection, body });
  }
  return out;
}

// The object's log of what its reads saw (fetch() cannot set the Host field Dorm routes on).
async function getLog(port, host, name) {
  const c = await connect(port);
  c.s.write(`GET /log?name=${name} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  for (let i = 0; i < 100 && !c.closed; i++) await sleep(50);
  const [answer] = summary(c.text);
  return answer ? JSON.parse(answer.body) : null;
}

const SCENARIOS = {
  async earlyChunk({ port, host }) {
    const out = {};
    for (const path of ['/', '/forward', '/forward-body']) {
      const c = await connect(port);
      c.s.write(`POST ${path}?mode=echo&name=e HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      await sleep(500);
      const before = summary(c.text + '0\r\n\r\n')[0]?.body;
      c.s.write('3\r\nabc\r\n0\r\n\r\n');
      await sleep(300);
      out[path] = { beforeRest: before, all: summary(c.text) };
      c.s.destroy();
    }
    return out;
  },
  async clientLeaves({ port, host }) {
    const out = {};
    for (const path of ['/', '/forward', '/forward-body']) {
      const c = await connect(port);
      c.s.write(`POST ${path}?mode=count&name=d HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
      await sleep(300);
      c.s.destroy();
      await sleep(500);
      out[path] = await getLog(port, host, 'd');
    }
    return out;
  },
  async bodiesInParts({ port, host }) {
    const out = {};
    for (const [mode, body] of [['text', 'hello'], ['json', '{"a":1}'], ['form', 'a=1&b=2']]) {
      const c = await connect(port);
      c.s.write(`POST /?mode=${mode} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n2\r\n${body.slice(0, 2)}\r\n`);
      await sleep(200);
      c.s.write(`${(body.length - 2).toString(16)}\r\n${body.slice(2)}\r\n0\r\n\r\n`);
      await sleep(300);
      out[mode] = summary(c.text);
      c.s.destroy();
    }
    return out;
  },
  async unread({ port, host }) {
    const out = {};
    for (const [label, size, withHead] of [['small, sent with the head', 1000, true], ['large, sent with the head', 1000000, true],
      ['small, sent later', 1000, false], ['never sent', 1000, null]]) {
      const c = await connect(port);
      const head = `POST /?mode=unread HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${size}\r\n\r\n`;
      c.s.write(withHead ? head + 'b'.repeat(size) : head);
      await sleep(300);
      if (withHead === false) c.s.write('b'.repeat(size));
      await sleep(withHead === null ? 1500 : 300);
      c.s.write(`GET /?mode=none HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      await sleep(400);
      out[label] = { answers: summary(c.text), closed: c.closed };
      c.s.destroy();
    }
    return out;
  },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-diff-upload-'));
let workerd;
let dorm;
try {
  workerd = await startWorkerd(tmp);
  dorm = await startDorm();
} catch (e) {
  console.error(`diff: ${e.message}`);
  await workerd?.stop();
  process.exit(2);
}
// Both objects (and isolates) exist before the timed scenarios.
for (const server of [workerd, dorm]) await getLog(server.port, server.host, 'e');
let differences = 0;
for (const [name, run] of Object.entries(SCENARIOS)) {
  const [w, d] = [await run(workerd), await run(dorm)];
  const same = JSON.stringify(w) === JSON.stringify(d);
  if (!same) differences++;
  console.log(`${same ? 'same' : 'DIFFERENT'}  ${name}`);
  if (!same) console.log(`  workerd: ${JSON.stringify(w)}\n  dorm:    ${JSON.stringify(d)}`);
}
await workerd.stop();
await dorm.stop();
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(differences ? 1 : 0);
