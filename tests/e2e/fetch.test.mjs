// fetch() to other hosts from an object: requests and responses against a local test server,
// redirects, timeouts, the address guard (loopback, private and link-local addresses refused
// unless --outbound-allow opens them, checked after DNS and on every redirect), --no-outbound,
// malformed rules refused at start, and the Butterbase docs' ChatRoom.authorize() example
// deployed unmodified. (tests/diff/fetch.mjs compares fetch() with workerd scenario by scenario.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, fixture, describeCli, runCli, makeTempDir } from './lib/dorm.mjs';
import { makeTestCertificates } from './lib/test_certificates.mjs';

// The test server listens on 127.0.0.2, which the Dorm server is allowed to reach; a second one
// on 127.0.0.1, which it is not (so that a refusal is the guard's, not a closed port).
const ALLOWED_HOST = '127.0.0.2';
let allowed;
let forbidden;
let server;
const APP = 'outbound';

function listen(host, handler) {
  return new Promise((resolve, reject) => {
    const s = http.createServer(handler);
    s.on('error', reject);
    s.listen(0, host, () => resolve(s));
  });
}

function handle(req, res) {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const json = (status, value, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    switch (url.pathname) {
      case '/json':
        return json(200, { hello: 'world' }, { 'x-server': 'test' });
      case '/echo':
        return json(200, {
          method: req.method,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      case '/redirect':
        res.writeHead(302, { location: '/json' });
        return res.end();
      case '/to-forbidden':
        res.writeHead(302, { location: `http://127.0.0.1:${forbidden.address().port}/json` });
        return res.end();
      case '/gzip':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        return res.end(zlib.gzipSync('squeezed'));
      case '/big':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(Buffer.alloc(Number(url.searchParams.get('kib')) * 1024, 120));
      case '/slow':
        return setTimeout(() => json(200, { late: true }), 3000);
      case '/auth/app_abc123/me':
        return json(req.headers.authorization === 'Bearer good-token' ? 200 : 401, {});
      default:
        return json(404, { path: url.pathname });
    }
  });
}

before(async () => {
  allowed = await listen(ALLOWED_HOST, handle);
  forbidden = await listen('127.0.0.1', handle);
  server = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST] });
  await server.deploy(fixture('outbound/fetcher.js'), { app: APP, name: 'fetcher' });
});

after(async () => {
  await server?.stop();
  allowed?.close();
  forbidden?.close();
});

const base = () => `http://${ALLOWED_HOST}:${allowed.address().port}`;

