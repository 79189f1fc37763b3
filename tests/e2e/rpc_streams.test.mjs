// ReadableStreams (and Requests and Responses, whose bodies are streams) over JavaScript RPC, as
// on workerd: an argument's stream is read by the callee
// as the caller's stream yields it (during the call and after it), a result's stream by the
// caller as the callee's yields it, with backpressure; cancelling the receiving side cancels the
// sender's stream with "Network connection lost.", and whatever fails on the sender's side fails
// the receiver's reads with "ReadableStream received over RPC disconnected prematurely.".
// A WritableStream goes the other way: the callee's writes reach the caller's sink.
// Outside RPC (structuredClone, storage.put) streams are refused with workerd's DataCloneError.
// Expected values were recorded from workerd with the scenarios of fixtures/rpc/caller.js
// (tests/diff/rpc.mjs runs them side by side).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  for (const file of ['target.js', 'plain.js', 'caller.js']) {
    await server.deploy(fixture(`rpc/${file}`));
  }
});

after(async () => {
  await server?.stop();
});

async function scenario(name, caller = 'c1') {
  const res = await server.request(`/_do/caller/${caller}/${name}`);
  assert.equal(res.status, 200, `${name}: ${res.status} ${res.text}`);
  return res.json();
}

const STREAM_TAG = '[object ReadableStream]';
const DISCONNECTED = { name: 'Error', message: 'ReadableStream received over RPC disconnected prematurely.' };

test('a ReadableStream argument is read by the callee, bytes and strings as bytes', async () => {
  assert.deepEqual(await scenario('streamArg'),
    { result: { tag: STREAM_TAG, read: { text: 'hi', uint8: true } } });
  assert.deepEqual(await scenario('streamArgString'),
    { result: { tag: STREAM_TAG, read: { text: 'str', uint8: true } } });
});

test("the sender's failure or a chunk that is not bytes fails the callee's reads with workerd's error", async () => {
  assert.deepEqual(await scenario('streamArgObject'),
    { result: { tag: STREAM_TAG, read: { text: '', uint8: true, error: DISCONNECTED } } });
  assert.deepEqual(await scenario('streamArgError'),
    { result: { tag: STREAM_TAG, read: { text: '', uint8: true, error: DISCONNECTED } } });
});

test("the callee's cancel cancels the caller's stream; an ignored stream is left alone", async () => {
  assert.deepEqual(await scenario('streamArgCancel'),
    { result: { result: true, reason: { name: 'Error', message: 'Network connection lost.' } } });
  assert.deepEqual(await scenario('streamArgIgnored'), { result: { result: 'object', cancelled: false } });
});

test('a stream the callee keeps can be read after the call returned', async () => {
  assert.deepEqual(await scenario('streamArgKept'), { result: { kept: 'kept', read: { text: 'k', uint8: true } } });
});

test('a locked stream cannot be sent', async () => {
  const { error } = await scenario('streamArgLocked');
  assert.equal(error.name, 'TypeError');
  assert.equal(error.message, 'The ReadableStream has been locked to a reader.');
});

test('a ReadableStream in a result is read by the caller', async () => {
  assert.deepEqual(await scenario('streamResult'),
    { result: { tag: STREAM_TAG, read: { text: 'ab', uint8: true } } });
  assert.deepEqual(await scenario('streamResultString'), { result: { text: 'astr', uint8: true } });
  assert.deepEqual(await scenario('streamResultError'), { result: { text: '', uint8: true, error: DISCONNECTED } });
  assert.deepEqual(await scenario('streamResultNested'), { result: { x: 1, read: { text: 'n', uint8: true } } });
});

test('a 4 MiB result stream arrives whole, and an unread one is pulled only so far', async () => {
  assert.deepEqual(await scenario('streamResultBig'), { result: { bytes: 4 << 20, sum: 65536 * 2080 } });
  assert.deepEqual(await scenario('streamResultUnread'),
    { result: { boundedBeforeReading: true, bytes: 40 * 16384, after: 41 } });
});

test('a result stream the caller drops unread is cancelled once it is garbage-collected', async () => {
  assert.deepEqual(await scenario('streamResultDropped'), { result: { cancelled: true } });
});

test('outside RPC, streams are refused with workerd\'s DataCloneError', async () => {
  const refused = (message) => ({ name: 'DataCloneError', message });
  assert.deepEqual(await scenario('streamClone'), {
    result: {
      readable: refused('ReadableStream can only be serialized for RPC.'),
      writable: refused('WritableStream can only be serialized for RPC.'),
      transform: refused('Could not serialize object of type "TransformStream". This type does not support serialization.'),
      nested: refused('ReadableStream can only be serialized for RPC.'),
    },
  });
  assert.deepEqual(await scenario('streamPut'), { result: refused('ReadableStream can only be serialized for RPC.') });
});

test('Requests and Responses go over RPC with their bodies streamed, Headers and DOMExceptions rebuilt', async () => {
  assert.deepEqual(await scenario('requestArg'), {
    result: {
      tag: '[object Request]', url: 'https://x.y/p?q', method: 'POST',
      headers: [['a', 'b'], ['content-type', 'text/plain;charset=UTF-8']], body: 'request body',
    },
  });
  assert.deepEqual(await scenario('requestArgStream'), {
    result: { tag: '[object Request]', url: 'https://x.y/s', method: 'PUT', headers: [], body: 'streamed' },
  });
  assert.deepEqual(await scenario('responseArg'),
    { result: { tag: '[object Response]', status: 202, statusText: 'OK then', body: 'rb' } });
  assert.deepEqual(await scenario('responseResult'), {
    result: {
      tag: '[object Response]', status: 201, statusText: 'Made',
      headers: [['content-type', 'text/plain;charset=UTF-8'], ['x', 'y']], body: 'response body',
    },
  });
  assert.deepEqual(await scenario('headersResult'),
    { result: { tag: '[object Headers]', entries: [['a', 'b'], ['set-cookie', 'c=d']] } });
  assert.deepEqual(await scenario('domExceptionArg'),
    { result: { tag: '[object DOMException]', name: 'SyntaxError', message: 'm', code: 12 } });
});

test("a WritableStream argument: the callee's writes reach the caller's sink as ArrayBuffers, and its close closes it", async () => {
  assert.deepEqual(await scenario('writableArg'),
    { result: { result: 'written', types: ['[object ArrayBuffer]'], text: 'x1x2', end: 'closed' } });
  assert.deepEqual(await scenario('writableArgString'),
    { result: { result: 'written', types: ['[object ArrayBuffer]'], text: 'str', end: 'closed' } });
});
