// WebSockets on the wire: the seed chat rooms with many clients, upgrades the object refuses,
// subprotocols, close codes both ways, ping/pong, RFC 6455 violations written by hand, a client
// that stops reading, and the JavaScript API's errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, fixture, EXAMPLES_DIR, waitFor, allocatorSettled } from './lib/dorm.mjs';
import { WsClient, RawWs, frame } from './lib/ws.mjs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

let server;
let wsBase;

before(async () => {
  server = await startServer({ flags: ['--ws-max-buffered-bytes', String(1 << 20)] });
  wsBase = `ws://127.0.0.1:${server.port}/_do`;
  await server.deploy(fixture('ws_probe.js'));
  await server.deploy(path.join(EXAMPLES_DIR, 'chat-room.ts'));
  await server.deploy(path.join(EXAMPLES_DIR, 'accept-chat-room.ts'), { name: 'accept-chat-room' });
  await server.deploy(path.join(EXAMPLES_DIR, 'hibernating-chat-room.ts'), { name: 'hibernating-chat-room' });
});

after(async () => {
  await server?.stop();
});

async function openMany(url, n) {
  return Promise.all(Array.from({ length: n }, (_, i) => WsClient.open(`${url}${url.includes('?') ? '&' : '?'}i=${i}`)));
}

async function events(id) {
  return server.json(`/_do/ws-probe/${id}/events`);
}

test("Butterbase's ChatRoom: init bootstrap, WebSocket and POST broadcast to 20 clients", async () => {
  const posted = await server.json('/_do/chat-room/bb/', { method: 'POST', body: { text: 'before' } });
  assert.deepEqual(posted, { ok: true });
  const clients = await openMany(`${wsBase}/chat-room/bb`, 20);
  for (const c of clients) {
    const init = JSON.parse(await c.next(undefined, { what: 'the init message' }));
    assert.deepEqual(init, { type: 'init', messages: [{ text: 'before' }] });
  }
  await clients[3].send('hello from three');
  for (const c of clients) assert.equal(await c.next((d) => d === 'hello from three'), 'hello from three');
  assert.deepEqual(await server.json('/_do/chat-room/bb/', { method: 'POST', body: { text: 'via post' } }), { ok: true });
  for (const c of clients) assert.deepEqual(JSON.parse(await c.next((d) => d.includes('via post'))), { text: 'via post' });
  // Binary messages are ignored by this room (it guards before treating them as text).
  await clients[0].send(Buffer.from([1, 2, 3]));
  await clients[0].send('after binary');
  assert.equal(await clients[7].next((d) => d === 'after binary'), 'after binary');
  assert.deepEqual(await server.json('/_do/chat-room/bb/'), [{ text: 'before' }, { text: 'via post' }]);
  for (const c of clients) c.ws.close(1000);
  await Promise.all(clients.map((c) => c.waitClosed()));
});

test("the community skill's accept() ChatRoom relays to the 19 other members", async () => {
  const clients = await openMany(`${wsBase}/accept-chat-room/ac`, 20);
  await clients[5].send('from five');
  for (const [i, c] of clients.entries()) {
    if (i !== 5) assert.equal(await c.next((d) => d === 'from five'), 'from five');
  }
  // The sender does not get its own message: a later message from another member is the next
  // thing it receives.
  await clients[6].send('from six');
  assert.equal(await clients[5].next(), 'from six');
  const res = await server.request('/_do/accept-chat-room/ac/');
  assert.equal(res.status, 400);
  assert.equal(res.text, 'Expected WebSocket');
  for (const c of clients) c.ws.close(1000);
  await Promise.all(clients.map((c) => c.waitClosed()));
});

test("Cloudflare's hibernating ChatRoom accepts 20 clients and answers their Close", async () => {
  const clients = await openMany(`${wsBase}/hibernating-chat-room/hc?userId=u1&username=ann`, 20);
  for (const c of clients) await c.send('hi');
  // Its webSocketClose closes with the client's code.
  clients.forEach((c, i) => c.ws.close(4000 + i, 'leaving'));
  const closes = await Promise.all(clients.map((c) => c.waitClosed()));
  closes.forEach((info, i) => assert.equal(info.code, 4000 + i));
});

