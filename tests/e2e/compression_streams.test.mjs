// CompressionStream and DecompressionStream: every scenario of fixtures/compression_probe.js
// answers what workerd answered for the same probe (recorded in
// fixtures/compression_workerd.json by `node tests/diff/compression.mjs --workerd-only`); the
// scenarios listed in tests/diff/known-differences-compression.json are checked on what they
// share. Then exchanges with node:zlib in both directions for each format, a compressed Response
// body streamed to the client, and a decompression bomb (1 GiB of zeros) read by an object while
// the server's memory stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, fixture, REPO_ROOT, allocatorSettled } from './lib/dorm.mjs';

// ASan keeps freed memory in quarantine (256 MiB by default: the bomb's 64 KiB pieces, read and
// dropped), which shows in the RSS that the bomb's test bounds; this file's server keeps 32 MiB
// of it, so that RSS still tells held pieces from freed ones.
if (process.env.DORM_SANITIZED) {
  process.env.ASAN_OPTIONS = `${process.env.ASAN_OPTIONS ?? ''}:quarantine_size_mb=32`;
}
const RSS_BOUND_MIB = process.env.DORM_SANITIZED ? 200 + 32 : 200;

const workerd = JSON.parse(fs.readFileSync(fixture('compression_workerd.json'), 'utf8'));
const known = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tests', 'diff', 'known-differences-compression.json'), 'utf8'));

let server;

before(async () => {
  // The bomb's gigabyte takes about 27 s of one core to inflate and count alone, close to the
  // default 30 s CPU limit of an event, which a loaded machine went past: the limit is not what
  // these tests are about.
  server = await startServer({ flags: ['--threads', '2', '--cpu-limit-ms', '120000'] });
  await server.deploy(fixture('compression_probe.js'));
});

after(async () => {
  await server?.stop();
});

const base = '/_do/compression-probe/x';
const answer = (name) => server.json(`/_do/compression-probe/${name}/${name}`);

for (const name of Object.keys(workerd)) {
  if (Object.hasOwn(known, name)) continue;
  test(`${name}: as workerd`, async () => {
    assert.deepEqual(await answer(name), workerd[name]);
  });
}

test('shape: as workerd, but for calling the constructor without new (known difference)', async () => {
  const got = await answer('shape');
  const want = { ...workerd.shape };
  assert.equal(got.callWithoutNew.threw.name, 'TypeError');
  delete got.callWithoutNew;
  delete want.callWithoutNew;
  assert.deepEqual(got, want);
});

test('headers: gzip and zlib headers as workerd; deflate blocks may differ (known difference)', async () => {
  const got = await answer('headers');
  assert.equal(got.gzip, workerd.headers.gzip);
  assert.equal(got.deflate, workerd.headers.deflate);
  assert.match(got['deflate-raw'], /^[0-9a-f]{4}$/);
});

test('chunk_types: bytes and strings as workerd; other chunks reject the write (known difference)', async () => {
  const got = await answer('chunk_types');
  for (const name of ['string', 'arrayBuffer', 'dataView', 'uint16', 'empty', 'shared']) {
    assert.deepEqual(got[name], workerd.chunk_types[name], name);
  }
  for (const name of ['number', 'object', 'null']) {
    assert.deepEqual(got[name].write, workerd.chunk_types[name].write, name);
    assert.deepEqual(got[name].close.error, workerd.chunk_types[name].write.error, name);
  }
});

test('after_close: as workerd, the abort reason being the same object (known difference)', async () => {
  const got = await answer('after_close');
  const want = workerd.after_close;
  assert.deepEqual(got.writeAfterClose, want.writeAfterClose);
  assert.equal(got.emptyGzipLength, want.emptyGzipLength);
  assert.deepEqual(got.readAfterAbort.error, want.readAfterAbort.error);
  assert.deepEqual(got.writeAfterCancel.error, want.writeAfterCancel.error);
});

// Deterministic pseudo-random bytes, half of them compressible.
function bytesOf(size, seed) {
  const out = crypto.createHash('sha256').update(String(seed)).digest();
  const buf = Buffer.alloc(size);
  let x = out.readUInt32LE(0);
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buf[i] = (i & 2048) ? (x >>> 24) : 97 + ((x >>> 28) & 3);
  }
  return buf;
}

const NODE = {
  gzip: { pack: zlib.gzipSync, unpack: zlib.gunzipSync },
  deflate: { pack: zlib.deflateSync, unpack: zlib.inflateSync },
  'deflate-raw': { pack: zlib.deflateRawSync, unpack: zlib.inflateRawSync },
};
const SIZES = [0, 1, 4097, 200000, 1500000];

