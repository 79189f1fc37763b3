// Differential check of outbound fetch() from inside a Durable Object: every scenario of
// fetch_probe.js runs in a FetchProbe object on workerd and on Dorm against test servers this
// script starts on loopback, and the JSON answers are compared (ports replaced by names). Exit
// status 0 when every difference is listed in known-differences-fetch.json, 1 otherwise, 2 when a
// server could not be started or the run took over 110 s.
//
//   node tests/diff/fetch.mjs [--keep] [--only scenario,...] [--dorm PATH] [--workerd-only]
//
// Test servers (all stopped at the end):
//   http       127.0.0.1, the routes of `route()` below
//   http2      127.0.0.2, the same routes
//   https      127.0.0.1, TLS with a certificate for 127.0.0.1 and localhost signed by a CA that
//              this script makes with openssl in its temp folder
//   wrong      127.0.0.1, TLS with a certificate from that CA for wrong.example
//   untrusted  127.0.0.1, TLS with a self-signed certificate for 127.0.0.1 and localhost
//
// Network configurations (each scenario runs in one):
//   main    workerd: globalOutbound = network (allow public, private, local; the CA trusted);
//           Dorm: --outbound-allow 127.0.0.1 --outbound-allow 127.0.0.2 --outbound-ca ca.pem
//   public  workerd: the default "internet" service (public addresses only);
//           Dorm: no --outbound-allow (must refuse private addresses by default)
//   one     workerd: network allow = ["127.0.0.1/32"]; Dorm: --outbound-allow 127.0.0.1
//           (stands in for a public host redirecting to a private address)

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { dormDeploy, stopProcess } from '../../bench/lib.mjs';
import { makeTestCertificates } from '../e2e/lib/test_certificates.mjs';
import { answerOf } from './compare.mjs';
import { diffDir, diffOptions, startWorkerd, startDorm, runDiff } from './harness.mjs';

const probeFile = path.join(diffDir, 'fetch_probe.js');
const knownFile = path.join(diffDir, 'known-differences-fetch.json');
const CLASS = 'FetchProbe';
const NAME = 'fetch-probe';
const COMPAT_DATE = '2026-03-01';

// [key, probe scenario, network configuration], in the order they run.
const SCENARIOS = [
  ['get_text', 'get_text', 'main'],
  ['get_json', 'get_json', 'main'],
  ['url_fragment', 'url_fragment', 'main'],
  ['post_string', 'post_string', 'main'],
  ['post_arraybuffer', 'post_arraybuffer', 'main'],
  ['post_urlsearchparams', 'post_urlsearchparams', 'main'],
  ['post_blob', 'post_blob', 'main'],
  ['post_stream', 'post_stream', 'main'],
  ['post_stream_fails', 'post_stream_fails', 'main'],
  ['post_stream_redirect', 'post_stream_redirect', 'main'],
  ['body_first_chunk', 'body_first_chunk', 'main'],
  ['body_lost_midway', 'body_lost_midway', 'main'],
  ['body_cancel', 'body_cancel', 'main'],
  ['eventsource_stream', 'eventsource_stream', 'main'],
  ['eventsource_errors', 'eventsource_errors', 'main'],
  ['eventsource_from', 'eventsource_from', 'main'],
  ['post_request_object', 'post_request_object', 'main'],
  ['request_headers_default', 'request_headers_default', 'main'],
  ['request_headers_custom', 'request_headers_custom', 'main'],
  ['response_headers', 'response_headers', 'main'],
  ['status_204', 'status_204', 'main'],
  ['status_404', 'status_404', 'main'],
  ['status_500', 'status_500', 'main'],
  ['head_request', 'head_request', 'main'],
  ['redirect_follow', 'redirect_follow', 'main'],
  ['redirect_follow_get_head', 'redirect_follow_get_head', 'main'],
  ['redirect_manual', 'redirect_manual', 'main'],
  ['redirect_error', 'redirect_error', 'main'],
  ['redirect_odd_location', 'redirect_odd_location', 'main'],
  ['redirect_loop', 'redirect_loop', 'main'],
  ['redirect_limit', 'redirect_limit', 'main'],
  ['redirect_other_host', 'redirect_other_host', 'main'],
  ['redirect_scheme', 'redirect_scheme', 'main'],
  ['gzip', 'gzip', 'main'],
  ['br', 'br', 'main'],
  ['deflate', 'deflate', 'main'],
  ['gzip_corrupt', 'gzip_corrupt', 'main'],
  ['encode_manual', 'encode_manual', 'main'],
  ['large_body', 'large_body', 'main'],
  ['abort_before', 'abort_before', 'main'],
  ['abort_during', 'abort_during', 'main'],
  ['abort_during_body', 'abort_during_body', 'main'],
  ['abort_signal_timeout', 'abort_signal_timeout', 'main'],
  ['invalid_url', 'invalid_url', 'main'],
  ['unsupported_scheme', 'unsupported_scheme', 'main'],
  ['connection_refused', 'connection_refused', 'main'],
  ['get_with_body', 'get_with_body', 'main'],
  ['odd_methods', 'odd_methods', 'main'],
  ['bad_headers', 'bad_headers', 'main'],
  ['https_trusted', 'https_trusted', 'main'],
  ['https_localhost', 'https_localhost', 'main'],
  ['https_wrong_name', 'https_wrong_name', 'main'],
  ['https_untrusted', 'https_untrusted', 'main'],
  ['http_to_https_port', 'http_to_https_port', 'main'],
  ['public_only_direct', 'private_direct', 'public'],
  ['public_only_redirect', 'private_redirect', 'public'],
  ['one_address_redirect', 'private_redirect', 'one'],
];
const CONFIGS = ['main', 'public', 'one'];

