// HTMLRewriter: every scenario of fixtures/html_rewriter_probe.js answers what workerd answered
// for the same probe (recorded in fixtures/html_rewriter_workerd.json by
// `node tests/diff/htmlrewriter.mjs --workerd-only`); the scenarios listed in
// tests/diff/known-differences-htmlrewriter.json are checked on what they share. Then streaming
// (the rewritten head reaches the client before the source has ended) and hostile inputs: a
// 50 MiB document, deep nesting under long selector chains (and past workerd's 3 MiB limit of
// the rewriter's memory), without crash or runaway memory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, fixture, REPO_ROOT } from './lib/dorm.mjs';

const workerd = JSON.parse(fs.readFileSync(fixture('html_rewriter_workerd.json'), 'utf8'));
const known = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tests', 'diff', 'known-differences-htmlrewriter.json'), 'utf8'));

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('html_rewriter_probe.js'));
});

after(async () => {
  await server?.stop();
});

const answer = (name) => server.json(`/_do/html-rewriter-probe/${name}/${name}`);

for (const name of Object.keys(workerd)) {
  if (Object.hasOwn(known, name)) continue;
  test(`${name}: as workerd`, async () => {
    assert.deepEqual(await answer(name), workerd[name]);
  });
}

test('text_chunks: same output and text, chunks split otherwise inside <script> (known difference)', async () => {
  const got = (await answer('text_chunks')).ok;
  const want = workerd.text_chunks.ok;
  assert.equal(got.out, want.out);
  assert.equal(got.log.map((c) => c.text).join(''), want.log.map((c) => c.text).join(''));
  // Outside raw text the chunks are the same, split where the source chunks were.
  assert.deepEqual(got.log.slice(0, 6), want.log.slice(0, 6));
  assert.deepEqual(got.log.at(-1), { text: '', last: true, removed: false });
});

test('raw_text_elements: same output and text (known difference in chunking)', async () => {
  const got = (await answer('raw_text_elements')).ok;
  const want = workerd.raw_text_elements.ok;
  assert.equal(got.out, want.out);
  assert.equal(got.log.join(''), want.log.join(''));
});

test('bad_selectors: the same errors, but for "#"', async () => {
  const got = (await answer('bad_selectors')).ok;
  const want = { ...workerd.bad_selectors.ok };
  assert.deepEqual(got['#'], { threw: { name: 'TypeError', message: 'Parser error: Unexpected end of selector.' } });
  delete want['#'];
  delete got['#'];
  assert.deepEqual(got, want);
});

test('length_header: the rewritten body goes out whole and chunked, without the source length', async () => {
  assert.deepEqual(await answer('length_header'), { ok: { header: null, text: workerd.length_header.ok.text } });
  assert.equal(workerd.length_header.ok.header, '8');
  const ex = timedGet(server.port, '/_do/html-rewriter-probe/l/stream/length');
  const text = await ex.done;
  // As workerd answers on the wire.
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /\r\ntransfer-encoding: chunked\r\n/i);
  assert.doesNotMatch(text, /content-length/i);
  assert.match(text, /<p>x and more<\/p>/);
});

// A raw HTTP exchange: the arrival time of the first byte matching each pattern.
function timedGet(port, target) {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  const seen = new Map();
  const watch = [];
  socket.on('data', (d) => {
    text += d.toString('latin1');
    for (const w of watch) if (!seen.has(w) && w.test(text)) seen.set(w, Date.now());
  });
  socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const done = new Promise((resolve, reject) => {
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  return { watch, seen, done };
}

test('streaming: the rewritten head reaches the client before the source ends', async () => {
  const early = /<p seen="1">early<\/p>/;
  const late = /<p seen="1">late<\/p><\/body><\/html>/;
  // The source waits 1.5 s between its two chunks; the head must be out well before the rest.
  const ex = timedGet(server.port, '/_do/html-rewriter-probe/s/stream/slow?ms=1500');
  ex.watch.push(early, late);
  const text = await ex.done;
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /<title>first<\/title>/);
  assert.ok(ex.seen.has(early) && ex.seen.has(late), text);
  assert.ok(ex.seen.get(late) - ex.seen.get(early) >= 500,
    `early at ${ex.seen.get(early)}, late at ${ex.seen.get(late)}`);
});

async function readBig(query) {
  const res = await fetch(`http://127.0.0.1:${server.port}/_do/html-rewriter-probe/big/stream/big?${query}`);
  assert.equal(res.status, 200);
  let bytes = 0;
  let tail = '';
  let head = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    bytes += chunk.length;
    const s = decoder.decode(chunk, { stream: true });
    if (head.length < 4096) head += s;
    tail = (tail + s).slice(-200);
  }
  return { bytes, tail, head };
}

test('hostile: a 50 MiB document streams through, every link rewritten', { timeout: 600000 }, async () => {
  const { bytes, tail, head } = await readBig('mb=50');
  const piece = '<div class="row"><a href="/x">link</a> text &amp; more <!-- c --></div>\n';
  const pieces = Math.ceil((50 * 1024 * 1024) / (piece.length * 256));
  const links = pieces * 256;
  assert.match(head, /^<div class="row"><a href="\/y1">link<\/a> text &amp; more <!-- c --><\/div>\n<div class="row"><a href="\/y2">/);
  assert.ok(tail.endsWith(`<!-- links ${links} -->`), tail);
  // Each href grows from "/x" to "/y<n>".
  const growth = [...Array(links)].reduce((sum, _, i) => sum + String(i + 1).length, 0);
  assert.equal(bytes, pieces * 256 * piece.length + growth + `<!-- links ${links} -->`.length);
  assert.equal(server.unexpectedCrashes(), null);
});

test('hostile: 15000 nested elements under long selector chains', { timeout: 120000 }, async () => {
  const chain = Array(12).fill('div').join(' ');
  const sel = encodeURIComponent([chain, 'div > div > div > div:nth-child(1) div:not(.row)', '*:first-child *'].join('|'));
  const { tail, head } = await readBig(`mb=1&depth=15000&sel=${sel}`);
  // The first div is no first child's descendant, nor deep enough for the chains; the second is.
  assert.ok(head.startsWith('<div><div hit=""><div hit="">'), head.slice(0, 100));
  assert.match(tail, /<!-- links \d+ -->$/);
  assert.equal(server.unexpectedCrashes(), null);
});

test('hostile: 200000 nested elements exceed the rewriter memory limit: the body fails, the object lives', { timeout: 120000 }, async () => {
  const res = await fetch(`http://127.0.0.1:${server.port}/_do/html-rewriter-probe/deep/stream/big?mb=1&depth=200000&sel=div%20div`);
  assert.equal(res.status, 200);
  await assert.rejects(async () => {
    for await (const chunk of res.body) void chunk;
  });
  assert.equal(server.unexpectedCrashes(), null);
  // The same object still answers.
  const again = await fetch(`http://127.0.0.1:${server.port}/_do/html-rewriter-probe/deep/chaining`);
  assert.deepEqual(await again.json(), workerd.chaining);
});
