// Structured-clone bytes that ask V8 for more than the heap (issue 10, clone bombs): V8's reader
// gives a sparse array of length below 32 Mi a backing store of that many slots before reading
// anything else, and ends the process when that is over the heap limit (SIGTRAP, "Fatal
// javascript OOM in Reached heap limit"). structuredClone() or put() then get() of a value
// holding such arrays killed the server, and so did such bytes in a damaged database file. Now a
// value that could not be read back is refused when written (DataCloneError), bytes that would
// allocate too much are refused before V8 reads them (Error), and the server, the object and the
// other apps keep answering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, 'fixtures', 'clone_bomb.js');
const TIMEOUT_MS = 30000;

let server;

before(async () => {
  server = await startServer();
  await server.deploy(FIXTURE, { app: 'bomber', name: 'bomb' });
  await server.deploy(FIXTURE, { app: 'bystander', name: 'bomb' });
});

after(async () => {
  await server?.stop();
});

function get(app, object, route, srv = server) {
  return srv.request(`/_do/bomb/${object}${route}`, {
    headers: { host: `${app}.localhost:${srv.port}` },
    timeoutMs: TIMEOUT_MS,
  });
}

async function getJson(app, object, route, srv = server) {
  const res = await get(app, object, route, srv);
  assert.equal(res.status, 200, `${app}/${object}${route}: ${res.status} ${res.text}\n${srv.outputTail()}`);
  return res.json();
}

// The server is up, and the attacker's object, another object of its app and another app answer.
async function assertEveryoneAnswers(srv = server) {
  assert.equal(srv.exitInfo, null, `the server died\n${srv.outputTail()}`);
  const started = Date.now();
  for (const [app, object] of [['bomber', 'a'], ['bomber', 'b'], ['bystander', 'a']]) {
    const out = await getJson(app, object, '/ping', srv);
    assert.ok(out.served >= 1);
  }
  assert.ok(Date.now() - started < TIMEOUT_MS, 'answers came within the bound');
}

// Sends `route` `times` times (one 256 MiB allocation may still fit in an empty heap; the next
// does not) and returns the answers, or the errors of requests the server did not answer.
async function attack(app, object, route, times = 3, srv = server) {
  const answers = [];
  for (let i = 0; i < times; i++) {
    answers.push(await get(app, object, route, srv).catch((e) => e));
  }
  return answers;
}