const opt = diffOptions(SCENARIOS.map(([key]) => key));

// ---------------------------------------------------------------------------------------------
// Test servers

const testServers = [];
function closeTestServers() {
  for (const s of testServers) {
    s.closeAllConnections?.();
    s.close();
  }
  testServers.length = 0;
}


// ---------------------------------------------------------------------------------------------
// Test HTTP routes

const COMPRESSED_TEXT = Array.from({ length: 40 }, (_, i) => `compressed text, line ${i}\n`).join('');
const LARGE = Buffer.alloc(1024 * 1024);
for (let i = 0; i < LARGE.length; i++) LARGE[i] = i % 251;
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

function send(res, status, headers, body, statusText) {
  if (statusText) res.writeHead(status, statusText, headers);
  else res.writeHead(status, headers);
  res.end(body);
}

// Headers as [name, value] pairs, as they came on the wire.
const pairs = (raw) => Array.from({ length: raw.length / 2 }, (_, i) => [raw[2 * i], raw[2 * i + 1]]);

function route(req, res, body) {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  let m;
  if (p === '/echo') {
    const echo = { method: req.method, url: req.url, httpVersion: req.httpVersion, headers: pairs(req.rawHeaders), body: body.toString('utf8') };
    if (body.length && !body.equals(Buffer.from(echo.body, 'utf8'))) echo.bodyHex = body.toString('hex');
    // The bytes of an x-a header (Node reads header values as latin1).
    if (req.headers['x-a'] !== undefined) echo.xaHex = Buffer.from(req.headers['x-a'], 'latin1').toString('hex');
    if (req.socket.encrypted) echo.tls = { servername: req.socket.servername || null, protocol: req.socket.getProtocol() };
    return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(echo));
  }
  if (p === '/text') return send(res, 200, { 'content-type': 'text/plain; charset=utf-8' }, 'hello, world\n');
  if (p === '/json') return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ a: 1, b: [true, null, 'x'] }));
  if (p === '/meta') {
    return send(res, 201, [
      ['Content-Type', 'text/plain'], ['X-One', '1'], ['Set-Cookie', 'a=1; Path=/'], ['Set-Cookie', 'b=2; HttpOnly'],
      ['Set-Cookie', 'c=3; Expires=Wed, 21 Oct 2015 07:28:00 GMT'], ['X-Multi', 'a'], ['X-Multi', 'b'], ['X-Empty', ''],
    ], 'meta body', 'Made It');
  }
  if ((m = /^\/status\/(\d{3})$/.exec(p))) {
    const s = Number(m[1]);
    return send(res, s, s === 204 ? {} : { 'content-type': 'text/plain' }, s === 204 ? undefined : `status ${s}\n`);
  }
  if ((m = /^\/redirect\/(\d{3})$/.exec(p)) && REDIRECT_CODES.has(Number(m[1]))) {
    const to = url.searchParams.get('to');
    return send(res, Number(m[1]), { 'content-type': 'text/plain', ...(to === null ? {} : { location: to }) }, 'redirecting\n');
  }
  if (p === '/loop') return send(res, 302, { location: '/loop' }, '');
  if ((m = /^\/chain\/(\d+)$/.exec(p))) {
    const n = Number(m[1]);
    if (n === 0) return send(res, 200, { 'content-type': 'text/plain' }, 'end of chain\n');
    return send(res, 302, { location: `/chain/${n - 1}` }, '');
  }
  if (p === '/gzip') {
    const z = zlib.gzipSync(COMPRESSED_TEXT);
    return send(res, 200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': z.length }, z);
  }
  if (p === '/br') {
    const z = zlib.brotliCompressSync(COMPRESSED_TEXT);
    return send(res, 200, { 'content-type': 'text/plain', 'content-encoding': 'br', 'content-length': z.length }, z);
  }
  if (p === '/deflate') {
    const z = zlib.deflateSync(COMPRESSED_TEXT);
    return send(res, 200, { 'content-type': 'text/plain', 'content-encoding': 'deflate', 'content-length': z.length }, z);
  }
  if (p === '/gzip-corrupt') return send(res, 200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, 'this is not gzip');
  if (p === '/large') return send(res, 200, { 'content-type': 'application/octet-stream', 'content-length': LARGE.length }, LARGE);
  if (p === '/slow') {
    const t = setTimeout(() => send(res, 200, { 'content-type': 'text/plain' }, 'slow done\n'), Number(url.searchParams.get('ms') ?? 1000));
    res.on('close', () => clearTimeout(t));
    return undefined;
  }
  if (p === '/lost-midway') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
    res.write('hello');
    setTimeout(() => req.socket.destroy(), 100);
    return undefined;
  }
  if (p === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    if (req.headers['last-event-id'] === undefined) {
      return res.end('retry: 1000\nid: 41\ndata: first\n\n');
    }
    res.write(`: resumed\nevent: update\nid: 42\ndata: ${req.headers['last-event-id']} ${req.headers.accept} ${req.headers['cache-control']}\ndata: lines\n\n`);
    const t = setTimeout(() => res.end(), 5000);
    res.on('close', () => clearTimeout(t));
    return undefined;
  }
  if (p === '/slowbody') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part; ');
    const t = setTimeout(() => res.end('second part\n'), Number(url.searchParams.get('ms') ?? 1000));
    res.on('close', () => clearTimeout(t));
    return undefined;
  }
  return send(res, 404, { 'content-type': 'text/plain' }, 'no such route\n');
}

