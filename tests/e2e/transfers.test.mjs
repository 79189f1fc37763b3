// `transferred_classes` migrations: a class of another app moves into a project with its objects
// (same ids from idFromName, same storage, pending alarms), once the app that has it allows the
// transfer with `dorm transfers allow`; without that permission the deploy is refused. The
// permission is used up, the source app no longer has the class, and the transfer is applied once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, makeTempDir, assertCliFailure, describeCli, waitFor } from './lib/dorm.mjs';

let server;

before(async () => {
  server = await startServer({ flags: ['--threads', '2'] });
});

after(async () => {
  await server?.stop();
});

function project(files) {
  const dir = makeTempDir('transfer');
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

// A project whose Worker reaches class `className` through binding ITEMS.
const source = (className) => `
import { DurableObject } from 'cloudflare:workers';
export class ${className} extends DurableObject {
  add(by) { const n = (this.ctx.storage.kv.get('n') ?? 0) + by; this.ctx.storage.kv.put('n', n); return n; }
  idOf() { return this.ctx.id.toString(); }
  async armAlarm(ms) { await this.ctx.storage.setAlarm(Date.now() + ms); return true; }
  async alarm() { this.ctx.storage.kv.put('fired', (this.ctx.storage.kv.get('fired') ?? 0) + 1); }
  fired() { return this.ctx.storage.kv.get('fired') ?? 0; }
}
export class Shelf extends DurableObject { ping() { return 'pong'; } }
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const stub = env.ITEMS.getByName(url.searchParams.get('name') ?? 'a');
    if (url.pathname === '/id') return new Response(await stub.idOf());
    if (url.pathname === '/fromString') {
      const id = env.ITEMS.idFromString(url.searchParams.get('id'));
      return new Response(String(await env.ITEMS.get(id).add(0)));
    }
    if (url.pathname === '/alarm') return new Response(String(await stub.armAlarm(Number(url.searchParams.get('ms')))));
    if (url.pathname === '/fired') return new Response(String(await stub.fired()));
    return new Response(String(await stub.add(Number(url.searchParams.get('by') ?? 1))));
  },
};`;

const config = (name, className, migrations) => JSON.stringify({
  name, main: 'index.js',
  durable_objects: { bindings: [{ name: 'ITEMS', class_name: className }] },
  migrations,
});

test('a transferred class brings its objects, ids and alarms, once the source app allows it', async () => {
  const shopHost = { host: `shop.localhost:${server.port}` };
  const storeHost = { host: `store.localhost:${server.port}` };
  const shop = project({
    'wrangler.jsonc': config('shop', 'Cart', [{ tag: 'v1', new_sqlite_classes: ['Cart'] }]),
    'index.js': source('Cart'),
  });
  const shopDeploy = await server.cli(['deploy', shop]);
  assert.equal(shopDeploy.code, 0, describeCli(shopDeploy));
  assert.equal((await server.request('/?name=alice&by=5', { headers: shopHost })).text, '5');
  assert.equal((await server.request('/?name=bob&by=2', { headers: shopHost })).text, '2');
  const aliceId = (await server.request('/id?name=alice', { headers: shopHost })).text;
  // bob's alarm is due after the transfer: it must fire in the app that took the class.
  assert.equal((await server.request('/alarm?name=bob&ms=2500', { headers: shopHost })).text, 'true');

  const storeMigrations = [
    { tag: 'v1', new_sqlite_classes: ['Shelf'] },
    { tag: 'v2', transferred_classes: [{ from: 'Cart', from_script: 'shop', to: 'Basket' }] },
  ];
  const store = project({
    'wrangler.jsonc': config('store', 'Basket', storeMigrations),
    'index.js': source('Basket'),
  });
  // Without the shop's permission, its objects stay where they are.
  assertCliFailure(assert, await server.cli(['deploy', store]),
    /App 'shop' has not allowed class 'Cart' to be transferred to app 'store'/);
  assert.equal((await server.request('/?name=alice&by=1', { headers: shopHost })).text, '6');

  // A permission for another app does not count either.
  const wrongTarget = await server.cli(['transfers', 'allow', 'Cart', '--to', 'elsewhere', '--app', 'shop']);
  assert.equal(wrongTarget.code, 0, describeCli(wrongTarget));
  assertCliFailure(assert, await server.cli(['deploy', store]), /has not allowed class 'Cart'/);

  const allowed = await server.cli(['transfers', 'allow', 'Cart', '--to', 'store', '--app', 'shop']);
  assert.equal(allowed.code, 0, describeCli(allowed));
  const listed = await server.cli(['transfers', 'list', '--app', 'shop']);
  assert.match(listed.stdout, /^Cart -> store$/m);
  const moved = await server.cli(['deploy', store]);
  assert.equal(moved.code, 0, describeCli(moved));

  // The objects answer in the store, with their data and ids (from names and from strings).
  assert.equal((await server.request('/?name=alice&by=1', { headers: storeHost })).text, '7');
  assert.equal((await server.request('/id?name=alice', { headers: storeHost })).text, aliceId);
  assert.equal((await server.request(`/fromString?id=${aliceId}`, { headers: storeHost })).text, '7');
  assert.deepEqual(await server.classNames('store'), ['basket']);
  assert.deepEqual(await server.classNames('shop'), []);
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'objects', 'shop')), []);
  assert.ok(fs.readdirSync(path.join(server.dataDir, 'objects', 'store')).includes('cart@shop'));
  // The permission was used up; the shop's Worker no longer reaches the class.
  assert.match((await server.cli(['transfers', 'list', '--app', 'shop'])).stdout, /no class of app 'shop' may be transferred/);
  assert.equal((await server.request('/?name=alice', { headers: shopHost })).status, 500);

  await waitFor(async () => (await server.request('/fired?name=bob', { headers: storeHost })).text === '1',
    { timeoutMs: 10000, what: "bob's alarm firing in the store" });

  // Deployed again, the store applies nothing twice; the data survives a restart.
  const again = await server.cli(['deploy', store]);
  assert.equal(again.code, 0, describeCli(again));
  await server.stop();
  server = await server.restart();
  assert.equal((await server.request('/?name=alice&by=1', { headers: storeHost })).text, '8');
  assert.equal((await server.request('/?name=bob&by=0', { headers: storeHost })).text, '2');
});

