// Bodies through a stub's fetch() stream, as on workerd: the caller's fetch() resolves with the
// callee's status and headers, and its body gives each chunk as the callee makes it, with
// backpressure across threads (a 100 MiB body through Worker → object → client keeps memory
// flat); cancelling either side reaches the other, and the callee's error (or reset) errors the
// caller's stream with workerd's error. Expected values were recorded from workerd with the
// fixture fixtures/stub-streaming/index.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, fixture, sleep, waitFor, describeCli, connectRecording } from './lib/dorm.mjs';

let server;
let host;
// What the runtime may grow by while 100 MiB pass, below the body's own size: the channels'
// bounds and the chunks' garbage not yet collected; under ASan also the quarantine of freed
// memory (256 MiB by default) and its shadow.
const RSS_SLACK = (process.env.DORM_SANITIZED ? 90 + 512 : 90) << 20;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  const deployed = await server.cli(['deploy', fixture('stub-streaming')]);
  assert.equal(deployed.code, 0, describeCli(deployed));
  host = `stubstream.localhost:${server.port}`;
});

after(async () => {
  await server?.stop();
});

const get = (query) => server.request(`/?${query}`, { headers: { host } });

// A raw HTTP/1.1 GET: what arrived (latin1), when, and whether the server closed the connection.
async function rawGet(target) {
  const state = await connectRecording(server.port);
  state.socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  return state;
}

test('an event stream behind a Worker reaches the client event by event', async () => {
  const exchange = await rawGet('/?mode=pass&name=sse&q=mode%3Dsse%26ms%3D400');
  const headAt = await exchange.waitFor(/\r\n\r\n/);
  const head = exchange.text.slice(0, exchange.text.indexOf('\r\n\r\n') + 2);
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(head, /\r\ncontent-type: text\/event-stream\r\n/i);
  assert.match(head, /\r\nx-probe: sse\r\n/i);
  assert.match(head, /\r\ntransfer-encoding: chunked\r\n/i);
  const firstAt = await exchange.waitFor(/data: first \d+\n\n/);
  const secondAt = await exchange.waitFor(/data: second \d+\n\n/);
  const producedSecond = Number(/data: second (\d+)/.exec(exchange.text)[1]);
  assert.ok(headAt <= firstAt);
  assert.ok(firstAt < producedSecond, `the first event arrived at ${firstAt}, after the second was made at ${producedSecond}`);
  assert.ok(secondAt - firstAt >= 300, `the events arrived ${secondAt - firstAt} ms apart`);
  await exchange.waitFor(/\r\n0\r\n\r\n$/);
  exchange.socket.destroy();
});

test('the caller reads the chunks as they come, to the end', async () => {
  const log = (await get('mode=read&then=sse&name=reader')).json();
  assert.equal(log.length, 3);
  assert.match(log[0], /^data: first \d+\n\n$/);
  assert.match(log[1], /^data: second \d+\n\n$/);
  assert.equal(log[2], 'done');
});

test('an object passes on another object\'s streamed body (object → object → client)', async () => {
  const exchange = await rawGet('/?mode=pass&name=relay1&q=mode%3Drelay%26to%3Drelayed1%26then%3Dsse');
  const firstAt = await exchange.waitFor(/data: first \d+\n\n/);
  const producedSecond = Number(/data: second (\d+)/.exec(await exchange.waitFor(/data: second \d+\n\n/) && exchange.text)[1]);
  assert.ok(firstAt < producedSecond, 'the first event waited for the second');
  await exchange.waitFor(/\r\n0\r\n\r\n$/);
  exchange.socket.destroy();
});

test('the callee\'s stream error errors the caller\'s stream with its class and message (workerd)', async () => {
  assert.deepEqual((await get('mode=read&then=err&name=errs')).json(),
    ['a', ['err', 'TypeError', 'TypeError', 'boom', ['remote']]]);
  // Through two stubs: the same error, once marked.
  assert.deepEqual((await get('mode=read&name=relay2&then=relay%26to%3Drelayed2%26then%3Derr')).json(),
    ['a', ['err', 'TypeError', 'TypeError', 'boom', ['remote']]]);
});

test('a string chunk of the callee arrives as its UTF-8 bytes (workerd)', async () => {
  assert.deepEqual((await get('mode=read&then=string&name=str')).json(), ['abc', 'done']);
});

test('a callee reset while its body streams errors the caller\'s stream as a reset', async () => {
  const log = (await get('mode=read&then=abort&name=aborts')).json();
  assert.equal(log.length, 2);
  assert.equal(log[0], 'a');
  // workerd: ['err', 'Error', 'Error', 'Error: gone', ['remote', 'durableObjectReset']].
  assert.deepEqual(log[1].slice(0, 3), ['err', 'Error', 'Error']);
  assert.match(log[1][3], /gone/);
  assert.deepEqual(log[1][4], ['remote', 'durableObjectReset']);
});

test('the caller cancelling its body cancels the callee\'s stream (reason undefined, as workerd)', async () => {
  assert.deepEqual((await get('mode=cancel&name=cancels')).json(),
    { first: 2, cancelReason: 'undefined|undefined' });
});

