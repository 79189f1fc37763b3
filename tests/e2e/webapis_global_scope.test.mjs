// The global scope's shape in a Worker, as in an object (webapis_shapes.test.mjs runs the same
// scenario in an object): a ServiceWorkerGlobalScope whose prototypes hold the interfaces and, last,
// an EventTarget prototype of its own; compared with workerd's answers
// (fixtures/webapis_workerd.json, recorded by `node tests/diff/webapis.mjs --workerd-only`). Also:
// code that tampers with the global scope's chain or with the built-ins its operations use does not
// stop them working, nor reaches the EventTarget behind them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, fixture, makeTempDir, describeCli } from './lib/dorm.mjs';

const workerd = JSON.parse(fs.readFileSync(fixture('webapis_workerd.json'), 'utf8')).global_scope;

let server;

before(async () => {
  server = await startServer();
  const dir = makeTempDir('global-scope-worker');
  fs.copyFileSync(fixture('webapis_probe.js'), path.join(dir, 'webapis_probe.js'));
  fs.writeFileSync(path.join(dir, 'wrangler.json'), JSON.stringify({
    name: 'global-scope', main: 'index.js', compatibility_date: '2026-03-01',
  }));
  fs.writeFileSync(path.join(dir, 'index.js'), `
import { WebApisProbe } from './webapis_probe.js';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/tampered') return tampered();
    return new WebApisProbe().fetch(request);
  },
};

// Replaces what the global scope's operations could lean on, then uses them.
async function tampered() {
  const add = addEventListener;
  const dispatch = dispatchEvent;
  const remove = removeEventListener;
  const chain = Object.getPrototypeOf(globalThis);
  const EventClass = Event;
  const realApply = Reflect.apply;
  const seen = [];
  try {
    Reflect.apply = () => { throw new Error('tampered Reflect.apply'); };
    EventTarget.prototype.addEventListener = () => { throw new Error('tampered addEventListener'); };
    Object.setPrototypeOf(globalThis, null);
    const listener = (e) => seen.push([e.type, e.target === globalThis]);
    add('custom', listener);
    seen.push(dispatch(new EventClass('custom')));
    remove('custom', listener);
    seen.push(dispatch(new EventClass('custom')));
    seen.push(typeof globalThis.fetch, typeof globalThis.addEventListener);
  } finally {
    Reflect.apply = realApply;
    Object.setPrototypeOf(globalThis, chain);
  }
  return Response.json({ seen, restored: typeof fetch });
}
`);
  const deployed = await server.cli(['deploy', dir]);
  assert.equal(deployed.code, 0, describeCli(deployed));
});

after(async () => {
  await server?.stop();
});

const host = () => ({ host: `global-scope.localhost:${server.port}` });

test('a Worker\'s global scope has workerd\'s prototype chain, own globals and EventTarget operations', async () => {
  const res = await server.request('/global_scope', { headers: host() });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.text), workerd);
});

test("the global scope's operations keep working when the chain and built-ins are replaced", async () => {
  const res = await server.request('/tampered', { headers: host() });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(JSON.parse(res.text), {
    seen: [['custom', true], true, true, 'undefined', 'undefined'],
    restored: 'function',
  });
});
