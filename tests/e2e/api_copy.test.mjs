// Structured clone of the Web API objects that workerd copies by their contents (Headers, Request
// and Response without a body, DOMException) and of those it refuses that Dorm's libraries make
// (URL, URLSearchParams, the queuing strategies): structuredClone(), storage.put() then get(), and
// RPC (argument and result). fixtures/host_objects/api_copy_workerd.json holds workerd's answers to
// the same fixture (fixtures/host_objects/api_copy.js), recorded with `workerd serve`;
// tests/diff/run.mjs compares structuredClone and storage with workerd (scenario api_clone_copied).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, fixture } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
  await server.deploy(fixture('host_objects/api_copy.js'));
});

after(async () => {
  await server?.stop();
});

const workerd = JSON.parse(fs.readFileSync(fixture('host_objects/api_copy_workerd.json'), 'utf8'));

test('Headers, Request, Response and DOMException are copied, and URL and the strategies refused, as on workerd', async () => {
  const res = await server.request('/_do/api-copy/probe/');
  assert.equal(res.status, 200, res.text);
  const answer = res.json();
  assert.deepEqual(answer, workerd);
});

test('a copied value stored by put() reads back after the object is evicted and the server restarts', async () => {
  let res = await server.request('/_do/api-copy/keeper/', { method: 'POST' });
  assert.equal(res.status, 200, res.text);
  await server.stop();
  server = await server.restart();
  res = await server.request('/_do/api-copy/keeper/read');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json(), {
    headers: [['a', '1'], ['b', '2']],
    request: ['PUT', 'https://example.com/k', [['h', 'v']], 'manual'],
    response: [201, 'Made', [['r', 's']]],
    exception: ['QuotaExceededError', 'full', 22, true],
  });
});
