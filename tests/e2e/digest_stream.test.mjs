// crypto.DigestStream inside a Durable Object: the published vectors of each algorithm, streamed
// digests against crypto.subtle.digest of the whole, the chunk types taken and refused, abort,
// dispose, the class's shape, and tampered values. The object is
// tests/e2e/fixtures/webcrypto_probe.js (also run next to workerd by tests/diff/webcrypto.mjs);
// fixtures/digest_stream_workerd.json holds workerd's answer to the same scenario.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('webcrypto_probe.js'), { name: 'crypto-probe' });
});

after(async () => {
  await server?.stop();
});

async function scenario(name) {
  const answer = await server.json(`/_do/crypto-probe/${name}/${name}`);
  assert.equal(answer.threw, undefined, `${name} threw ${JSON.stringify(answer.threw)}`);
  return answer.ok;
}

const up = (s) => s.toUpperCase();
const CHUNK_ERROR = {
  name: 'TypeError',
  message: 'DigestStream is a byte stream but received an object of non-ArrayBuffer/ArrayBufferView/string type on its writable side.',
};

test('published vectors: FIPS 180-4 "abc" and two blocks, RFC 1321, CRC-32', async () => {
  const r = await scenario('digest_stream');
  const digestOf = (entry) => entry.digest.ok;
  assert.equal(digestOf(r.vectors['SHA-1']), up('a9993e364706816aba3e25717850c26c9cd0d89d'));
  assert.equal(digestOf(r.vectors['SHA-256']), up('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'));
  assert.equal(digestOf(r.vectors['SHA-384']), up('cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7'));
  assert.equal(digestOf(r.vectors['SHA-512']), up('ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'));
  assert.equal(digestOf(r.vectors.MD5), up('900150983cd24fb0d6963f7d28e17f72'));
  assert.equal(digestOf(r.vectors.crc32), '352441C2');
  // Names are ASCII case-insensitive; a HashAlgorithm dictionary is taken.
  assert.equal(digestOf(r.vectors['sha-256']), digestOf(r.vectors['SHA-256']));
  assert.equal(digestOf(r.vectors.md5), digestOf(r.vectors.MD5));
  assert.equal(digestOf(r.vectors.CRC32), '352441C2');
  assert.equal(digestOf(r.vectors['{"name":"SHA-1"}']), digestOf(r.vectors['SHA-1']));
  for (const entry of Object.values(r.vectors)) assert.equal(entry.bytesWritten, 'bigint:3');
  assert.equal(digestOf(r.empty.sha256), up('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'));
  assert.equal(digestOf(r.empty.md5), up('d41d8cd98f00b204e9800998ecf8427e'));
  assert.equal(digestOf(r.empty.crc32), '00000000');
  assert.equal(r.empty.sha256.bytesWritten, 'bigint:0');
  // Written as a string, a view and an ArrayBuffer.
  assert.equal(digestOf(r.twoBlockSha256), up('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'));
  assert.equal(r.twoBlockSha256.bytesWritten, 'bigint:56');
});

test('a megabyte in 13 uneven writes gives subtle.digest of the whole', async () => {
  const r = await scenario('digest_stream');
  for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512', 'MD5']) {
    const entry = r[`big_${alg}`];
    assert.equal(entry.sameAsSubtle, true, alg);
    assert.equal(entry.writes.length, 13);
    assert.equal(entry.bytesWritten, 'bigint:1048576');
  }
});

