// Response bodies and Content-Encoding, as workerd sends them: a Response whose Content-Encoding
// is "gzip" is compressed on its way to the client unless it was made with `encodeBody: 'manual'`
// (its bytes are then sent as given); fetch() with `encodeResponseBody: 'manual'` gives a body's
// bytes as they came. Expected values are workerd's answers (1.20261023.1, compatibility date
// 2026-03-01) to tests/e2e/fixtures/encode_body.js, read by the same client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { startServer, fixture } from './lib/dorm.mjs';

const UPSTREAM_HOST = '127.0.0.2';
const TEXT = 'hello hello hello hello, a body to compress';
let server;
let upstream;
let upstreamUrl;

function serveUpstream(req, res) {
  const p = req.url;
  if (p === '/gzip') {
    const z = zlib.gzipSync(TEXT);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/deflate') {
    const z = zlib.deflateSync(TEXT);
    res.writeHead(200, { 'content-encoding': 'deflate', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/br') {
    const z = zlib.brotliCompressSync(TEXT);
    res.writeHead(200, { 'content-encoding': 'br', 'content-length': z.length });
    return res.end(z);
  }
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': TEXT.length });
  return res.end(TEXT);
}

before(async () => {
  upstream = http.createServer(serveUpstream);
  await new Promise((resolve) => upstream.listen(0, UPSTREAM_HOST, resolve));
  upstreamUrl = `http://${UPSTREAM_HOST}:${upstream.address().port}`;
  server = await startServer({ flags: ['--outbound-allow', UPSTREAM_HOST] });
  await server.deploy(fixture('encode_body.js'), { name: 'enc' });
});

after(async () => {
  await server?.stop();
  upstream?.close();
});

// The answer's bytes as they came (no decoding), described: its encoding headers, its framing,
// how many gzip layers wrap the text and the text inside them.
function observe(name) {
  const url = `http://127.0.0.1:${server.port}/_do/enc/x/${name}?u=${encodeURIComponent(upstreamUrl)}`;
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        let plain = Buffer.concat(chunks);
        let gzipLayers = 0;
        while (plain.length >= 2 && plain[0] === 0x1f && plain[1] === 0x8b) {
          plain = zlib.gunzipSync(plain);
          gzipLayers++;
        }
        resolve({
          status: res.statusCode, encoding: res.headers['content-encoding'] ?? null,
          length: res.headers['content-length'] ?? null, chunked: res.headers['transfer-encoding'] === 'chunked',
          gzipLayers, text: plain.toString('utf8'),
        });
      });
    }).on('error', reject);
  });
}

const compressed = { status: 200, encoding: 'gzip', length: null, chunked: true, gzipLayers: 1, text: TEXT };
const asGiven = (encoding, gzipLayers = 0, length = '43') => ({
  status: 200, encoding, length, chunked: false, gzipLayers, text: TEXT,
});

test("a Response whose Content-Encoding is gzip is compressed on its way out, without its Content-Length", async () => {
  for (const name of ['auto-gzip', 'auto-gzip-stream', 'auto-gzip-length', 'auto-explicit']) {
    assert.deepEqual(await observe(name), compressed, name);
  }
});

test('other encodings, none, and empty bodies are sent as given', async () => {
  assert.deepEqual(await observe('auto-identity'), asGiven('identity'));
  // Only the exact value "gzip" is encoded.
  assert.deepEqual(await observe('auto-upper'), asGiven('GZIP'));
  assert.deepEqual(await observe('auto-none'), asGiven(null));
  // workerd's encoder writes nothing for an empty body; it is still sent chunked.
  assert.deepEqual(await observe('auto-empty'),
    { status: 200, encoding: 'gzip', length: null, chunked: true, gzipLayers: 0, text: '' });
  assert.deepEqual(await observe('auto-null'),
    { status: 200, encoding: 'gzip', length: '0', chunked: false, gzipLayers: 0, text: '' });
});

test("encodeBody: 'manual' sends the bytes as given; clone() encodes again, a copy keeps it", async () => {
  assert.deepEqual(await observe('manual-gzip'), asGiven('gzip', 1, '48'));
  assert.deepEqual(await observe('manual-gzip-stream'), { ...asGiven('gzip', 1, null), chunked: true });
  assert.deepEqual(await observe('manual-copied'), asGiven('gzip', 1, '48'));
  // As workerd's clone(), the copy is 'automatic': the gzip bytes are compressed once more.
  assert.deepEqual(await observe('manual-clone'), { ...compressed, gzipLayers: 2 });
  assert.deepEqual(await observe('manual-json'), {
    status: 200, encoding: 'gzip', length: '54', chunked: false, gzipLayers: 0, text: JSON.stringify({ text: TEXT }),
  });
});

test("fetch() with encodeResponseBody: 'manual' gives and passes on the bytes as they came", async () => {
  assert.deepEqual(await observe('pass-manual'), asGiven('gzip', 1, '48'));
  const fetched = JSON.parse((await observe('fetch-manual')).text);
  assert.deepEqual(fetched.gzip, { ok: { encoding: 'gzip', length: '48', bytes: 48, head: '1f8b' } });
  assert.deepEqual(fetched.gzipAuto, { ok: { encoding: 'gzip', length: '48', bytes: 43, text: TEXT } });
  assert.deepEqual(fetched.deflate, { ok: { encoding: 'deflate', length: '36', bytes: 36, head: '789c' } });
  assert.deepEqual(fetched.br, { ok: { encoding: 'br', length: '33', bytes: 33, head: '1b2a' } });
  assert.deepEqual(fetched.brAuto, { ok: { encoding: 'br', length: '33', bytes: 43, text: TEXT } });
  assert.deepEqual(fetched.plain, { ok: { encoding: null, length: '43', bytes: 43, head: '6865' } });
  // Only `init` (or a Request given as `init`) asks for it: a Request given alone is made again
  // without it, as workerd's fetch() does.
  assert.deepEqual(JSON.parse((await observe('pass-manual-copied')).text),
    { viaInput: '6865', viaInit: '1f8b', viaClone: '6865', direct: '6865' });
});

test('a fetched response passed on as it is reaches the client compressed', async () => {
  // workerd sends the bytes it received (Content-Length 48); Dorm decoded them and compresses
  // them again, so the length is not known ahead (README, Known differences).
  const got = await observe('pass');
  assert.deepEqual({ ...got, length: undefined, chunked: undefined },
    { status: 200, encoding: 'gzip', length: undefined, chunked: undefined, gzipLayers: 1, text: TEXT });
  assert.equal(got.chunked, true);
});

test("the options' errors, as workerd's", async () => {
  assert.deepEqual(JSON.parse((await observe('errors')).text), {
    response: { threw: { name: 'TypeError', message: 'encodeBody: unexpected value: nope' } },
    responseNull: { threw: { name: 'TypeError', message: 'encodeBody: unexpected value: null' } },
    responseCase: { threw: { name: 'TypeError', message: 'encodeBody: unexpected value: Manual' } },
    responseJson: { threw: { name: 'TypeError', message: 'encodeBody: unexpected value: gzip' } },
    request: { threw: { name: 'TypeError', message: 'encodeResponseBody: unexpected value: nope' } },
    fetch: { threw: { name: 'TypeError', message: 'encodeResponseBody: unexpected value: auto' } },
    order: { threw: { name: 'TypeError', message: 'encodeBody: unexpected value: nope' } },
    crossed: { ok: 200 },
  });
});