function handler(req, res) {
  res.sendDate = false;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => route(req, res, Buffer.concat(chunks)));
}

// A request Node's parser refuses (an unknown or lower-case method): answered from the raw bytes
// with what the echo route would say.
function onClientError(err, socket) {
  if (!socket.writable) return;
  const raw = err.rawPacket ? err.rawPacket.toString('latin1') : '';
  const [head] = raw.split('\r\n\r\n');
  const [line, ...headerLines] = head.split('\r\n');
  const [method, url, version] = line.split(' ');
  const echo = {
    method: method ?? null, url: url ?? null, httpVersion: version?.replace('HTTP/', '') ?? null,
    headers: headerLines.filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    body: '', parserError: err.code,
  };
  const body = JSON.stringify(echo);
  socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

// CONNECT requests do not reach the request handler.
function onConnect(req, socket) {
  const body = JSON.stringify({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers: pairs(req.rawHeaders), body: '' });
  socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function listen(server, host) {
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  testServers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });
}

async function startTestServers(certs) {
  const ports = {
    http: await listen(http.createServer(handler), '127.0.0.1'),
    http2: await listen(http.createServer(handler), '127.0.0.2'),
    https: await listen(https.createServer(certs.good, handler), '127.0.0.1'),
    wrong: await listen(https.createServer(certs.wrong, handler), '127.0.0.1'),
    untrusted: await listen(https.createServer(certs.untrusted, handler), '127.0.0.1'),
  };
  const urls = {
    http: `http://127.0.0.1:${ports.http}`,
    http2: `http://127.0.0.2:${ports.http2}`,
    https: `https://127.0.0.1:${ports.https}`,
    wrong: `https://127.0.0.1:${ports.wrong}`,
    untrusted: `https://127.0.0.1:${ports.untrusted}`,
  };
  return { ports, urls };
}