test('transfers that cannot apply are refused with the reason', async () => {
  const host = `refusals.localhost:${server.port}`;
  const dir = project({
    'wrangler.jsonc': config('refusals', 'Basket', [
      { tag: 'v1', transferred_classes: [{ from: 'Nothing', from_script: 'nowhere', to: 'Basket' }] },
    ]),
    'index.js': source('Basket'),
  });
  assertCliFailure(assert, await server.cli(['deploy', dir]),
    /Cannot apply a transferred_classes migration from class 'Nothing' of script 'nowhere', which does not exist/);
  fs.writeFileSync(path.join(dir, 'wrangler.jsonc'), config('refusals', 'Basket', [
    { tag: 'v1', new_sqlite_classes: ['Basket'] },
    { tag: 'v2', transferred_classes: [{ from: 'Basket', from_script: 'refusals', to: 'Bag' }] },
  ]));
  assertCliFailure(assert, await server.cli(['deploy', dir]), /from the project itself: use renamed_classes/);
  assert.equal((await server.request('/', { headers: { host } })).status, 404);
  // Permissions name a class the app has, and another app.
  const missing = await server.api('PUT', '/apps/refusals/transfers/Basket', JSON.stringify({ to: 'x' }));
  assert.equal(missing.status, 404);
  const self = await server.api('PUT', '/apps/shop/transfers/Cart', JSON.stringify({ to: 'shop' }));
  assert.equal(self.status, 400);
  const badBody = await server.api('PUT', '/apps/shop/transfers/Cart', JSON.stringify({ target: 'x' }));
  assert.equal(badBody.status, 400);
});