test('an answer other than 101 to an upgrade is sent as a normal HTTP response', async () => {
  const err = await WsClient.open(`${wsBase}/ws-probe/plain/reject`).then(
    () => assert.fail('the upgrade should have been refused'),
    (e) => e,
  );
  assert.equal(err.status, 403);
  assert.equal(err.body, 'no sockets here');
  assert.equal(err.headers['x-probe'], 'rejected');
  // An unknown class is the server's JSON 404, and the server keeps serving upgrades.
  const missing = await WsClient.open(`${wsBase}/no-such-class/x`).then(() => null, (e) => e);
  assert.equal(missing.status, 404);
  assert.equal(typeof JSON.parse(missing.body).error, 'string');
  const ok = await WsClient.open(`${wsBase}/ws-probe/plain?name=after`);
  assert.equal(await ok.ask('echo:still fine', 'echo:'), 'echo:still fine');
  ok.ws.close();
  await ok.waitClosed();
});

test('subprotocol negotiation through the Sec-WebSocket-Protocol response header', async () => {
  const chosen = await WsClient.open(`${wsBase}/ws-probe/proto?name=p`, { protocols: ['chat.v0', 'pick.v2', 'pick.v1'] });
  assert.equal(chosen.protocol, 'pick.v2');
  const info = await chosen.askJson('info');
  assert.equal(info.sockets.find((s) => s.self).protocol, 'pick.v2');
  chosen.ws.close();
  await chosen.waitClosed();
  const none = await WsClient.open(`${wsBase}/ws-probe/proto?name=q`);
  assert.equal(none.protocol, '');
  none.ws.close();
  await none.waitClosed();
});

test('close codes and reasons both ways; ping answered with pong', async () => {
  const id = 'closes';
  const a = await WsClient.open(`${wsBase}/ws-probe/${id}?name=a`);
  a.ws.ping('are you there');
  await waitFor(() => a.pongs.length > 0, { what: 'a pong' });
  assert.equal(a.pongs[0].toString(), 'are you there');
  a.ws.close(4001, 'client says bye');
  // The handler does not close: once it has settled, the server's Close echoes the code and the
  // reason (RFC 6455 §5.5.1). In the handler the socket is CLOSING, as on workerd.
  assert.deepEqual(await a.waitClosed(), { code: 4001, reason: 'client says bye' });
  const seen = await waitFor(async () => (await events(id)).find((e) => e.name === 'a' && e.kind === 'close'), { what: 'webSocketClose' });
  assert.deepEqual(seen, { kind: 'close', name: 'a', tags: [], code: 4001, reason: 'client says bye', wasClean: true, readyState: 2 });

  const b = await WsClient.open(`${wsBase}/ws-probe/${id}?name=b`);
  const c = await WsClient.open(`${wsBase}/ws-probe/${id}?name=c`);
  assert.deepEqual(
    await server.json(`/_do/ws-probe/${id}/close?code=4002&reason=${encodeURIComponent('server says bye')}`, { method: 'POST' }),
    { closed: 2 },
  );
  assert.deepEqual(await b.waitClosed(), { code: 4002, reason: 'server says bye' });
  assert.deepEqual(await c.waitClosed(), { code: 4002, reason: 'server says bye' });
});