// ---------------------------------------------------------------------------------------------
// workerd: one process, three workers running the same class with different globalOutbound
// services; a front worker routes /_do/<route>/<id>/<rest> to them.

const ROUTES = { main: NAME, public: `${NAME}-public`, one: `${NAME}-one` };

function frontJs() {
  return `import { ${CLASS} } from "./fetch_probe.js";
export { ${CLASS} };
const bindings = ${JSON.stringify({ [ROUTES.main]: 'MAIN', [ROUTES.public]: 'PUBLIC', [ROUTES.one]: 'ONE' })};
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const m = /^\\/_do\\/([^/]+)\\/([^/]+)(\\/.*)?$/.exec(url.pathname);
    if (m === null || !Object.hasOwn(bindings, m[1])) return Response.json({ error: "no route" }, { status: 404 });
    const ns = env[bindings[m[1]]];
    const stub = ns.get(ns.idFromName(decodeURIComponent(m[2])));
    return stub.fetch(new Request("http://host" + (m[3] ?? "/") + url.search, request));
  },
};
`;
}

function workerdConfigText(port) {
  const probeWorker = (uniqueKey, outbound) => `(
  modules = [(name = "fetch_probe.js", esModule = embed "fetch_probe.js")],
  compatibilityDate = "${COMPAT_DATE}",
  durableObjectNamespaces = [(className = "${CLASS}", uniqueKey = "${uniqueKey}")],
  durableObjectStorage = (inMemory = void),${outbound ? `\n  globalOutbound = "${outbound}",` : ''}
)`;
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .front),
    (name = "wpublic", worker = .wpublic),
    (name = "wone", worker = .wone),
    (name = "loopnet", network = (allow = ["public", "private", "local"], tlsOptions = (trustedCertificates = [embed "ca.pem"]))),
    (name = "onenet", network = (allow = ["127.0.0.1/32"], tlsOptions = (trustedCertificates = [embed "ca.pem"]))),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
  ],
);

const front :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "fetch_probe.js", esModule = embed "fetch_probe.js"),
  ],
  compatibilityDate = "${COMPAT_DATE}",
  durableObjectNamespaces = [(className = "${CLASS}", uniqueKey = "dorm-diff-fetch-main")],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "loopnet",
  bindings = [
    (name = "MAIN", durableObjectNamespace = "${CLASS}"),
    (name = "PUBLIC", durableObjectNamespace = (className = "${CLASS}", serviceName = "wpublic")),
    (name = "ONE", durableObjectNamespace = (className = "${CLASS}", serviceName = "wone")),
  ],
);

# The default globalOutbound: the built-in "internet" service (public addresses only).
const wpublic :Workerd.Worker = ${probeWorker('dorm-diff-fetch-public', null)};

const wone :Workerd.Worker = ${probeWorker('dorm-diff-fetch-one', 'onenet')};
`;
}

async function startProbeWorkerd(tmp, { caFile }) {
  const w = await startWorkerd(tmp, {
    files: [[probeFile, 'fetch_probe.js'], [caFile, 'ca.pem']],
    texts: { 'worker.js': frontJs() },
    config: workerdConfigText,
  });
  return {
    ...w,
    scenarioUrl: (config, id, scenario) => `${w.baseUrl}/_do/${ROUTES[config]}/${encodeURIComponent(id)}/${scenario}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Dorm: one `dorm serve` per network configuration

