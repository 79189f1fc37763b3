// What user code sees of the streams' internals: nothing in Object.keys(), JSON or spreading, and
// structuredClone() refuses streams, readers, writers, controllers and async iterators by their
// class wherever they are in a value (behind a getter, in a Map or a Set, a user's subclass), as
// workerd does. The expected values were recorded from workerd with fixtures/stream_state.js.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer();
  await server.deploy(fixture('stream_state.js'), { name: 'stream-state' });
});

after(async () => {
  await server?.stop();
});

const refused = (name) => `DOMException/DataCloneError: Could not serialize object of type "${name}". This type does not support serialization.`;
const rpcOnly = 'DOMException/DataCloneError: ReadableStream can only be serialized for RPC.';

test('structuredClone() refuses the streams\' objects with workerd\'s messages, wherever they are', async () => {
  assert.deepEqual(await server.json('/_do/stream-state/x/clone'), {
    getter: rpcOnly,
    functionFirst: 'DOMException/DataCloneError: () => 1 could not be cloned.',
    streamFirst: rpcOnly,
    symbolFirst: 'DOMException/DataCloneError: Symbol(x) could not be cloned.',
    reader: refused('ReadableStreamDefaultReader'),
    writer: refused('WritableStreamDefaultWriter'),
    controllerInMap: refused('ReadableStreamDefaultController'),
    inSet: rpcOnly,
    subclass: rpcOnly,
    transformSubclass: refused('MyTransform'),
    byobReader: refused('ReadableStreamBYOBReader'),
    asyncIterator: refused('ReadableStreamAsyncIterator'),
    teeBranch: rpcOnly,
    from: rpcOnly,
  });
});

test('Object.keys(), JSON and spreading show nothing of a stream\'s state, as on workerd', async () => {
  const shape = await server.json('/_do/stream-state/x/shape');
  const kinds = ['readable', 'reader', 'controller', 'writable', 'writer', 'transform', 'iterator', 'body'];
  assert.deepEqual(Object.keys(shape), kinds);
  for (const kind of kinds) {
    // workerd's objects have no own properties at all; Dorm's state is in non-enumerable ones
    // (README "Known differences from workerd").
    assert.deepEqual(shape[kind], { keys: [], json: '{}', spread: [], own: true }, kind);
  }
});