test('a reset of the caller cancels the callee\'s stream it was reading', async () => {
  assert.equal((await get('mode=pass&name=holder&q=mode%3Dholdthenabort%26to%3Dheld')).text, 'holding');
  await waitFor(async () => (await get('mode=pass&name=held&q=mode%3Dstatus')).json().cancelReason === 'undefined|undefined',
    { what: 'the callee\'s stream to be cancelled' });
});

test('a client leaving a body that passes through a Worker cancels the object\'s stream', async () => {
  const exchange = await rawGet('/?mode=pass&name=leaves&q=mode%3Dforever');
  await exchange.waitFor(/x3/);
  exchange.socket.destroy();
  await waitFor(async () => (await get('mode=pass&name=leaves&q=mode%3Dstatus')).json().cancelReason === 'undefined|undefined',
    { what: 'the object\'s stream to be cancelled' });
});

test('a callee\'s stream that fails breaks the client\'s connection without the last chunk', async () => {
  const exchange = await rawGet('/?mode=pass&name=fails&q=mode%3Derr');
  await exchange.waitFor(/\r\n\r\n1\r\na\r\n/);
  await exchange.waitFor('closed');
  assert.ok(!exchange.text.endsWith('\r\n0\r\n\r\n'), JSON.stringify(exchange.text));
  assert.equal((await get('mode=pass&name=fails&q=mode%3Dping')).text, 'pong');
});

test('a request body the Worker streams reaches the object chunk by chunk (workerd)', async () => {
  // workerd: {"log":[["one;",false],["two;",true],"done"],"cl":null,"te":"chunked"}.
  assert.deepEqual((await get('mode=upload&name=up1')).json(),
    { log: [['one;', false], ['two;', true], 'done'], cl: null, te: 'chunked' });
});

test('a request body stream that fails ends the object\'s body there (workerd)', async () => {
  assert.deepEqual((await get('mode=uperr&name=up2')).json(),
    { log: [['one;', false], 'done'], cl: null, te: 'chunked' });
});

test('a string chunk of a request body arrives as its UTF-8 bytes (workerd)', async () => {
  assert.deepEqual((await get('mode=upstr&name=up3')).json(),
    { log: [['abc', false], 'done'], cl: null, te: 'chunked' });
});

test('a request body the object never reads is cancelled once it has answered (workerd)', async () => {
  assert.deepEqual((await get('mode=ignored&name=ignores')).json(), { text: 'pong', cancelled: true, bounded: true });
});

test('a request body is read from the caller\'s stream only as fast as the callee reads it', async () => {
  const { text, made } = (await get('mode=slowreader&name=slow')).json();
  assert.match(text, /^read \d+$/);
  // 128 KiB in the channel, a chunk in each stream's queue: nowhere near the 500 ms of an
  // unbounded pull.
  assert.ok(made <= 8, `the Worker's stream made ${made} chunks of 64 KiB`);
});

test('a 100 MiB request body through a stub is never held whole', async () => {
  const pid = server.runtimePid();
  const rssBefore = rssBytes(pid);
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 50);
  try {
    const res = await get('mode=bigupload&name=bigup');
    assert.deepEqual(res.json(), { total: 1601 * 64 * 1024 });
  } finally {
    clearInterval(sampler);
  }
  assert.ok(peak - rssBefore < RSS_SLACK, `the runtime grew by ${(peak - rssBefore) >> 20} MiB while the body passed`);
});

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

test('a 100 MiB body through Worker → object → client is never held whole', async () => {
  const pid = server.runtimePid();
  const rssBefore = rssBytes(pid);
  const exchange = await rawGet('/?mode=pass&name=huge&q=mode%3Dhuge');
  await exchange.waitFor(/\r\n\r\n/);
  exchange.socket.pause();
  await sleep(2000);
  const { pulled } = (await get('mode=pass&name=huge&q=mode%3Dstatus')).json();
  const rssPaused = rssBytes(pid);
  // Kernel buffers and the two channels' bounds: far from the 1601 chunks of 64 KiB.
  assert.ok(pulled < 400, `the producer made ${pulled} chunks for a client that reads nothing`);
  assert.ok(rssPaused - rssBefore < 48 * 1024 * 1024, `the runtime grew by ${(rssPaused - rssBefore) >> 20} MiB`);
  let received = exchange.text.length - (exchange.text.indexOf('\r\n\r\n') + 4);
  let tail = exchange.text.slice(-7);
  let peak = rssPaused;
  exchange.socket.removeAllListeners('data');
  exchange.socket.on('data', (d) => {
    received += d.length;
    tail = (tail + d.toString('latin1')).slice(-7);
  });
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 50);
  exchange.socket.resume();
  try {
    await waitFor(() => tail === '\r\n0\r\n\r\n', { timeoutMs: 90000, what: 'the whole body' });
  } finally {
    clearInterval(sampler);
  }
  assert.ok(received > 100 * 1024 * 1024, `${received} bytes of body and framing`);
  assert.ok(peak - rssBefore < RSS_SLACK, `the runtime grew by ${(peak - rssBefore) >> 20} MiB while the body passed`);
  exchange.socket.destroy();
});
