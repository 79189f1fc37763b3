// A real browser as a WebSocket client: headless Chromium (Debian's `chromium` package, driven by
// playwright-core) opens a page from a small local web server; the page joins Butterbase's chat
// room on Dorm and sends a message, which a `ws` client in the same room receives. The page's
// origin differs from Dorm's, as it would in practice. Chromium missing is a failure, not a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, EXAMPLES_DIR } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

const CHROMIUM = process.env.DORM_CHROMIUM ?? '/usr/bin/chromium';

let server;
let page;
let browser;
let web;

// The page: joins the room given in ?room=, records what it receives in window.received, and
// exposes window.say(text).
const PAGE = `<!doctype html>
<meta charset="utf-8"><title>room</title>
<script>
  window.received = [];
  window.opened = new Promise((resolve, reject) => {
    const ws = new WebSocket(new URLSearchParams(location.search).get('room'));
    ws.onopen = () => resolve(true);
    ws.onerror = () => reject(new Error('WebSocket error'));
    ws.onmessage = (e) => window.received.push(e.data);
    ws.onclose = (e) => { window.closeInfo = { code: e.code, reason: e.reason }; };
    window.say = (text) => ws.send(text);
    window.leave = (code, reason) => ws.close(code, reason);
  });
</script>`;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is required for this test and was not found at ${CHROMIUM} (scripts/install-deps.sh installs it)`);
  server = await startServer();
  await server.deploy(path.join(EXAMPLES_DIR, 'chat-room.ts'));
  web = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise((resolve) => web.listen(0, '127.0.0.1', resolve));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60000 });
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  web?.close();
  await server?.stop();
});

test('a message sent from Chromium reaches a ws client in the same room, and back', async () => {
  const room = `ws://127.0.0.1:${server.port}/_do/chat-room/browser`;
  const listener = await WsClient.open(room);
  assert.deepEqual(JSON.parse(await listener.next()), { type: 'init', messages: [] });
  await page.goto(`http://127.0.0.1:${web.address().port}/?room=${encodeURIComponent(room)}`);
  assert.equal(await page.evaluate(() => window.opened), true);
  await page.waitForFunction(() => window.received.length > 0, null, { timeout: 15000 });
  assert.deepEqual(JSON.parse(await page.evaluate(() => window.received[0])), { type: 'init', messages: [] });

  await page.evaluate(() => window.say('héllo from chromium ✓'));
  assert.equal(await listener.next((d) => d.startsWith('héllo')), 'héllo from chromium ✓');

  await listener.send('hello back from ws');
  await page.waitForFunction(() => window.received.includes('hello back from ws'), null, { timeout: 15000 });

  // A large message from the browser arrives whole (Chromium may fragment it).
  await page.evaluate(() => window.say('z'.repeat(300000)));
  assert.equal((await listener.next((d) => d.startsWith('zzz'), { timeoutMs: 30000 })).length, 300000);

  await page.evaluate(() => window.leave(4321, 'tab closed'));
  await page.waitForFunction(() => window.closeInfo !== undefined, null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => window.closeInfo.code), 4321);
  listener.ws.close();
  await listener.waitClosed();
});