test('chunks: views, strings as UTF-8, empty and detached ones; others error the stream', async () => {
  const { chunks } = await scenario('digest_stream');
  const abc = up('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.deepEqual(chunks.dataView, { writes: ['ok'], close: 'ok', digest: { ok: abc }, bytesWritten: 'bigint:3' });
  assert.deepEqual(chunks.subarray.digest, { ok: abc });
  assert.equal(chunks.float64.bytesWritten, 'bigint:8');
  assert.equal(chunks.unicode.bytesWritten, 'bigint:9');
  // A lone surrogate is U+FFFD's three bytes.
  assert.equal(chunks.loneSurrogate.digest.ok, up('91a681b998555fb475479817b126c94e57e52011fa1842c5d188795a4a05226b'));
  assert.equal(chunks.emptyPieces.bytesWritten, 'bigint:0');
  assert.deepEqual(chunks.detached, { writes: ['ok', 'ok'], close: 'ok', digest: { ok: abc }, bytesWritten: 'bigint:3' });
  for (const name of ['number', 'object', 'nullChunk', 'undefinedChunk', 'stringObject', 'blob']) {
    // As in workerd, the write rejects, the stream errors and the digest never settles.
    assert.deepEqual(chunks[name], { writes: [CHUNK_ERROR], close: CHUNK_ERROR, digest: 'pending', bytesWritten: 'bigint:0' }, name);
  }
  assert.deepEqual(chunks.badThenGood.writes, [CHUNK_ERROR, CHUNK_ERROR]);
});

test('algorithm errors, abort, dispose and the shape are workerd\'s', async () => {
  const r = await scenario('digest_stream');
  assert.deepEqual(r.algorithmErrors.sha3,
    { name: 'NotSupportedError', message: 'Unrecognized or unimplemented digest algorithm requested.' });
  assert.deepEqual(r.abort.digest, { threw: { name: 'RangeError', message: 'stop', value: 'object' } });
  assert.deepEqual(r.dispose.digest, { threw: { name: 'TypeError', message: 'The DigestStream was disposed.', value: 'object' } });
  assert.equal(r.shape.global, 'undefined');
  assert.equal(r.shape.parent, true);
  // Everything, as workerd answered the same scenario.
  const workerd = JSON.parse(fs.readFileSync(fixture('digest_stream_workerd.json'), 'utf8'));
  assert.deepEqual(r, workerd.ok);
});

test('tampered views and replaced built-ins change nothing; dropped streams are freed', async () => {
  const r = await scenario('digest_stream_hostile');
  const abc = { writes: ['ok'], close: 'ok', digest: { ok: up('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad') }, bytesWritten: 'bigint:3' };
  const refused = { writes: [CHUNK_ERROR], close: CHUNK_ERROR, digest: 'pending', bytesWritten: 'bigint:0' };
  assert.deepEqual(r, {
    shadowedView: abc, subclassedView: abc, proxy: refused,
    replacedBuiltins: { number: refused, string: abc }, afterDropped: abc,
  });
});

test('crc32c and crc64nvme: the catalogue check values, big-endian, as workerd gives them', async () => {
  const r = await scenario('digest_stream_crc');
  const digestOf = (entry) => entry.digest.ok;
  // "123456789": CRC-32/ISCSI 0xE3069283 and CRC-64/NVME 0xAE8B14860A799888, whole or in pieces
  // of every kind (string, view, ArrayBuffer, DataView).
  for (const group of [r.check, r.pieces]) {
    assert.equal(digestOf(group.crc32c), 'E3069283');
    assert.equal(digestOf(group.crc64nvme), 'AE8B14860A799888');
    assert.equal(group.crc32c.bytesWritten, 'bigint:9');
  }
  // workerd's answers for "abc", any case, as a name or a HashAlgorithm.
  for (const name of ['crc32c', 'CRC32C', '{"name":"crc32c"}']) assert.equal(digestOf(r[name]), '364B3FB7', name);
  for (const name of ['crc64nvme', 'Crc64Nvme', '{"name":"CRC64NVME"}']) {
    assert.equal(digestOf(r[name]), '05E5CABB3FC1FAEB', name);
  }
  assert.equal(digestOf(r.empty.crc32c), '00000000');
  assert.equal(digestOf(r.empty.crc64nvme), '0000000000000000');
  assert.equal(r.empty.crc64nvme.bytesWritten, 'bigint:0');
  // A lone surrogate is hashed as its three bytes, as workerd does.
  assert.deepEqual([digestOf(r.surrogate.crc32c), r.surrogate.crc32c.bytesWritten], ['3EC729A5', 'bigint:5']);
  assert.deepEqual([digestOf(r.surrogate.crc64nvme), r.surrogate.crc64nvme.bytesWritten], ['580A591E89662F0B', 'bigint:6']);
  // A megabyte in uneven writes, the same as in one.
  assert.deepEqual([digestOf(r.big_crc32c), r.big_crc32c.sameAsWhole, r.big_crc32c.bytesWritten], ['148337DB', true, 'bigint:1048576']);
  assert.deepEqual([digestOf(r.big_crc64nvme), r.big_crc64nvme.sameAsWhole], ['FE73211921065A14', true]);
  assert.deepEqual(r.badChunk.writes, ['ok', CHUNK_ERROR]);
  assert.deepEqual(r.badChunk.close, CHUNK_ERROR);
  assert.equal(r.badChunk.digest, 'pending');
  const notSupported = { name: 'NotSupportedError', message: 'Unrecognized or unimplemented digest algorithm requested.' };
  assert.deepEqual(r.unknown, { crc16: notSupported, crc64: notSupported, crc32cSpace: notSupported });
});
