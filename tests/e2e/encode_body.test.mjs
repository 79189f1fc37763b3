// Response bodies and Content-Encoding, as workerd sends them: a Response whose Content-Encoding
// is "gzip" or "br" is compressed on its way to the client unless it was made with
// `encodeBody: 'manual'` (its bytes are then sent as given); a fetched gzip or br body not read
// yet is passed on as it came; fetch() with `encodeResponseBody: 'manual'` gives a body's bytes as
// they came. Expected values are workerd's answers (1.20261023.1, compatibility date 2026-03-01)
// to tests/e2e/fixtures/encode_body.js, read by the same client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { startServer, fixture } from './lib/dorm.mjs';

const UPSTREAM_HOST = '127.0.0.2';
const TEXT = 'hello hello hello hello, a body to compress';
let server;
let upstream;
let upstreamUrl;

// The upstream's gzip bytes carry a modification time, so that they differ from what a server
// compressing the text itself sends: passed on as received, they are these very bytes.
const UPSTREAM_GZIP = zlib.gzipSync(TEXT);
UPSTREAM_GZIP.writeUInt32LE(1700000000, 4);
const UPSTREAM_BR = zlib.brotliCompressSync(TEXT);

function serveUpstream(req, res) {
  const p = req.url;
  if (p === '/gzip') {
    const z = UPSTREAM_GZIP;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/gzip-chunked') {
    res.writeHead(200, { 'content-encoding': 'gzip' });
    res.write(UPSTREAM_GZIP.subarray(0, 10));
    return setTimeout(() => res.end(UPSTREAM_GZIP.subarray(10)), 20);
  }
  if (p === '/bad-gzip') {
    const z = Buffer.from('1f8b0800000000000003ffffffff', 'hex');
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/bad-br') {
    const z = Buffer.from('ffffffffffff', 'hex');
    res.writeHead(200, { 'content-encoding': 'br', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/short-gzip') {
    const z = UPSTREAM_GZIP.subarray(0, 30);
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/deflate') {
    const z = zlib.deflateSync(TEXT);
    res.writeHead(200, { 'content-encoding': 'deflate', 'content-length': z.length });
    return res.end(z);
  }
  if (p === '/br') {
    const z = UPSTREAM_BR;
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
  return observeRaw(name).then(({ bytes, ...head }) => {
    let plain = bytes;
    let gzipLayers = 0;
    while (plain.length >= 2 && plain[0] === 0x1f && plain[1] === 0x8b) {
      plain = zlib.gunzipSync(plain);
      gzipLayers++;
    }
    return { ...head, gzipLayers, text: plain.toString('utf8') };
  });
}

// The answer's head and its bytes as they came.
function observeRaw(name) {
  const self = `http://127.0.0.1:${server.port}`;
  const url = `${self}/_do/enc/x/${name}?u=${encodeURIComponent(upstreamUrl)}&self=${encodeURIComponent(self)}`;
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        resolve({
          status: res.statusCode, encoding: res.headers['content-encoding'] ?? null,
          length: res.headers['content-length'] ?? null, chunked: res.headers['transfer-encoding'] === 'chunked',
          bytes: Buffer.concat(chunks),
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

const sha = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
const brotliText = (bytes) => zlib.brotliDecompressSync(bytes).toString('utf8');

test('a Response whose Content-Encoding is br is compressed with Brotli as workerd compresses it', async () => {
  const chunkedBr = { status: 200, encoding: 'br', length: null, chunked: true };
  for (const name of ['br-auto', 'br-stream', 'br-length']) {
    const { bytes, ...head } = await observeRaw(name);
    assert.deepEqual(head, chunkedBr, name);
    // workerd's bytes (quality 5, a window of 2^19 bytes).
    assert.deepEqual({ size: bytes.length, sha: sha(bytes), text: brotliText(bytes) },
      { size: 31, sha: '61e23a87d7d416a5', text: TEXT }, name);
  }
  // 240 KB of text, given whole and in pieces of 10,000 bytes: the same bytes (no flush between
  // writes), workerd's.
  for (const name of ['br-big', 'br-big-stream']) {
    const { bytes, ...head } = await observeRaw(name);
    assert.deepEqual(head, chunkedBr, name);
    assert.deepEqual({ size: bytes.length, sha: sha(bytes), plain: zlib.brotliDecompressSync(bytes).length },
      { size: 552, sha: 'c1ae569889f0f5e5', plain: 239870 }, name);
  }
  const empty = await observeRaw('br-empty');
  assert.deepEqual({ ...empty, bytes: empty.bytes.length }, { ...chunkedBr, bytes: 0 });
  const none = await observeRaw('br-null');
  assert.deepEqual({ ...none, bytes: none.bytes.length },
    { status: 200, encoding: 'br', length: '0', chunked: false, bytes: 0 });
  // Only the exact value "br" is encoded.
  assert.deepEqual(await observe('br-upper'), asGiven('BR'));
  assert.deepEqual(await observe('br-list'), asGiven('gzip, br'));
  const manual = await observeRaw('br-manual');
  assert.deepEqual({ ...manual, bytes: brotliText(manual.bytes) },
    { status: 200, encoding: 'br', length: '33', chunked: false, bytes: TEXT });
});

test('a fetched gzip or br response passed on unread is sent as it was received', async () => {
  const received = (bytes, encoding, length) => ({ status: 200, encoding, length, chunked: length === null, bytes });
  // The upstream's own bytes, under their length (workerd sends them so).
  for (const name of ['pass', 'pass-copied', 'pass-headers', 'pass-clone', 'pass-clone-other', 'pass-tee-read']) {
    assert.deepEqual(await observeRaw(name), received(UPSTREAM_GZIP, 'gzip', '48'), name);
  }
  assert.deepEqual(await observeRaw('pass-br'), received(UPSTREAM_BR, 'br', '33'));
  // workerd decodes only gzip and br: a deflate body is passed on as it came, read or not.
  assert.deepEqual(await observeRaw('pass-deflate'), received(zlib.deflateSync(TEXT), 'deflate', '36'));
  // Without a length from the upstream, chunked.
  assert.deepEqual(await observeRaw('pass-chunked'), received(UPSTREAM_GZIP, 'gzip', null));
  // Sent under another encoding, or none, it is decoded (and compressed again for br).
  const asBr = await observeRaw('pass-as-br');
  assert.deepEqual({ ...asBr, bytes: brotliText(asBr.bytes) },
    { status: 200, encoding: 'br', length: null, chunked: true, bytes: TEXT });
  assert.deepEqual(await observe('pass-br-as-gzip'), compressed);
  assert.deepEqual(await observe('pass-plain-headers'),
    { status: 200, encoding: null, length: null, chunked: true, gzipLayers: 0, text: TEXT });
  // Read by the object first (through a stream of its own, or whole), it is compressed again.
  for (const name of ['pass-piped', 'pass-read-copy']) {
    const got = await observeRaw(name);
    assert.notDeepEqual(got.bytes, UPSTREAM_GZIP, name);
    assert.deepEqual({ ...got, bytes: zlib.gunzipSync(got.bytes).toString('utf8') },
      { status: 200, encoding: 'gzip', length: null, chunked: true, bytes: TEXT }, name);
  }
  // A 'manual' fetch's bytes in an 'automatic' Response are compressed once more.
  assert.deepEqual(await observe('pass-manual-auto'), { ...compressed, gzipLayers: 2 });
  // A branch of the body's own tee() too.
  assert.deepEqual(await observeRaw('pass-tee'), received(UPSTREAM_GZIP, 'gzip', '48'));
});

test("a fetched body that is not what its Content-Encoding says fails when read, with workerd's errors", async () => {
  assert.deepEqual(JSON.parse((await observe('bad-encoded')).text), {
    'bad-gzip': { threw: { name: 'TypeError', message: 'Gzip decompression failed.' } },
    'bad-br': { threw: { name: 'TypeError', message: 'Brotli decompression failed.' } },
    'short-gzip': { threw: { name: 'TypeError', message: 'Gzip compressed stream ended prematurely.' } },
  });
});

test("through a stub's fetch() the callee compresses and the caller decodes, unless it asks for 'manual'", async () => {
  const plain = (encoding, length = null) => ({ ok: { encoding, length, bytes: 43, head: '6865' } });
  const gzip = (length = null) => ({ ok: { encoding: 'gzip', length, bytes: 48, head: '1f8b' } });
  assert.deepEqual(JSON.parse((await observe('stub')).text), {
    'auto-gzip/automatic': plain('gzip'),
    'auto-gzip/manual': gzip(),
    'manual-gzip/automatic': plain('gzip'),
    'manual-gzip/manual': gzip(),
    'br-auto/automatic': plain('br'),
    'br-auto/manual': { ok: { encoding: 'br', length: null, bytes: 31, head: '152a' } },
    'pass/automatic': plain('gzip', '48'),
    'pass/manual': gzip('48'),
    'pass-manual/automatic': plain('gzip', '48'),
    'pass-manual/manual': gzip('48'),
  });
  // The caller's answer passed on to the client: the callee's bytes as they were sent.
  assert.deepEqual(await observe('stub-pass-manual'), asGiven('gzip', 1, '48'));
  assert.deepEqual(await observe('stub-pass-auto'), compressed);
});

// A body the callee streams (as one compressed on its way out) reaches the caller whole.
test("fetch() of the app's own objects decodes what they compressed on its way out", async () => {
  const plain = (encoding) => ({ ok: { encoding, bytes: 43, head: '6865' } });
  assert.deepEqual(JSON.parse((await observe('local')).text), {
    'auto-gzip': plain('gzip'),
    'auto-gzip-stream': plain('gzip'),
    'br-auto': plain('br'),
    'manual-gzip': plain('gzip'),
    'manual-gzip-stream': plain('gzip'),
    'auto-none': plain(null),
  });
});

test('a Response copied by structuredClone() keeps its encodeBody', async () => {
  assert.deepEqual(await observe('cloned'), asGiven('gzip', 1, '48'));
});

test('a Response returned by RPC keeps its encodeBody', async () => {
  // Sent as given (one gzip layer), with its length: the body's length known to the sender
  // crosses RPC with it.
  assert.deepEqual(await observe('rpc'), asGiven('gzip', 1, '48'));
  assert.deepEqual(JSON.parse((await observe('rpc-read')).text), { encoding: 'gzip', bytes: 48, head: '1f8b' });
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