test('fragmented messages and continuation frames are reassembled; control frames between them', async () => {
  const raw = await RawWs.open(server.port, '/_do/ws-probe/frag?name=f');
  raw.write(frame({ opcode: 1, fin: false, payload: 'echo:hel' }));
  raw.write(frame({ opcode: 9, payload: 'mid-ping' }));
  raw.write(frame({ opcode: 0, fin: false, payload: 'lo, ' }));
  raw.write(frame({ opcode: 0, fin: true, payload: Buffer.from('wörld', 'utf8') }));
  const pong = await raw.nextFrame((f) => f.opcode === 10, 'the pong');
  assert.equal(pong.payload.toString(), 'mid-ping');
  const text = await raw.nextFrame((f) => f.opcode === 1, 'the echo');
  assert.equal(text.payload.toString('utf8'), 'echo:hello, wörld');
  // A multi-byte character split across two fragments is still valid UTF-8.
  const euro = Buffer.from('echo:€', 'utf8');
  raw.write(frame({ opcode: 1, fin: false, payload: euro.subarray(0, euro.length - 1) }));
  raw.write(frame({ opcode: 0, fin: true, payload: euro.subarray(euro.length - 1) }));
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the euro echo')).payload.toString('utf8'), 'echo:€');
  // Binary, fragmented, echoed as binary.
  raw.write(frame({ opcode: 2, fin: false, payload: Buffer.from([0, 1, 2]) }));
  raw.write(frame({ opcode: 0, fin: true, payload: Buffer.from([255, 254]) }));
  const bin = await raw.nextFrame((f) => f.opcode === 2, 'the binary echo');
  assert.deepEqual([...bin.payload], [0, 1, 2, 255, 254]);
  raw.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
  assert.equal((await raw.nextClose()).code, 1000);
  raw.destroy();
});

// Between messages a connection waits for its socket rather than keeping a read pending, but only
// once it has read every byte that arrived: frames that came together in one write are all read
// first, however they end.
test('frames arriving together in one write, or a byte at a time after a pause, are all read', async () => {
  const raw = await RawWs.open(server.port, '/_do/ws-probe/together?name=t');
  raw.write(Buffer.concat([
    frame({ opcode: 1, payload: 'echo:one' }),
    frame({ opcode: 1, payload: 'echo:two' }),
    frame({ opcode: 9, payload: 'after two' }),
  ]));
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the first echo')).payload.toString(), 'echo:one');
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the second echo')).payload.toString(), 'echo:two');
  assert.equal((await raw.nextFrame((f) => f.opcode === 10, 'the pong')).payload.toString(), 'after two');
  await sleep(200);
  for (const byte of frame({ opcode: 1, payload: 'echo:slowly' })) {
    raw.write(Buffer.from([byte]));
    await sleep(5);
  }
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the slow echo')).payload.toString(), 'echo:slowly');
  raw.write(Buffer.concat([frame({ opcode: 1, payload: 'echo:last' }), frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) })]));
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the last echo')).payload.toString(), 'echo:last');
  assert.equal((await raw.nextClose()).code, 1000);
  raw.destroy();
});

// An idle connection answers a Ping that arrives alone itself and goes back to waiting for its
// socket (Beast's read would stay pending until the next message); anything else is Beast's to read.
test('pings on an idle connection are answered: alone, in two parts, or with a message behind', async () => {
  const raw = await RawWs.open(server.port, '/_do/ws-probe/idle-ping?name=p');
  for (const payload of ['first', '', 'x'.repeat(125), 'again']) {
    await sleep(50);
    raw.write(frame({ opcode: 9, payload }));
    assert.equal((await raw.nextFrame((f) => f.opcode === 10, 'a pong')).payload.toString(), payload);
  }
  raw.write(frame({ opcode: 1, payload: 'echo:after pings' }));
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the echo')).payload.toString(), 'echo:after pings');
  const split = frame({ opcode: 9, payload: 'split' });
  raw.write(split.subarray(0, 3));
  await sleep(50);
  raw.write(split.subarray(3));
  assert.equal((await raw.nextFrame((f) => f.opcode === 10, 'the split pong')).payload.toString(), 'split');
  await sleep(50);
  raw.write(Buffer.concat([frame({ opcode: 9, payload: 'with' }), frame({ opcode: 1, payload: 'echo:behind' })]));
  assert.equal((await raw.nextFrame((f) => f.opcode === 10, 'the pong')).payload.toString(), 'with');
  assert.equal((await raw.nextFrame((f) => f.opcode === 1, 'the echo behind')).payload.toString(), 'echo:behind');
  await sleep(50);
  raw.write(frame({ opcode: 9, payload: 'last' }));
  assert.equal((await raw.nextFrame((f) => f.opcode === 10, 'the last pong')).payload.toString(), 'last');
  raw.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
  assert.equal((await raw.nextClose()).code, 1000);
  assert.equal(raw.frames.filter((f) => f.opcode === 10).length, 0, 'one pong per ping');
  raw.destroy();
});