function answerJson(answer) {
  assert.ok(!(answer instanceof Error), `no answer: ${answer.message}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json();
}

const SPARSE_REFUSED = /^Could not serialize value: a sparse array of length 33554431 .*over \d+ MiB\.$/;

test('structuredClone() of a sparse array of length 33554431 throws a DataCloneError; the server stays up', async () => {
  const caught = await attack('bomber', 'a', '/try-clone');
  const uncaught = await attack('bomber', 'a', '/clone');
  await assertEveryoneAnswers();
  for (const answer of caught) {
    const out = answerJson(answer);
    assert.equal(out.name, 'DataCloneError', JSON.stringify(out));
    assert.equal(out.isDOMException, true);
    assert.match(out.message, SPARSE_REFUSED);
  }
  for (const answer of uncaught) {
    assert.ok(!(answer instanceof Error), `no answer: ${answer.message}`);
    assert.equal(answer.status, 500, answer.text);
    assert.match(answer.json().error, /DataCloneError|sparse array of length 33554431/);
  }
});

test('several large sparse arrays in one value are refused as a whole', async () => {
  // Four arrays of 33554431 slots: 1 GiB to read, all inside one call into V8.
  const four = await attack('bomber', 'a', '/try-clone?count=4', 1);
  await assertEveryoneAnswers();
  const out = answerJson(four[0]);
  assert.equal(out.name, 'DataCloneError', JSON.stringify(out));
  // Each array alone (3 Mi slots, 24 MiB) may be cloned; sixteen in one value may not.
  assert.deepEqual(await getJson('bomber', 'a', `/try-clone?n=${3 << 20}&count=1`), { cloned: true });
  const caught = await getJson('bomber', 'a', `/try-clone?n=${3 << 20}&count=16`);
  assert.equal(caught.name, 'DataCloneError', JSON.stringify(caught));
  assert.match(caught.message, /^Could not serialize value: .*over \d+ MiB\.$/);
  const res = await get('bomber', 'a', `/clone?n=${3 << 20}&count=16`);
  assert.equal(res.status, 500, res.text);
  const put = await getJson('bomber', 'a', `/try-put?n=${3 << 20}&count=16`);
  assert.equal(put.name, 'DataCloneError', JSON.stringify(put));
  await assertEveryoneAnswers();
});

test('put() of a sparse array of length 33554431 is refused and stores nothing; stored data stays', async () => {
  await getJson('bomber', 'a', '/keep');
  const caught = await attack('bomber', 'a', '/try-put', 1);
  const uncaught = await attack('bomber', 'a', '/put', 1);
  const read = await attack('bomber', 'a', '/get');
  await assertEveryoneAnswers();
  const out = answerJson(caught[0]);
  assert.equal(out.name, 'DataCloneError', JSON.stringify(out));
  assert.match(out.message, SPARSE_REFUSED);
  assert.ok(!(uncaught[0] instanceof Error), `no answer: ${uncaught[0].message}`);
  assert.equal(uncaught[0].status, 500, uncaught[0].text);
  for (const answer of read) assert.deepEqual(answerJson(answer), { length: null }, 'nothing was stored');
  assert.equal((await getJson('bomber', 'a', '/ping')).keep, 'kept value');
});

test('legitimate values still round-trip exactly through structuredClone and storage', async () => {
  const out = await getJson('bystander', 'legit', '/legitimate');
  assert.equal(out.expected.sparse[0], 1 << 20);
  assert.deepEqual(out.expected.refs, [true, true, true, 2, 'TypeError']);
  assert.deepEqual(out.cloned, out.expected);
  assert.deepEqual(out.stored, out.expected);
});

test('a sparse array passed over RPC costs its elements, not its length, and keeps its holes', async () => {
  // The runtime walked RPC values index by index to find functions and stubs in them: an array of
  // length 2^32-1 holding one element took the caller's whole CPU limit (500), and one of length
  // 10^8 four seconds. Each case here must answer within seconds.
  for (const length of [2 ** 32 - 1, 1e8 + 1]) {
    for (const query of ['', '&fn', '&answer', '&answer&fn']) {
      const started = Date.now();
      const out = await getJson('bystander', 'rpc', `/rpc-sparse?n=${length}${query}`);
      const last = query.includes('fn') ? 'called' : 'last';
      assert.deepEqual(out, { length, elements: 1, hole: true, last }, `${length}${query}`);
      assert.ok(Date.now() - started < 3000, `${length}${query} took ${Date.now() - started} ms`);
    }
  }
  await assertEveryoneAnswers();
});

test('an RPC argument\'s getter runs once, and holes beside a function stay holes', async () => {
  // The runtime read every property to look for functions and stubs, then V8 serialized the value
  // and read them again: a getter ran twice, and the callee saw its second answer. Arrays copied
  // for their functions had their holes filled with undefined. As workerd answers (tests/diff rpc).
  const out = await getJson('bystander', 'rpc', '/rpc-shapes');
  assert.deepEqual(out, { calls: 1, counted: 1, holes: [4, false, true, false, 'function'] });
});

test('RPC calls carrying functions work with setters on Array.prototype\'s indices and a replaced push()', async () => {
  // The runtime grew its lists of markers, references and stubs through them (workerd's RPC is
  // native): the call threw the setter's error.
  const out = await getJson('bystander', 'rpc', '/rpc-poisoned');
  assert.deepEqual(out, { answer: 'called other 2 back' });
});

// SQLite's write-ahead-log checksum: pairs of 32-bit words, running from the previous value.
function walChecksum(buf, start, end, sums, littleEndian) {
  let [s0, s1] = sums;
  for (let i = start; i < end; i += 8) {
    const x0 = littleEndian ? buf.readUInt32LE(i) : buf.readUInt32BE(i);
    const x1 = littleEndian ? buf.readUInt32LE(i + 4) : buf.readUInt32BE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

// Recomputes the checksums of a write-ahead log's frames after their pages were changed, so that
// SQLite takes the damaged pages as written (SQLite itself has no page checksums).
function resealWal(buf) {
  const littleEndian = buf.readUInt32BE(0) === 0x377f0682;
  const pageSize = buf.readUInt32BE(8);
  const salts = [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  let sums = [buf.readUInt32BE(24), buf.readUInt32BE(28)];
  for (let frame = 32; frame + 24 + pageSize <= buf.length; frame += 24 + pageSize) {
    if (buf.readUInt32BE(frame + 8) !== salts[0] || buf.readUInt32BE(frame + 12) !== salts[1]) break;
    sums = walChecksum(buf, frame, frame + 8, sums, littleEndian);
    sums = walChecksum(buf, frame + 24, frame + 24 + pageSize, sums, littleEndian);
    buf.writeUInt32BE(sums[0], frame + 16);
    buf.writeUInt32BE(sums[1], frame + 20);
  }
}

// Replaces every occurrence of each `from` by its `to` (same length) in the object databases
// under `dir`, as a damaged disk or a stray write would. Returns how many were replaced.
function damageFiles(dir, replacements) {
  let damaged = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const bytes = fs.readFileSync(file);
    let changed = false;
    for (const [from, to] of replacements) {
      for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + from.length)) {
        to.copy(bytes, at);
        damaged++;
        changed = true;
      }
    }
    if (!changed) continue;
    if (file.endsWith('-wal')) resealWal(bytes);
    fs.writeFileSync(file, bytes);
  }
  return damaged;
}

test('stored bytes damaged into a clone bomb get an error on get(), the server stays up', async () => {
  const own = await startServer();
  let restarted;
  try {
    await own.deploy(FIXTURE, { app: 'bomber', name: 'bomb' });
    await own.deploy(FIXTURE, { app: 'bystander', name: 'bomb' });
    // Two empty sparse arrays of length 2^28 - 1 are cheap to read (dictionary elements); the
    // damage turns their lengths, at their starts and ends, into 33554431 (2^25 - 1).
    const length = 2 ** 28 - 1;
    assert.deepEqual(await getJson('bomber', 'a', `/put?n=${length}&count=2&empty`, own), { stored: true });
    assert.deepEqual(await getJson('bomber', 'a', '/get', own), { length: 2 });
    await own.stop();
    const replacements = [
      [Buffer.from([0x61, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x61, 0xff, 0xff, 0xff, 0x0f])],
      [Buffer.from([0x40, 0x00, 0xff, 0xff, 0xff, 0x7f]), Buffer.from([0x40, 0x00, 0xff, 0xff, 0xff, 0x0f])],
    ];
    assert.ok(damageFiles(path.join(own.dataDir, 'objects'), replacements) >= 4, 'the stored bytes were found');

    restarted = await own.restart();
    const answers = await attack('bomber', 'a', '/get', 3, restarted);
    await assertEveryoneAnswers(restarted);
    // Every time (the damaged value is kept, not dropped): a clear error.
    for (const answer of answers) {
      const caught = answerJson(answer);
      assert.equal(caught.name, 'Error', JSON.stringify(caught));
      assert.match(caught.message, /^Unable to deserialize cloned data: a sparse array of length 33554431 /);
    }
  } finally {
    if (!own.exitInfo) await own.stop();
    if (restarted) await restarted.stop();
  }
});
