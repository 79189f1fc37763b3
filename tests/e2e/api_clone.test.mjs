// Structured clone of the Web API classes that workerd refuses to serialize: every instance is
// refused, by structuredClone(), storage.put() and RPC (argument or result) alike, with workerd's
// DataCloneError, however deep in a value it is, and nothing is stored. The expected messages were
// recorded from workerd with the fixture fixtures/host_objects/api_clone.js (tests/diff/run.mjs
// compares structuredClone and storage with workerd, scenario api_clone_refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('host_objects/api_clone.js'));
});

after(async () => {
  await server?.stop();
});

// What workerd threw for each, the same by every path (name: message).
const EXPECTED = {
  URLPattern: 'DataCloneError: Could not serialize object of type "URLPattern". This type does not support serialization.',
  FormData: 'DataCloneError: Could not serialize object of type "FormData". This type does not support serialization.',
  TextEncoder: 'DataCloneError: Could not serialize object of type "TextEncoder". This type does not support serialization.',
  TextDecoder: 'DataCloneError: Could not serialize object of type "TextDecoder". This type does not support serialization.',
  AbortController: 'DataCloneError: Could not serialize object of type "AbortController". This type does not support serialization.',
  AbortSignal: 'DataCloneError: AbortSignal serialization is not enabled.',
  Event: 'DataCloneError: Could not serialize object of type "Event". This type does not support serialization.',
  CustomEvent: 'DataCloneError: Could not serialize object of type "CustomEvent". This type does not support serialization.',
  EventTarget: 'DataCloneError: Could not serialize object of type "EventTarget". This type does not support serialization.',
  UserEventTarget: 'DataCloneError: Could not serialize object of type "Mine". This type does not support serialization.',
  MessagePort: 'DataCloneError: Could not serialize object of type "MessagePort". This type does not support serialization.',
  WebSocket: 'DataCloneError: Could not serialize object of type "WebSocket". This type does not support serialization.',
  TransformStream: 'DataCloneError: Could not serialize object of type "TransformStream". This type does not support serialization.',
  TextEncoderStream: 'DataCloneError: Could not serialize object of type "TextEncoderStream". This type does not support serialization.',
  FixedLengthStream: 'DataCloneError: Could not serialize object of type "FixedLengthStream". This type does not support serialization.',
  ReadableStreamDefaultReader: 'DataCloneError: Could not serialize object of type "ReadableStreamDefaultReader". This type does not support serialization.',
  Crypto: 'DataCloneError: Could not serialize object of type "Crypto". This type does not support serialization.',
  SubtleCrypto: 'DataCloneError: Could not serialize object of type "SubtleCrypto". This type does not support serialization.',
  Navigator: 'DataCloneError: Could not serialize object of type "Navigator". This type does not support serialization.',
  Performance: 'DataCloneError: Could not serialize object of type "Performance". This type does not support serialization.',
  Cache: 'DataCloneError: Could not serialize object of type "Cache". This type does not support serialization.',
  HTMLRewriter: 'DataCloneError: Could not serialize object of type "HTMLRewriter". This type does not support serialization.',
  Nested: 'DataCloneError: Could not serialize object of type "TextEncoder". This type does not support serialization.',
};

test('instances of the refused Web API classes are refused by every path, with workerd\'s messages', async () => {
  const res = await server.request('/_do/api-clone/probe/refusals');
  assert.equal(res.status, 200, res.text);
  const answer = res.json();
  for (const [name, message] of Object.entries(EXPECTED)) {
    assert.deepEqual(answer[name], { clone: message, put: message, arg: message, result: message }, name);
  }
  assert.deepEqual(answer.stored, []);
  // A WritableStream goes over RPC (tests/e2e/rpc_streams.test.mjs), and nowhere else.
  const writable = 'DataCloneError: WritableStream can only be serialized for RPC.';
  assert.deepEqual(answer.WritableStream, { clone: writable, put: writable, arg: 'ok', result: 'ok' });
});

test('instances sharing a prototype are refused by the name of the constructor called, and share no properties', async () => {
  const res = await server.request('/_do/api-clone/probe/shared-prototype');
  assert.equal(res.status, 200, res.text);
  const refused = (name) =>
    `DataCloneError: Could not serialize object of type "${name}". This type does not support serialization.`;
  assert.deepEqual(res.json(), {
    first: refused('First'), second: refused('Second'), third: refused('First'), thirdKeys: [],
    sameProto: true, headers: [['b', '2']], headersKeys: [],
  });
});

test('the refused classes behave as before: listeners, abort, encoding, form entries, prototypes', async () => {
  const res = await server.request('/_do/api-clone/probe/still-usable');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    heard: 1, aborted: true, reason: 'why', encoded: [104, 195, 169], decoded: 'hé', form: [['a', 'b']],
    eventProto: true, targetProto: true, subclass: true, tag: '[object TextEncoder]',
  });
});