// The server writes a connection's messages in batches, bypassing Beast's writes; Beast's own
// pongs and Close frames must wait for the batch under way rather than land inside it.
for (const kind of ['ping', 'Close']) {
  test(`a ${kind} arriving while a 16 MiB message is being written is answered after it, never inside it`, async () => {
    const raw = await RawWs.open(server.port, `/_do/ws-probe/interleave-${kind}?name=i`);
    const payload = Buffer.alloc(16 << 20);
    for (let i = 0; i < payload.length; i += 4096) payload[i] = (i / 4096) & 0xff;
    raw.write(frame({ opcode: 2, payload }));
    // Once the echo starts arriving, stop reading: more of it is left than loopback's buffers
    // hold, so the server's write stalls part-way.
    await raw.waitFor(() => (raw.buffer.length > 0 ? true : null), 'the start of the echo', 60000);
    raw.socket.pause();
    await sleep(300);
    raw.write(kind === 'ping' ? frame({ opcode: 9, payload: 'during' }) : frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
    await sleep(300);
    raw.socket.resume();
    const echo = await raw.nextFrame(() => true, 'the echo', 60000);
    assert.equal(echo.opcode, 2);
    assert.ok(echo.payload.equals(payload), 'the echo arrived whole');
    const answer = await raw.nextFrame(() => true, `the answer to the ${kind}`);
    if (kind === 'ping') {
      assert.equal(answer.opcode, 10);
      assert.equal(answer.payload.toString(), 'during');
      raw.write(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
      assert.equal((await raw.nextClose()).code, 1000);
    } else {
      assert.equal(answer.opcode, 8);
      assert.equal(answer.code, 1000);
      await raw.waitEnded();
      assert.equal(raw.frames.length, 0, 'nothing after the Close');
    }
    raw.destroy();
  });
}

// Each violation: what to write after the handshake, the close code expected.
const violations = [
  ['an unmasked client frame', () => frame({ opcode: 1, payload: 'echo:x', mask: false }), 1002],
  ['a reserved data opcode', () => frame({ opcode: 3, payload: 'x' }), 1002],
  ['a reserved control opcode', () => frame({ opcode: 0xb, payload: 'x' }), 1002],
  ['RSV1 set without an extension', () => frame({ opcode: 1, payload: 'echo:x', rsv: 4 }), 1002],
  ['a continuation with nothing to continue', () => frame({ opcode: 0, payload: 'x' }), 1002],
  ['a fragmented control frame', () => frame({ opcode: 9, fin: false, payload: 'x' }), 1002],
  // An idle connection answers a Ping that arrives alone itself; an invalid one is still refused.
  ['an unmasked ping', () => frame({ opcode: 9, payload: 'x', mask: false }), 1002],
  ['a ping with RSV1 set', () => frame({ opcode: 9, payload: 'x', rsv: 4 }), 1002],
  ['a ping longer than 125 bytes', () => frame({ opcode: 9, payload: Buffer.alloc(126) }), 1002],
  ['invalid UTF-8 in a text message', () => frame({ opcode: 1, payload: Buffer.from([0x65, 0xff, 0xfe]) }), 1007],
  ['invalid UTF-8 across fragments', () => Buffer.concat([
    frame({ opcode: 1, fin: false, payload: Buffer.from([0x61, 0xe2, 0x82]) }),
    frame({ opcode: 0, payload: Buffer.from([0x41]) }),
  ]), 1007],
  // The last character's end never comes: the final fragment is empty.
  ['UTF-8 cut off by an empty last fragment', () => Buffer.concat([
    frame({ opcode: 1, fin: false, payload: Buffer.from('Hello \xe2\x9c', 'latin1') }),
    frame({ opcode: 0, payload: Buffer.alloc(0) }),
  ]), 1007],
  ['a frame header claiming more than 32 MiB', () => frame({ opcode: 2, payload: Buffer.alloc(16), length: (32 << 20) + 1 }), 1009],
  ['fragments adding up to more than 32 MiB', () => Buffer.concat([
    frame({ opcode: 2, fin: false, payload: Buffer.alloc(16), length: 16 }),
    frame({ opcode: 0, payload: Buffer.alloc(16), length: 32 << 20 }),
  ]), 1009],
];

for (const [what, make, code] of violations) {
  test(`protocol error: ${what} → close ${code}, the object's error and close handlers are told`, async () => {
    const id = 'violations';
    const name = what.replace(/\W+/g, '-');
    const raw = await RawWs.open(server.port, `/_do/ws-probe/${id}?name=${name}`);
    raw.write(make());
    const close = await raw.nextClose();
    assert.equal(close.code, code, `close frame ${JSON.stringify(close.reason)}`);
    await raw.waitEnded();
    raw.destroy();
    const mine = await waitFor(async () => {
      const list = (await events(id)).filter((e) => e.name === name);
      return list.some((e) => e.kind === 'close') ? list : null;
    }, { what: 'the object hearing of the error' });
    assert.ok(mine.some((e) => e.kind === 'error' && e.message.length > 0), JSON.stringify(mine));
    const closeEvent = mine.find((e) => e.kind === 'close');
    assert.equal(closeEvent.code, code);
    assert.equal(closeEvent.wasClean, false);
  });
}

test('a message of exactly 32 MiB is accepted', async () => {
  const c = await WsClient.open(`${wsBase}/ws-probe/big?name=big`);
  const payload = Buffer.alloc(32 << 20, 7);
  await c.send(payload);
  const back = await c.next((d, m) => m.binary, { timeoutMs: 60000, what: 'the 32 MiB echo' });
  assert.equal(back.length, 32 << 20);
  assert.ok(back.equals(payload));
  c.ws.close();
  await c.waitClosed();
});

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

test('a client that stops reading is closed with 1013 past --ws-max-buffered-bytes; a reader is not', async () => {
  const id = 'slow';
  const reader = await WsClient.open(`${wsBase}/ws-probe/${id}?name=reader`);
  const stalled = await WsClient.open(`${wsBase}/ws-probe/${id}?name=stalled`);
  stalled.ws.pause();
  const before = rssBytes(server.runtimePid());
  // The reader reports its progress, which paces the flood: on a loaded machine a reader starved of
  // CPU would otherwise fall behind too.
  reader.ws.on('message', () => {
    if (reader.messages.length % 4 === 0) reader.ws.send(`received:${reader.messages.length}`);
  });
  const flooding = server.json(`/_do/ws-probe/${id}/flood?mb=64&paced`, { method: 'POST', timeoutMs: 120000 });
  const closeEvent = await waitFor(async () => (await events(id)).find((e) => e.kind === 'close'), {
    timeoutMs: 60000, what: 'webSocketClose of the stalled client',
  });
  assert.equal(closeEvent.name, 'stalled');
  assert.ok([1008, 1013].includes(closeEvent.code), JSON.stringify(closeEvent));
  assert.equal(closeEvent.wasClean, false);
  // Once it reads again, it gets what the kernel held, then the Close.
  stalled.ws.resume();
  const info = await stalled.waitClosed(30000);
  assert.ok([1008, 1013].includes(info.code), JSON.stringify(info));
  const flood = await flooding;
  // The reader got all 64 MiB (1024 messages); the stalled client far fewer than that.
  assert.ok(flood.sent >= 1024 && flood.sent < 2048, JSON.stringify(flood));
  await waitFor(() => reader.messages.length >= 1024, { timeoutMs: 60000, what: 'the reader receiving the flood' });
  await allocatorSettled();
  const growth = rssBytes(server.runtimePid()) - before;
  assert.ok(growth < 48 << 20, `server memory grew by ${growth} bytes while flooding`);
  assert.equal(reader.closeInfo, null);
  assert.equal(reader.messages.length, 1024);
  reader.ws.close();
  await reader.waitClosed();
});

test("the JavaScript API's errors are Cloudflare's", async () => {
  const r = await server.json('/_do/ws-probe/api/api-errors');
  const typeError = (message) => ({ ok: false, name: 'TypeError', message, isTypeError: true, isRangeError: false });
  const error = (message) => ({ ok: false, name: 'Error', message, isTypeError: false, isRangeError: false });
  const rangeError = (message) => ({ ok: false, name: 'RangeError', message, isTypeError: false, isRangeError: true });
  assert.deepEqual(r.acceptTwice, typeError(
    'Cannot call `acceptWebSocket()` on this WebSocket because its pair has already been accepted or used in a Response.'));
  assert.deepEqual(r.acceptAfterAccept, typeError('Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`'));
  assert.deepEqual(r.acceptAfterAcceptWebSocket, typeError("Can't call accept() on a WebSocket that was accepted with state.acceptWebSocket()."));
  assert.deepEqual(r.elevenTags, error('a Hibernatable WebSocket cannot have more than 10 tags'));
  assert.deepEqual(r.elevenWithDuplicate, error('a Hibernatable WebSocket cannot have more than 10 tags'));
  assert.deepEqual(r.tenTagsWithDuplicates, { ok: true });
  assert.deepEqual(r.tenTagsWithDuplicatesTags, ['a', 'b', 'c']);
  assert.deepEqual(r.longTag, error(`"${'y'.repeat(257)}" is longer than the max tag length (256 characters).`));
  assert.deepEqual(r.maxTag, { ok: true });
  assert.equal(r.bigAttachment.name, 'Error');
  assert.match(r.bigAttachment.message, /^A WebSocket 'attachment' cannot be larger than 16384 bytes\.'attachment' was (\d+) bytes\.$/);
  assert.ok(Number(/was (\d+) bytes/.exec(r.bigAttachment.message)[1]) > 17000);
  assert.deepEqual(r.fittingAttachment, { ok: true });
  assert.equal(r.fittingAttachmentBack, 16000);
  assert.equal(r.uncloneableAttachment.name, 'DataCloneError');
  assert.deepEqual(r.sendAfterClose, typeError("Can't call WebSocket send() after close()."));
  assert.deepEqual(r.sendBeforeAccept, typeError(
    'You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.'));
  assert.equal(r.badCloseCode.name, 'TypeError');
  assert.equal(r.reasonWithoutCode.name, 'TypeError');
  assert.deepEqual(r.tagsOfStandard, typeError('only hibernatable websockets can have tags.'));
  assert.deepEqual(r.tagsOfUnaccepted, typeError(
    "you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket."));
  assert.deepEqual(r.bigAutoRequest, rangeError('Request cannot be larger than 2048 bytes. A request of size 2049 was provided.'));
  assert.deepEqual(r.bigAutoResponse, rangeError('Response cannot be larger than 2048 bytes. A response of size 2049 was provided.'));
  assert.deepEqual(r.longEventTimeout, error('Event timeout should not exceed 604800000 ms.'));
  assert.deepEqual(r.maxEventTimeout, { ok: true });
  assert.equal(r.maxEventTimeoutBack, 604800000);
  assert.equal(r.unsetEventTimeoutBack, null);
  // workerd: only ws: and wss: (outbound sockets: tests/e2e/outbound_websocket.test.mjs).
  assert.deepEqual([r.outgoingSocket.name, r.outgoingSocket.message],
    ['SyntaxError', 'WebSocket Constructor: The url scheme must be ws or wss.']);
  assert.deepEqual(r.pairShape, { length: 2, sameAsIndex: true });
});
