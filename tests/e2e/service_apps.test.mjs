// Service bindings to another app's Worker: refused until the target app allows the caller
// (`dorm service-callers`), then fetch() and JavaScript RPC reach the target's Worker in its own
// isolate and env; functions, RpcTargets and stubs never cross between apps.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, makeTempDir, describeCli } from './lib/dorm.mjs';

let server;

function project(files) {
  const dir = makeTempDir('service-apps');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const auth = project({
  'wrangler.json': JSON.stringify({
    name: 'auth-svc', main: 'index.js', compatibility_date: '2025-01-01', vars: { WHO: 'auth' },
  }),
  'index.js': `
import { WorkerEntrypoint } from 'cloudflare:workers';
export default class Auth extends WorkerEntrypoint {
  fetch(request) {
    return new Response('auth saw ' + new URL(request.url).pathname + ' from ' + request.headers.get('x-from'));
  }
  check(token) { return { ok: token === 'good', who: this.env.WHO }; }
  withCallback(fn) { return 'the callback arrived'; }
  giveFunction() { return () => 1; }
  fail() { throw new RangeError('denied'); }
}
`,
});

const shop = project({
  'wrangler.json': JSON.stringify({
    name: 'shop-svc', main: 'index.js', compatibility_date: '2025-01-01', vars: { WHO: 'shop' },
    services: [{ binding: 'AUTH', service: 'auth-svc' }],
  }),
  'index.js': `
export default {
  async fetch(request, env) {
    const route = new URL(request.url).pathname;
    try {
      if (route === '/rpc') return Response.json(await env.AUTH.check('good'));
      if (route === '/fetch') {
        const res = await env.AUTH.fetch('http://auth/hello', { headers: { 'x-from': 'shop' } });
        return new Response(await res.text());
      }
      if (route === '/pass-function') return Response.json(await env.AUTH.withCallback(() => 1));
      if (route === '/get-function') return Response.json(typeof (await env.AUTH.giveFunction()));
      if (route === '/throw') await env.AUTH.fail();
    } catch (error) {
      return Response.json({ error: error.name + ': ' + error.message, remote: error.remote ?? null });
    }
    return new Response('no route', { status: 404 });
  },
};
`,
});

async function shopGet(route) {
  const res = await server.request(route, { headers: { host: `shop-svc.localhost:${server.port}` } });
  assert.equal(res.status, 200, res.text);
  return res.text;
}

async function cli(args, ok = true) {
  const result = await server.cli(args);
  assert.equal(result.code === 0, ok, describeCli(result));
  return result;
}

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

test('a binding to another app answers only once that app allows the caller', async () => {
  // The target need not exist at deploy: two apps may bind each other.
  await cli(['deploy', shop, '--strict']);
  assert.deepEqual(JSON.parse(await shopGet('/rpc')),
    { error: "Error: The Worker of app 'auth-svc' is not deployed.", remote: null });
  await cli(['deploy', auth]);
  const refused = {
    error: "Error: App 'auth-svc' does not accept service binding calls from app 'shop-svc'.", remote: null,
  };
  assert.deepEqual(JSON.parse(await shopGet('/rpc')), refused);
  assert.deepEqual(JSON.parse(await shopGet('/fetch')), refused);

  const allowed = await cli(['service-callers', 'allow', 'shop-svc', '--app', 'auth-svc']);
  assert.match(allowed.stdout, /allowed app 'shop-svc' to call app 'auth-svc'/);
  assert.equal((await cli(['service-callers', 'list', '--app', 'auth-svc'])).stdout, 'shop-svc\n');
  // The target's Worker runs with its own env.
  assert.deepEqual(JSON.parse(await shopGet('/rpc')), { ok: true, who: 'auth' });
  assert.equal(await shopGet('/fetch'), 'auth saw /hello from shop');
  // A thrown error crosses with its class and message, as within an app.
  assert.deepEqual(JSON.parse(await shopGet('/throw')), { error: 'RangeError: denied', remote: true });

  await cli(['service-callers', 'revoke', 'shop-svc', '--app', 'auth-svc']);
  assert.deepEqual(JSON.parse(await shopGet('/rpc')), refused);
  await cli(['service-callers', 'revoke', 'shop-svc', '--app', 'auth-svc'], false);
  assert.equal((await cli(['service-callers', 'list', '--app', 'auth-svc'])).stdout,
    "no other app may call app 'auth-svc'\n");
});

test('functions, RpcTargets and stubs do not cross between apps', async () => {
  await cli(['service-callers', 'allow', 'shop-svc', '--app', 'auth-svc']);
  const message = "Error: Functions, RpcTargets and Durable Object stubs cannot be passed to or from another app's Worker.";
  assert.deepEqual(JSON.parse(await shopGet('/pass-function')), { error: message, remote: null });
  assert.deepEqual(JSON.parse(await shopGet('/get-function')), { error: message, remote: null });
});

test('the admin API refuses an app allowing itself and invalid names', async () => {
  const admin = (method, p) => server.request(`/_admin/v1/apps/${p}`, {
    method, headers: { authorization: `Bearer ${server.adminToken()}` },
  });
  assert.equal((await admin('PUT', 'auth-svc/service-callers/auth-svc')).status, 400);
  assert.equal((await admin('PUT', 'auth-svc/service-callers/Not_Valid')).status, 400);
  const again = await admin('PUT', 'auth-svc/service-callers/shop-svc');
  assert.equal(again.status, 200);
  const listed = await admin('GET', 'auth-svc/service-callers');
  assert.deepEqual(listed.json(), { app: 'auth-svc', callers: ['shop-svc'] });
});

test('the admin endpoints that decode the app from the path refuse the same names alike', async () => {
  const get = (p) => server.request(`/_admin/v1/apps/${p}`, {
    headers: { authorization: `Bearer ${server.adminToken()}` },
  });
  // Percent-decoded first (a malformed escape is named as it came), then checked.
  for (const [segment, named] of [['Not_Valid', 'Not_Valid'], ['a%20b', 'a b'], ['%zz', '%zz']]) {
    for (const rest of ['env', 'service-callers', 'transfers', 'classes/counter/objects']) {
      const res = await get(`${segment}/${rest}`);
      assert.equal(res.status, 400, `${segment}/${rest}`);
      assert.deepEqual(res.json(), { error: `Invalid app name '${named}'.` }, `${segment}/${rest}`);
    }
  }
  // The caller named in the path is an app name too.
  const caller = await get('auth-svc/service-callers/Not_Valid');
  assert.deepEqual(caller.json(), { error: "Invalid app name 'Not_Valid'." });
  const decoded = await get('auth%2Dsvc/service-callers');
  assert.equal(decoded.status, 200);
  assert.equal(decoded.json().app, 'auth-svc');
});
