// Browser WebSocket clients of an `authenticated` class: headless Chromium (Debian's `chromium`,
// driven by playwright-core) cannot set headers on an upgrade, so it passes its JWT as a
// `bearer.<token>` subprotocol (alone, or next to an application protocol) or as an
// `access_token` query parameter; a bad token is refused before the object is reached. Chromium
// missing is a failure, not a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, fixture, makeTempDir } from './lib/dorm.mjs';

const CHROMIUM = process.env.DORM_CHROMIUM ?? '/usr/bin/chromium';

let server;
let browser;
let page;
let web;
let secret;

function hs256(payload) {
  const input = [{ alg: 'HS256', typ: 'JWT' }, payload]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .join('.');
  return `${input}.${crypto.createHmac('sha256', secret).update(input).digest('base64url')}`;
}

// Opens a WebSocket in the page; resolves in the page with {protocol, report} once the object
// answered a message, or {failed: true} when the connection could not be opened.
function connectInPage(url, protocols) {
  return page.evaluate(
    ([u, p]) =>
      new Promise((resolve) => {
        const ws = p ? new WebSocket(u, p) : new WebSocket(u);
        ws.onopen = () => ws.send('report');
        ws.onmessage = (e) => {
          resolve({ protocol: ws.protocol, report: JSON.parse(e.data) });
          ws.close(1000);
        };
        ws.onerror = () => resolve({ failed: true });
      }),
    [url, protocols ?? null],
  );
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is required for this test and was not found at ${CHROMIUM} (scripts/install-deps.sh installs it)`);
  secret = crypto.randomBytes(32).toString('hex');
  const secretFile = path.join(makeTempDir('keys'), 'hs256.secret');
  fs.writeFileSync(secretFile, secret);
  server = await startServer();
  await server.deploy(fixture('access_probe.js'), { name: 'probe', access: 'authenticated' });
  const set = await server.cli(['auth', 'set', '--hs256-secret-file', secretFile]);
  assert.equal(set.code, 0, set.stderr);
  // The page comes from another origin, as an application's page would.
  web = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>app</title>');
  });
  await new Promise((resolve) => web.listen(0, '127.0.0.1', resolve));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60000 });
  page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${web.address().port}/`);
});

after(async () => {
  await browser?.close();
  web?.close();
  await server?.stop();
});

test('Chromium connects with its JWT as a subprotocol or query parameter; bad tokens are refused', async () => {
  const claims = { sub: 'browser-user', exp: Math.floor(Date.now() / 1000) + 600 };
  const token = hs256(claims);
  const url = `ws://127.0.0.1:${server.port}/_do/probe/room`;

  const alone = await connectInPage(url, [`bearer.${token}`]);
  assert.equal(alone.failed, undefined, 'bearer subprotocol alone');
  assert.deepEqual(JSON.parse(alone.report.claims), claims);
  assert.equal(alone.report.protocols, null, 'the object does not see the token');
  assert.equal(alone.protocol, `bearer.${token}`);

  const withChat = await connectInPage(`${url}?select=chat`, ['chat', `bearer.${token}`]);
  assert.equal(withChat.failed, undefined, 'bearer subprotocol next to an application protocol');
  assert.equal(withChat.protocol, 'chat');
  assert.equal(withChat.report.protocols, 'chat');

  const query = await connectInPage(`${url}?access_token=${encodeURIComponent(token)}`);
  assert.equal(query.failed, undefined, 'access_token query');
  assert.equal(new URL(query.report.url).search, '');
  assert.deepEqual(JSON.parse(query.report.claims), claims);

  const forged = hs256({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 });
  assert.deepEqual(await connectInPage(url, [`bearer.${forged}`]), { failed: true }, 'expired token');
  assert.deepEqual(await connectInPage(url), { failed: true }, 'no token');

  // Three connections reached the object; the two refused ones did not.
  const seen = await server.request('/_do/probe/room', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(seen.status, 200, seen.text);
  assert.equal(seen.json().seen, 4);
});