function dormFlags(config, caFile) {
  const ca = ['--outbound-ca', caFile];
  if (config === 'main') return ['--outbound-allow', '127.0.0.1', '--outbound-allow', '127.0.0.2', ...ca];
  if (config === 'one') return ['--outbound-allow', '127.0.0.1', ...ca];
  return ca; // public: Dorm's default
}

async function startOneDorm(tmp, config, caFile) {
  try {
    return await startDorm(tmp, opt, {
      label: `dorm-${config}`,
      flags: dormFlags(config, caFile),
      deploy: (data) => dormDeploy(opt.dorm, probeFile, NAME, data, 30000),
    });
  } catch (e) {
    // A refused option is reported on the first line, before the usage text.
    let first = '';
    try { first = fs.readFileSync(path.join(tmp, `dorm-${config}.log`), 'utf8').split('\n')[0]; } catch { /* no log */ }
    throw new Error(`dorm (${config} configuration: ${dormFlags(config, caFile).join(' ')}): ${first}\n${e.message}`);
  }
}

async function startDorms(tmp, configs, caFile) {
  const started = await Promise.allSettled(configs.map((c) => startOneDorm(tmp, c, caFile)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of started) if (s.status === 'fulfilled') await stopProcess(s.value.children[0], 5000);
    throw failed.reason;
  }
  const byConfig = Object.fromEntries(configs.map((c, i) => [c, started[i].value]));
  return {
    name: 'dorm', children: started.map((s) => s.value.children[0]), logFiles: started.map((s) => s.value.logFiles[0]),
    scenarioUrl: (config, id, scenario) => `${byConfig[config].baseUrl}/_do/${NAME}/${encodeURIComponent(id)}/${scenario}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Running and comparing

// Ports become their server's name, so that answers read the same from run to run.
function placeholders(value, ports) {
  let text = JSON.stringify(value);
  for (const [name, port] of Object.entries(ports)) text = text.replace(new RegExp(`(127\\.0\\.0\\.[12]|localhost):${port}\\b`, 'g'), `$1:<${name}>`);
  text = text.replace(/reference = [0-9a-z]+/g, 'reference = <ref>');
  return JSON.parse(text);
}

async function runAll(server, scenarios, urls, ports) {
  const query = `?${new URLSearchParams(urls)}`;
  const out = {};
  for (const [key, probe, config] of scenarios) {
    out[key] = placeholders(await answerOf(server.scenarioUrl(config, key, probe) + query), ports);
  }
  return out;
}

const scenarios = opt.only ? SCENARIOS.filter(([k]) => opt.only.includes(k)) : SCENARIOS;
const configs = CONFIGS.filter((c) => scenarios.some(([, , sc]) => sc === c));
runDiff(opt, {
  label: 'fetch',
  tmpPrefix: 'dorm-diff-fetch-',
  knownFile,
  names: scenarios.map(([k]) => k),
  prepare: async (tmp) => {
    const certs = makeTestCertificates(path.join(tmp, 'certs'));
    return { caFile: certs.caFile, ...await startTestServers(certs) };
  },
  startWorkerd: startProbeWorkerd,
  startDorm: (tmp, { caFile }) => startDorms(tmp, configs, caFile),
  describe: ([w, d], { urls }) => `${w.version}${d ? ', dorm' : ' (workerd only)'}; test servers ${Object.values(urls).join(' ')}`,
  runAll: (server, { urls, ports }) => runAll(server, scenarios, urls, ports),
  close: closeTestServers,
  afterStop: ([w], { ports }) => {
    // What workerd logged as the causes of its internal errors (its answers only say "internal error").
    const reasons = new Set();
    for (const line of fs.readFileSync(w.logFiles[0], 'utf8').split('\n')) {
      const m = /error: e = (?:\S+: )?failed: (.*)$/.exec(line);
      if (m) reasons.add(placeholders(m[1], ports));
    }
    if (reasons.size) console.log(`diff: workerd logged these reasons for its internal errors:\n${[...reasons].map((r) => `    ${r}`).join('\n')}`);
  },
});