for (const [format, { pack, unpack }] of Object.entries(NODE)) {
  test(`${format}: node:zlib's output decompressed by an object`, async () => {
    for (const size of SIZES) {
      for (const level of [1, 9]) {
        const data = bytesOf(size, `${format}${size}${level}`);
        const res = await server.request(`${base}/decompress?format=${format}`, {
          method: 'POST', body: pack(data, { level }), timeoutMs: 60000,
        });
        assert.equal(res.status, 200, `${size}/${level}: ${res.body.toString().slice(0, 300)}`);
        assert.ok(res.body.equals(data), `${size} bytes at level ${level}`);
      }
    }
  });

  test(`${format}: an object's output decompressed by node:zlib`, async () => {
    for (const size of SIZES) {
      for (const chunk of [0, 1000, 65536]) {
        const data = bytesOf(size, `${format}${size}${chunk}`);
        const res = await server.request(`${base}/compress?format=${format}&chunk=${chunk}`, {
          method: 'POST', body: data, timeoutMs: 60000,
        });
        assert.equal(res.status, 200);
        assert.ok(unpack(res.body).equals(data), `${size} bytes in chunks of ${chunk}`);
      }
    }
  });

  test(`${format}: node:zlib's output, corrupted or cut short, fails as in workerd`, async () => {
    const data = bytesOf(100000, format);
    const packed = pack(data);
    const cut = await server.request(`${base}/decompress?format=${format}`, {
      method: 'POST', body: packed.subarray(0, packed.length - 3),
    });
    assert.equal(cut.status, 400);
    assert.deepEqual(JSON.parse(cut.body).readError, {
      name: 'TypeError', message: 'Called close() on a decompression stream with incomplete data', isTypeError: true,
    });
    const bad = Buffer.from(packed);
    bad[bad.length - 2] ^= 0x55;
    const corrupt = await server.request(`${base}/decompress?format=${format}`, { method: 'POST', body: bad });
    if (format === 'deflate-raw') {
      // No check value: the last bytes of raw deflate are data; damage there shows only as
      // different or incomplete output.
      assert.ok(corrupt.status === 400 || !corrupt.body.equals(data));
    } else {
      assert.equal(corrupt.status, 400);
      assert.deepEqual(JSON.parse(corrupt.body).readError, {
        name: 'TypeError', message: 'Decompression failed.', isTypeError: true,
      });
    }
    const trailing = await server.request(`${base}/decompress?format=${format}`, {
      method: 'POST', body: Buffer.concat([packed, Buffer.from('tail')]),
    });
    assert.equal(trailing.status, 400);
    assert.deepEqual(JSON.parse(trailing.body).readError, {
      name: 'TypeError', message: 'Trailing bytes after end of compressed data', isTypeError: true,
    });
  });
}

test('a Response of a stream through a CompressionStream streams out', async () => {
  const data = await server.request(`${base}/data?size=3000000&seed=11`, { timeoutMs: 60000 });
  assert.equal(data.body.length, 3000000);
  for (const [format, { unpack }] of Object.entries(NODE)) {
    const res = await server.request(`${base}/response?format=${format}&size=3000000`, { timeoutMs: 60000 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], undefined);
    assert.ok(unpack(res.body).equals(data.body), format);
  }
});

test('a write whose output is not read settles only once the reader has taken it', async () => {
  const got = await server.json(`${base}/backpressure`, { timeoutMs: 60000 });
  assert.deepEqual(got, { before: { pending: true }, after: { ok: 'undefined' }, bytes: 64 << 20 });
});

test('streams dropped unclosed are collected; streams held past the memory limit reset the isolate', async () => {
  // About 300 KiB of zlib state each pair: 3,000 pairs are 900 MB, far past the 128 MB limit.
  const churn = await server.request(`${base}/churn?n=3000`, { timeoutMs: 120000 });
  assert.equal(churn.status, 200, churn.body.toString());
  assert.deepEqual(JSON.parse(churn.body), { streams: 6000, kept: 0 });
  const before = rssMiB();
  const hoard = await server.request(`${base}/hoard?n=3000`, { timeoutMs: 120000 });
  assert.equal(hoard.status, 500, hoard.body.toString());
  assert.equal(JSON.parse(hoard.body).error, "Durable Object's isolate exceeded its memory limit and was reset.");
  await allocatorSettled();
  const grown = rssMiB() - before;
  assert.ok(grown < 400, `the runtime's RSS grew by ${grown.toFixed(0)} MiB`);
  // The object works again.
  assert.deepEqual(await server.json(`${base}/hoard?n=5`), { streams: 10, kept: 10 });
});

// 1 GiB of zeros, gzipped by node in 1 MiB writes (about 1 MB compressed).
async function zeroBomb(mib) {
  const gzip = zlib.createGzip({ level: 9 });
  const parts = [];
  gzip.on('data', (c) => parts.push(c));
  const ended = new Promise((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) {
    if (!gzip.write(zeros)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await ended;
  return Buffer.concat(parts);
}

function rssMiB() {
  const status = fs.readFileSync(`/proc/${server.runtimePid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

test('a decompression bomb (1 GiB from 1 MB) is read in 64 KiB pieces with bounded memory', async (t) => {
  const bomb = await zeroBomb(1024);
  assert.ok(bomb.length < 2 << 20, `bomb is ${bomb.length} bytes`);
  // Warm up the object, then measure while it reads.
  await server.request(`${base}/count?format=gzip`, { method: 'POST', body: zlib.gzipSync(Buffer.alloc(1000)) });
  const before = rssMiB();
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB()); }, 50);
  let res;
  try {
    res = await server.request(`${base}/count?format=gzip`, { method: 'POST', body: bomb, timeoutMs: 240000 });
  } finally {
    clearInterval(sampler);
  }
  assert.equal(res.status, 200, res.body.toString());
  t.diagnostic(`runtime RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at most while reading`);
  const got = JSON.parse(res.body);
  assert.equal(got.bytes, 1 << 30);
  assert.ok(got.largest <= 65536, `largest piece ${got.largest}`);
  assert.ok(got.chunks >= (1 << 30) / 65536, `${got.chunks} pieces`);
  assert.ok(peak - before < RSS_BOUND_MIB, `RSS grew by ${(peak - before).toFixed(0)} MiB (from ${before.toFixed(0)})`);
});
