// Structured clone of the API classes that workerd implements natively: a Blob is copied by
// storage (and read back after a restart) and by RPC between objects; a File and a CryptoKey are
// refused with workerd's DataCloneError, and nothing is stored. (structuredClone itself is
// compared with workerd by tests/diff/run.mjs, scenario host_object_clone.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('host_objects/blobs.js'));
});

after(async () => {
  await server?.stop();
});

const allBytes = [...Array(256).keys()];

test('a Blob kept in storage reads back with its bytes and type, also after a restart', async () => {
  let res = await server.request('/_do/blobs/keeper/put', { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  const expected = {
    one: { type: 'application/octet-stream', size: 256, bytes: allBytes, isFile: false },
    first: { type: 'application/octet-stream', size: 256, bytes: allBytes, isFile: false },
    shared: true,
    sliced: { type: 'a/b', size: 6, bytes: [250, 251, 252, 253, 254, 255], isFile: false },
  };
  res = await server.request('/_do/blobs/keeper/get');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), expected);
  await server.stop();
  server = await server.restart();
  res = await server.request('/_do/blobs/keeper/get');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), expected);
});

test('a File or a CryptoKey is refused by storage with a DataCloneError, and nothing is stored', async () => {
  const res = await server.request('/_do/blobs/refuser/refused');
  assert.equal(res.status, 200, res.text);
  const message = (type) =>
    `Could not serialize object of type "${type}". This type does not support serialization.`;
  assert.deepEqual(res.json(), {
    putFile: { name: 'DataCloneError', message: message('File'), isDOMException: true },
    putKey: { name: 'DataCloneError', message: message('CryptoKey'), isDOMException: true },
    keys: [],
  });
});

test('Blobs travel by RPC both ways; a File argument fails the call', async () => {
  for (const caller of ['rpc-a', 'rpc-b', 'rpc-c']) {
    const res = await server.request(`/_do/blobs/${caller}/rpc`);
    assert.equal(res.status, 200, res.text);
    const enc = (s) => [...Buffer.from(s)];
    assert.deepEqual(res.json(), {
      value: { type: 'text/plain', size: 9, bytes: enc('to callee'), isFile: false },
      own: { type: 'text/x-callee', size: 11, bytes: enc('from callee'), isFile: false },
      file: {
        name: 'DataCloneError',
        message: 'Could not serialize object of type "File". This type does not support serialization.',
        isDOMException: true,
      },
    });
  }
});