// What the Fetcher object's fetch() gave for `params`.
async function fetchFrom(params, instance = 'one') {
  const query = new URLSearchParams(params).toString();
  const res = await server.request(`/_do/fetcher/${instance}?${query}`, {
    headers: { host: `${APP}.localhost:${server.port}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json();
}

test('a GET reaches the server and its response comes back whole', async () => {
  const got = await fetchFrom({ url: `${base()}/json` });
  assert.equal(got.status, 200);
  assert.equal(got.statusText, 'OK');
  assert.equal(got.url, `${base()}/json`);
  assert.equal(got.redirected, false);
  assert.equal(got.headers['x-server'], 'test');
  assert.deepEqual(JSON.parse(got.body), { hello: 'world' });
});

test('a POST sends its body and headers, and nothing the caller did not ask for', async () => {
  const got = await fetchFrom({ url: `${base()}/echo`, method: 'POST', body: 'payload', header: 'yes', write: '1' });
  const echo = JSON.parse(got.body);
  assert.equal(echo.method, 'POST');
  assert.equal(echo.body, 'payload');
  assert.equal(echo.headers['content-type'], 'text/plain;charset=UTF-8');
  assert.equal(echo.headers['content-length'], '7');
  assert.equal(echo.headers['x-probe'], 'yes');
  for (const name of ['accept', 'expect', 'accept-encoding', 'user-agent']) {
    assert.equal(echo.headers[name], undefined, `${name} should not be sent`);
  }
});

// What workerd sends (tests/diff/webapis.mjs records the Request side): a URL's credentials are
// not sent (no Authorization either), though the Response's url keeps them; a cache mode adds
// Cache-Control and Pragma no-cache unless the request has them; a header with an empty name
// stays out of the request.
test('credentials in the URL are not sent; cache modes ask for revalidation; empty header names are left out', async () => {
  const creds = await fetchFrom({ url: `http://u:p@${ALLOWED_HOST}:${allowed.address().port}/echo` });
  assert.equal(creds.url, `http://u:p@${ALLOWED_HOST}:${allowed.address().port}/echo`);
  const sent = JSON.parse(creds.body).headers;
  assert.equal(sent.authorization, undefined);
  assert.equal(sent['cache-control'], undefined);
  assert.equal(sent.pragma, undefined);

  for (const cache of ['no-store', 'no-cache']) {
    const got = JSON.parse((await fetchFrom({ url: `${base()}/echo`, cache })).body).headers;
    assert.equal(got['cache-control'], 'no-cache', cache);
    assert.equal(got.pragma, 'no-cache', cache);
  }
  const kept = JSON.parse((await fetchFrom({
    url: `${base()}/echo`, cache: 'no-store', headers: JSON.stringify({ 'cache-control': 'max-age=5' }),
  })).body).headers;
  assert.equal(kept['cache-control'], 'max-age=5');
  assert.equal(kept.pragma, 'no-cache');
  const refused = await fetchFrom({ url: `${base()}/echo`, cache: 'reload' });
  assert.deepEqual(refused.threw, { name: 'TypeError', message: 'Unsupported cache mode: reload' });

  const empty = JSON.parse((await fetchFrom({
    url: `${base()}/echo`, headers: JSON.stringify({ '': 'nameless', 'x-named': 'yes' }),
  })).body);
  assert.equal(empty.headers['x-named'], 'yes');
  assert.ok(!Object.values(empty.headers).includes('nameless'), JSON.stringify(empty.headers));
});

test('a ReadableStream request body is sent chunked; the response body is a ReadableStream', async () => {
  const got = await fetchFrom({ url: `${base()}/echo`, method: 'POST', body: 'streamed payload', stream: '1' });
  const echo = JSON.parse(got.body);
  assert.equal(echo.method, 'POST');
  assert.equal(echo.body, 'streamed payload');
  // Sent as it is produced: a stream of unknown length goes chunked, as workerd sends it.
  assert.equal(echo.headers['content-length'], undefined);
  assert.equal(echo.headers['transfer-encoding'], 'chunked');
  assert.equal(echo.headers['content-type'], undefined);
  assert.equal(got.bodyIsStream, true);
  assert.equal(got.chunks, true);
  assert.equal(got.bodyUsed, true);
});

test('outbound requests and their body bytes are metered per object', async () => {
  const first = await fetchFrom({ url: `${base()}/json` }, 'metered');
  const second = await fetchFrom({ url: `${base()}/echo`, method: 'POST', body: 'payload' }, 'metered');
  const res = await server.request(`/_admin/v1/usage?app=${APP}`, {
    headers: { authorization: `Bearer ${server.adminToken()}` },
  });
  assert.equal(res.status, 200, res.text);
  const body = res.json();
  const fetcher = body.classes.find((c) => c.name === 'fetcher');
  const metered = body.objects.find((o) => o.class === 'fetcher' && o.name === 'metered');
  assert.equal(metered.outbound_requests, 2);
  const received = Buffer.byteLength(first.body) + Buffer.byteLength(second.body);
  assert.equal(metered.outbound_bytes, received + 'payload'.length);
  assert.ok(fetcher.outbound_requests >= 2);
});

test('a gzip body is decoded', async () => {
  const got = await fetchFrom({ url: `${base()}/gzip` });
  assert.equal(got.body, 'squeezed');
});

test('redirects are followed, or handed back with redirect: manual', async () => {
  const followed = await fetchFrom({ url: `${base()}/redirect` });
  assert.equal(followed.status, 200);
  assert.equal(followed.redirected, true);
  assert.equal(followed.url, `${base()}/json`);
  const manual = await fetchFrom({ url: `${base()}/redirect`, redirect: 'manual' });
  assert.equal(manual.status, 302);
  assert.equal(manual.headers.location, '/json');
  assert.equal(manual.redirected, false);
});

test('loopback, private and link-local addresses are refused unless allowed, after DNS and on redirects', async () => {
  const port = forbidden.address().port;
  const cases = [
    [`http://127.0.0.1:${port}/json`, /127\.0\.0\.1 is not allowed: a loopback address/],
    // A name that resolves to a loopback address is refused like the address.
    [`http://localhost:${port}/json`, /is not allowed: a loopback address/],
    [`${base()}/to-forbidden`, /127\.0\.0\.1 is not allowed: a loopback address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not allowed: a link-local address/],
    ['http://10.0.0.1/', /10\.0\.0\.1 is not allowed: a private address/],
    ['http://[::ffff:127.0.0.1]/', /is not allowed: a loopback address/],
  ];
  for (const [url, message] of cases) {
    const got = await fetchFrom({ url });
    assert.equal(got.threw?.name, 'TypeError', `${url}: ${JSON.stringify(got)}`);
    assert.match(got.threw.message, message, url);
    assert.match(got.threw.message, /--outbound-allow/);
  }
  // The test server on 127.0.0.1 was never reached.
  const stillServing = await fetchFrom({ url: `${base()}/json` });
  assert.equal(stillServing.status, 200);
});

test('an AbortSignal timeout ends a slow request with a TimeoutError', async () => {
  const started = Date.now();
  const got = await fetchFrom({ url: `${base()}/slow`, timeout: '200' });
  assert.equal(got.threw?.name, 'TimeoutError', JSON.stringify(got));
  assert.equal(got.threw.message, 'The operation was aborted due to timeout');
  assert.ok(Date.now() - started < 2500, 'the abort did not wait for the response');
});

test('bad URLs and schemes give workerd\'s errors, and a closed port a retryable Error', async () => {
  assert.deepEqual((await fetchFrom({ url: 'not a url' })).threw,
    { name: 'TypeError', message: 'Invalid URL: not a url' });
  assert.deepEqual((await fetchFrom({ url: 'ftp://example.com/' })).threw,
    { name: 'TypeError', message: 'Fetch API cannot load: ftp://example.com/' });
  const closed = await listen(ALLOWED_HOST, () => {});
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await fetchFrom({ url: `http://${ALLOWED_HOST}:${port}/` });
  assert.deepEqual(refused.threw, { name: 'Error', message: 'Network connection lost.', retryable: true });
});

test("the Butterbase docs' ChatRoom.authorize() runs unmodified against its API_BASE_URL", async () => {
  const app = 'authorize-app';
  for (const [key, value] of [['APP_ID', 'app_abc123'], ['API_BASE_URL', base()]]) {
    const result = await server.cli(['env', 'set', key, value, '--app', app]);
    assert.equal(result.code, 0, describeCli(result));
  }
  const deployed = await server.cli(['deploy', fixture('outbound/authorize-project')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  const ask = async (token) => {
    const res = await server.request(`/?token=${token}`, {
      headers: { host: `${app}.localhost:${server.port}` },
    });
    assert.equal(res.status, 200, res.text);
    return res.json();
  };
  assert.deepEqual(await ask('good-token'), { ok: true });
  assert.deepEqual(await ask('bad-token'), { ok: false });
});

test("one app's unread response bytes are bounded together, not its bodies: larger ones stream through", async () => {
  const small = await startServer({ flags: ['--outbound-allow', ALLOWED_HOST, '--max-outbound-mb-per-app', '1'] });
  try {
    await small.deploy(fixture('outbound/fetcher.js'), { app: APP, name: 'fetcher' });
    const get = async (kib) => {
      const url = encodeURIComponent(`${base()}/big?kib=${kib}`);
      const res = await small.request(`/_do/fetcher/x?url=${url}`, {
        headers: { host: `${APP}.localhost:${small.port}` },
      });
      assert.equal(res.status, 200, res.text);
      return res.json();
    };
    // Larger than the bound: the transfer waits for the reader instead of failing.
    assert.equal((await get(2048)).body.length, 2048 * 1024);
    // One after the other: what each finished one held is given back.
    for (let i = 0; i < 3; i++) assert.equal((await get(700)).body.length, 700 * 1024);
  } finally {
    await small.stop();
  }
});

test("fetch() of the app's own /_do/ URLs is served without a socket, with the class's access mode", async () => {
  const own = (rest) => `http://${APP}.localhost:${server.port}/_do/${rest}`;
  // 127.0.0.1 (where the server listens) is not allowed: an answer proves no socket was used.
  const hop = await fetchFrom({ url: own(`fetcher/two?url=${encodeURIComponent(`${base()}/json`)}`) });
  assert.equal(hop.status, 200, JSON.stringify(hop));
  assert.equal(hop.url, own(`fetcher/two?url=${encodeURIComponent(`${base()}/json`)}`));
  assert.deepEqual(JSON.parse(JSON.parse(hop.body).body), { hello: 'world' });
  // The callee sees the request as a client would send it.
  const echoed = await fetchFrom({ url: own('fetcher/three?url=nowhere'), method: 'POST', body: 'x' });
  assert.equal(echoed.status, 200);
  assert.equal(JSON.parse(echoed.body).threw.name, 'TypeError');
  // A stream body is gathered first: the callee takes whole bodies.
  const streamed = await fetchFrom({ url: own('fetcher/three?url=nowhere'), method: 'POST', body: 'xyz', stream: '1' });
  assert.equal(streamed.status, 200, JSON.stringify(streamed));
  assert.equal(JSON.parse(streamed.body).threw.name, 'TypeError');
  // A class that needs a credential refuses the request that has none, as it refuses a client.
  await server.deploy(fixture('outbound/fetcher.js'), { app: APP, name: 'guarded', access: 'authenticated' });
  const refused = await fetchFrom({ url: own('guarded/a?url=x') });
  assert.equal(refused.status, 401, JSON.stringify(refused));
  const missing = await fetchFrom({ url: own('nothing-here/a') });
  assert.equal(missing.status, 404);
  // Another app's URLs, and the server's own address without an app, go out as any request and
  // meet the address guard.
  for (const url of [`http://other.localhost:${server.port}/_do/fetcher/a`, `http://127.0.0.1:${server.port}/_do/fetcher/a`]) {
    const out = await fetchFrom({ url });
    assert.equal(out.threw?.name, 'TypeError', `${url}: ${JSON.stringify(out)}`);
    assert.match(out.threw.message, /--outbound-allow/);
  }
});

test('HTTPS speaks HTTP/2 with a server that offers it (ALPN) and HTTP/1.1 with one that does not', async () => {
  const certs = makeTestCertificates(path.join(makeTempDir('certs'), 'c'));
  const seen = [];
  const reply = (req, res) => {
    seen.push(req.httpVersion);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`spoke ${req.httpVersion}`);
  };
  const h2 = http2.createSecureServer({ ...certs.good, allowHTTP1: true }, reply);
  const h1 = https.createServer(certs.good, reply);
  await Promise.all([h2, h1].map((s) => new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const tls = await startServer({ flags: ['--outbound-allow', '127.0.0.1', '--outbound-ca', certs.caFile] });
  try {
    await tls.deploy(fixture('outbound/fetcher.js'), { app: APP, name: 'fetcher' });
    const get = async (port) => {
      const res = await tls.request(`/_do/fetcher/x?url=${encodeURIComponent(`https://localhost:${port}/`)}`, {
        headers: { host: `${APP}.localhost:${tls.port}` },
      });
      return res.json();
    };
    const over2 = await get(h2.address().port);
    assert.equal(over2.body, 'spoke 2.0', JSON.stringify(over2));
    assert.equal(over2.status, 200);
    const over1 = await get(h1.address().port);
    assert.equal(over1.body, 'spoke 1.1', JSON.stringify(over1));
    assert.deepEqual(seen, ['2.0', '1.1']);
  } finally {
    await tls.stop();
    h2.close();
    h1.close();
  }
});

test('--no-outbound turns fetch() off; malformed rules are refused at start', async () => {
  const off = await startServer({ flags: ['--no-outbound'] });
  try {
    await off.deploy(fixture('outbound/fetcher.js'), { app: APP, name: 'fetcher' });
    const res = await off.request(`/_do/fetcher/x?url=${encodeURIComponent(`${base()}/json`)}`, {
      headers: { host: `${APP}.localhost:${off.port}` },
    });
    assert.deepEqual(res.json().threw,
      { name: 'TypeError', message: 'fetch() to other hosts is disabled on this server.' });
  } finally {
    await off.stop();
  }
  const data = makeTempDir('bad-rule');
  for (const [rule, message] of [
    ['10.0.0.0/33', /--outbound-allow: '10\.0\.0\.0\/33' has an invalid prefix length/],
    ['not a host', /--outbound-allow: 'not a host' is neither an address, a CIDR block nor a host name/],
  ]) {
    const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', path.join(data, 'd'),
      '--outbound-allow', rule], { timeoutMs: 10000 });
    assert.equal(result.code, 1, describeCli(result));
    assert.match(result.stderr, message);
  }
});
