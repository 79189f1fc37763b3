// The dashboard at /_admin/ui, driven in headless Chromium (Debian's `chromium`, through
// playwright-core): login with the admin token (a wrong one refused), a class deployed from a
// file, the objects list with its search and open WebSockets, an object's storage (key-value and
// SQL) showing what requests wrote, a log line appearing in the live log, the usage charts, and
// env keys and service keys created and revoked without an env value ever reaching the page.
// Over plain HTTP: the page's headers (CSP, no framing, nosniff), assets served without the token
// and holding no data, and an admin API that takes the token from the Authorization header only.
// Each page is saved as a screenshot in DORM_SCREENSHOTS (default: a new temp folder, printed).
// Chromium missing is a failure, not a skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, fixture } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

const CHROMIUM = process.env.DORM_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.DORM_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-dashboard-'));

let server;
let browser;
let page;
const pageProblems = []; // console errors and uncaught exceptions in the page (CSP reports too)
const apiAnswers = []; // the bodies of every admin API answer the page received

async function shot(name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function go(hash) {
  await page.click(`nav a[data-page="${hash}"]`);
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `Chromium is required for this test and was not found at ${CHROMIUM} (scripts/install-deps.sh installs it)`);
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 60000 });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => {
    // The API's refusals the tests provoke (401, 400) are logged by Chromium as failed loads.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[01]/.test(m.text())) {
      pageProblems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => pageProblems.push(`exception: ${e.message}`));
  page.on('response', async (res) => {
    if (!res.url().includes('/_admin/v1/') || res.url().includes('/tail')) return;
    try {
      apiAnswers.push(await res.text());
    } catch {}
  });
  console.log(`dashboard screenshots: ${SHOTS}`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the dashboard is served without the token, under a strict CSP, and holds no data', async () => {
  const secretValue = `env-value-${crypto.randomBytes(8).toString('hex')}`;
  const before = await Promise.all(['/_admin/ui', '/_admin/ui/app.js', '/_admin/ui/app.css'].map((p) => server.request(p)));
  // Data the server holds now: none of it may be in the assets.
  await server.deploy(fixture('dashboard_notes.js'), { name: 'hidden-class', app: 'hidden-app' });
  const set = await server.api('PUT', '/apps/hidden-app/env/HIDDEN_KEY', JSON.stringify({ value: secretValue }));
  assert.equal(set.status, 201, set.text);
  const types = ['text/html; charset=utf-8', 'text/javascript; charset=utf-8', 'text/css; charset=utf-8'];
  for (const [i, p] of ['/_admin/ui', '/_admin/ui/app.js', '/_admin/ui/app.css'].entries()) {
    const res = await server.request(p);
    assert.equal(res.status, 200, `${p}: ${res.text}`);
    assert.equal(res.headers['content-type'], types[i], p);
    const csp = res.headers['content-security-policy'];
    assert.match(csp, /(^|; )default-src 'self'(;|$)/, p);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/, p);
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, p);
    assert.equal(res.headers['x-frame-options'], 'DENY', p);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', p);
    assert.equal(res.headers['set-cookie'], undefined, p);
    // Static: the same bytes before and after the server gained apps, classes and env vars.
    assert.ok(res.body.equals(before[i].body), `${p} changed with the server's data`);
    for (const data of [server.adminToken(), secretValue, 'hidden-app', 'hidden-class', 'HIDDEN_KEY']) {
      assert.ok(!res.text.includes(data), `${p} holds ${data}`);
    }
  }
  // The page loads only its own script and style sheet, with no inline script.
  const index = (await server.request('/_admin/ui/')).text;
  assert.match(index, /<script src="\/_admin\/ui\/app\.js" defer><\/script>/);
  assert.doesNotMatch(index, /<script>|<script(?![^>]*\bsrc=)[^>]*>|\son\w+=/);
  assert.equal((await server.request('/_admin/ui/secrets.json')).status, 404);
  const post = await server.request('/_admin/ui', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
  // Only /_admin/ui itself is open: a neighbouring path is the API, which wants the token.
  assert.equal((await server.request('/_admin/uix')).status, 401);
  assert.equal((await server.request('/_admin/v1/apps')).status, 401);
});

test('the admin API takes the token from the Authorization header only (no cookie, no query)', async () => {
  const token = server.adminToken();
  for (const cookie of [`token=${token}`, `authorization=Bearer ${token}`, `dorm-admin-token=${token}`]) {
    const res = await server.request('/_admin/v1/apps', { headers: { cookie } });
    assert.equal(res.status, 401, cookie);
    assert.deepEqual(res.json(), { error: 'Missing admin token.' });
  }
  assert.equal((await server.request(`/_admin/v1/apps?access_token=${token}`)).status, 401);
  const ok = await server.request('/_admin/v1/apps', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json(), { apps: ['hidden-app'] });
});

test('login: a wrong token is refused, the admin token opens the dashboard', async () => {
  await page.goto(`${server.url}/_admin/ui`);
  await page.fill('input[name="token"]', 'dorm_admin_not-the-token');
  await page.click('button[type="submit"]');
  await page.waitForSelector('p.error');
  assert.equal(await page.textContent('p.error'), 'That is not the admin token.');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dorm-admin-token')), null);
  assert.equal(await page.locator('nav').count(), 0);
  await shot('login');

  await page.fill('input[name="token"]', server.adminToken());
  await page.click('button[type="submit"]');
  await page.waitForSelector('nav a[data-page="apps"]');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dorm-admin-token')), server.adminToken());
  // Nothing of the token in a cookie or in localStorage.
  assert.equal(await page.evaluate(() => document.cookie), '');
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  // A reload stays signed in (same tab).
  await page.reload();
  await page.waitForSelector('nav a[data-page="apps"]');
});

test('a class deployed from a file shows in the apps page', async () => {
  await go('deploy');
  await page.setInputFiles('input[type="file"]', fixture('dashboard_notes.js'));
  await page.fill('input[name="app"]', 'default');
  await page.fill('input[name="name"]', 'notes');
  await page.selectOption('select[name="access"]', 'public');
  await page.click('form button[type="submit"]');
  await page.waitForSelector('p.ok');
  assert.equal(await page.textContent('p.ok'), 'Deployed notes (class DashboardNotes) to app default: READY.');
  await shot('deploy');
  const classes = (await server.api('GET', '/apps/default/classes')).json().classes;
  assert.deepEqual(classes.map((c) => [c.name, c.class_name, c.access_mode]), [['notes', 'DashboardNotes', 'public']]);
  // The deployed code answers.
  const res = await server.request('/_do/notes/alpha/note?key=greeting&text=hello-from-request');
  assert.equal(res.status, 200, res.text);

  // A bad file is refused with the server's reason.
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-dashboard-bad-')), 'broken.js');
  fs.writeFileSync(bad, 'export class Broken { fetch( }');
  await page.setInputFiles('input[type="file"]', bad);
  await page.fill('input[name="name"]', 'broken');
  await page.click('form button[type="submit"]');
  await page.waitForSelector('p.error');
  assert.match(await page.textContent('p.error'), /broken\.js/);

  await go('apps');
  await page.waitForSelector('table.classes');
  const row = page.locator('table.classes tbody tr', { hasText: 'notes' });
  assert.match(await row.textContent(), /notesDashboardNotespublicREADY/);
  await row.locator('button').click();
  await page.waitForSelector('.detail');
  assert.match(await page.textContent('.detail'), /No uncaught error since the server started\./);
  assert.match(await page.textContent('.detail'), /File dashboard_notes\.js, class DashboardNotes/);
  // The class's last uncaught error, once it has one.
  const thrown = await server.request('/_do/notes/alpha/throw');
  assert.equal(thrown.status, 500, thrown.text);
  await row.locator('button').click();
  await row.locator('button').click();
  await page.waitForSelector('.detail pre.last-error');
  assert.match(await page.textContent('.detail pre.last-error'), /dashboard probe failure/);
  await shot('apps');
});

test('the objects list searches by name and counts open WebSockets; the storage browser shows what requests wrote', async () => {
  for (const [name, text] of [['bravo', 'second'], ['brown', 'third'], ['alpha', 'again']]) {
    const res = await server.request(`/_do/notes/${name}/note?key=k-${name}&text=${text}`);
    assert.equal(res.status, 200, res.text);
  }
  const ws = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/notes/alpha/`);
  try {
    await go('objects');
    await page.waitForSelector('table.objects tbody tr');
    const names = async () => page.$$eval('table.objects tbody tr td:first-child', (tds) => tds.map((td) => td.textContent).sort());
    assert.deepEqual(await names(), ['alpha', 'bravo', 'brown']);
    // The open WebSocket shows within a refresh or two.
    const alphaSockets = page.locator('table.objects tbody tr', { hasText: 'alpha' }).locator('td.websockets');
    await page.waitForFunction(
      () => [...document.querySelectorAll('table.objects tbody tr')].some((tr) => tr.textContent.startsWith('alpha') && tr.querySelector('td.websockets').textContent === '1'),
      null,
      { timeout: 20000 },
    );
    assert.equal(await alphaSockets.textContent(), '1');
    await shot('objects');
    await page.fill('input[name="prefix"]', 'br');
    await page.click('form.row button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('table.objects tbody tr').length === 2);
    assert.deepEqual(await names(), ['bravo', 'brown']);
    await page.fill('input[name="prefix"]', 'alp');
    await page.click('form.row button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('table.objects tbody tr').length === 1);
    await page.click('table.objects tbody tr button.link');
  } finally {
    ws.terminate();
  }
  await page.waitForSelector('table.kv tbody tr');
  assert.match(await page.textContent('h2'), /Storage of notes \/ alpha/);
  const kv = await page.$$eval('table.kv tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.deepEqual(kv, [
    ['greeting', '{"text":"hello-from-request","length":18}'],
    ['k-alpha', '{"text":"again","length":5}'],
  ]);
  await shot('storage-kv');

  await page.click('button.tab:has-text("SQL tables")');
  await page.click('button.chip:has-text("notes")');
  await page.waitForSelector('table.sql-result tbody tr');
  const rows = await page.$$eval('table.sql-result tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.deepEqual(rows, [['1', '"hello-from-request"'], ['2', '"again"']]);
  await shot('storage-sql');
  // Read-only: a statement that writes is refused and changes nothing.
  await page.fill('textarea[name="sql"]', 'DELETE FROM notes');
  await page.click('form.stack button[type="submit"]');
  await page.waitForSelector('p.error');
  assert.match(await page.textContent('p.error'), /The statement may change the database/);
  const count = await server.api('POST', '/apps/default/classes/notes/objects/alpha/sql', JSON.stringify({ sql: 'SELECT count(*) FROM notes' }));
  assert.deepEqual(count.json().rows, [[2]]);
});

test('a request shows in the live log', async () => {
  await go('logs');
  // New lines only: what shows next came through the open stream, not from the kept lines.
  // (The earlier tests' lines, kept for 5 minutes, are gone once the new stream is open.)
  await page.waitForSelector('ol.log li');
  await page.selectOption('select[name="since"]', '');
  await page.waitForFunction(
    () => document.querySelectorAll('ol.log li').length === 0 && document.querySelector('.stream-state').dataset.state === 'streaming',
  );
  const marker = `log-probe-${crypto.randomBytes(6).toString('hex')}`;
  const res = await server.request(`/_do/notes/charlie/note?key=k&text=${marker}`);
  assert.equal(res.status, 200, res.text);
  const consoleLine = page.locator('ol.log li', { hasText: `note k stored: ${marker}` });
  await consoleLine.waitFor({ timeout: 15000 });
  assert.match(await consoleLine.textContent(), new RegExp(`\\[notes/charlie\\]\\(log\\) note k stored: ${marker}`));
  const requestLine = page.locator('ol.log li', { hasText: `GET /note?key=k&text=${marker} - 200 ok` });
  await requestLine.waitFor({ timeout: 15000 });
  // A tenant's text is shown as text, never as markup.
  const hostile = '<img src=x onerror="window.__pwned=1"><b>bold</b>';
  const res2 = await server.request(`/_do/notes/charlie/note?key=${encodeURIComponent(hostile)}&text=${encodeURIComponent(hostile)}`);
  assert.equal(res2.status, 200, res2.text);
  await page.locator('ol.log li', { hasText: `stored: ${hostile}` }).waitFor({ timeout: 15000 });
  assert.equal(await page.locator('ol.log img, ol.log b').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await shot('logs');
});

test('the usage charts draw the requests, CPU time and storage', async () => {
  await go('usage');
  await page.waitForSelector('#chart-requests svg circle.point');
  // The last hour, one point a minute; the minutes with requests are marked.
  assert.equal(await page.getAttribute('#chart-requests svg', 'data-points'), '60');
  const marked = await page.$$eval('#chart-requests svg circle.point', (cs) => cs.map((c) => Number(c.dataset.value)));
  const series = (await server.api('GET', `/usage/series?app=default&since=${new Date(Date.now() - 59 * 60000).toISOString()}&step=1`)).json();
  const total = series.points.reduce((sum, p) => sum + p.do_requests, 0);
  assert.ok(total >= 6, `requests counted: ${total}`);
  assert.equal(marked.reduce((a, b) => a + b, 0), total);
  assert.equal(await page.getAttribute('#chart-cpu svg', 'data-points'), '60');
  assert.ok((await page.locator('#chart-cpu svg circle.point').count()) >= 1);
  // Storage: the size at the end of each minute, from the server's history: none before the
  // first write of this server, every object's database now.
  await page.waitForSelector('#chart-storage svg circle.point');
  assert.equal(await page.getAttribute('#chart-storage svg', 'data-points'), '60');
  assert.ok(series.storage_bytes > 0);
  assert.equal(series.points.at(-1).storage_bytes, series.storage_bytes);
  assert.equal(series.points[0].storage_bytes, 0);
  const sizes = await page.$$eval('#chart-storage svg circle.point', (cs) => cs.map((c) => Number(c.dataset.value)));
  assert.equal(sizes.at(-1), series.storage_bytes);
  // (The page read its series a moment before: a minute may have turned since.)
  const known = new Set(series.points.map((p) => p.storage_bytes));
  for (const v of sizes) assert.ok(known.has(v), `${v} is a size of the series`);
  assert.equal(await page.locator('#chart-storage svg polyline.series').count(), 1);
  const objects = await page.$$eval('table.usage-objects tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent).sort());
  assert.deepEqual(objects, ['alpha', 'bravo', 'brown', 'charlie']);
  await shot('usage');
});

test('the usage series: one point per step, the same sums as the usage totals, bad parameters refused', async () => {
  const since = new Date(Date.now() - 119 * 60000).toISOString();
  const series = (await server.api('GET', `/usage/series?app=default&name=notes&since=${since}&step=30`)).json();
  assert.equal(series.app, 'default');
  assert.equal(series.name, 'notes');
  assert.equal(series.step_minutes, 30);
  assert.equal(series.since, `${since.slice(0, 16)}:00Z`);
  assert.equal(series.points.length, 4);
  assert.deepEqual(Object.keys(series.points[0]), ['time', 'do_requests', 'do_cpu_ms', 'wall_ms', 'http_requests', 'websocket_messages', 'alarms', 'outbound_requests', 'outbound_bytes', 'storage_bytes']);
  assert.equal(series.points.at(-1).storage_bytes, series.storage_bytes);
  assert.equal(Date.parse(series.points[1].time) - Date.parse(series.points[0].time), 30 * 60000);
  const totals = (await server.api('GET', `/usage?app=default&name=notes&since=${since}`)).json();
  const sum = (field) => series.points.reduce((s, p) => s + p[field], 0);
  assert.equal(sum('do_requests'), totals.do_requests);
  assert.equal(sum('http_requests'), totals.http_requests);
  assert.equal(series.storage_bytes, totals.storage_bytes);
  const refused = [
    ['/usage/series?step=0', 400, "Invalid step '0': use a number of minutes from 1 to 10080."],
    ['/usage/series?step=1&since=2020-01-01', 400, /^Too many points: \d+ \(at most 1440\): use a later since or a longer step\.$/],
    ['/usage/series?since=tomorrow', 400, "Invalid since 'tomorrow': use an ISO 8601 time in the past such as 2025-01-31T00:00:00Z."],
    ['/usage/series?app=default&name=nope', 404, "No Durable Object class named 'nope' in app 'default'."],
    ['/usage/series?limit=3', 400, "Unknown parameter 'limit': use app, name, since and step."],
  ];
  for (const [p, status, message] of refused) {
    const res = await server.api('GET', p);
    assert.equal(res.status, status, `${p}: ${res.text}`);
    if (typeof message === 'string') assert.equal(res.json().error, message, p);
    else assert.match(res.json().error, message, p);
  }
  assert.deepEqual((await server.api('GET', '/apps')).json(), { apps: ['default', 'hidden-app'] });
  assert.equal((await server.api('POST', '/apps', '{}')).status, 405);
});

test('env vars and service keys are created and revoked; an env value never reaches the page', async () => {
  const value = `dashboard-secret-${crypto.randomBytes(12).toString('hex')}`;
  await go('keys');
  await page.waitForSelector('.panel');
  await page.fill('input[name="env-key"]', 'DASH_SECRET');
  await page.fill('input[name="env-value"]', value);
  await page.click('.panel:has(input[name="env-key"]) button[type="submit"]');
  await page.waitForSelector('ul.env-keys li:has-text("DASH_SECRET")');
  assert.equal(await page.textContent('.panel p.ok'), 'DASH_SECRET created.');
  // The typed value is gone from the form, and is nowhere in the page or in an API answer.
  assert.equal(await page.inputValue('input[name="env-value"]'), '');
  assert.ok(!(await page.content()).includes(value));
  assert.ok(!(await page.evaluate(() => document.body.innerText)).includes(value));
  assert.deepEqual((await server.api('GET', '/apps/default/env')).json().keys, ['DASH_SECRET']);

  await page.fill('input[name="key-name"]', 'billing');
  await page.click('.panel:has(input[name="key-name"]) button[type="submit"]');
  await page.waitForSelector('.new-key code.secret');
  const key = await page.textContent('.new-key code.secret');
  assert.match(key, /^dorm_sk_[0-9a-f]{64}$/);
  const listed = (await server.api('GET', '/apps/default/keys')).json().keys;
  assert.deepEqual(listed.map((k) => k.name), ['billing']);
  await page.waitForSelector(`table.service-keys tbody tr:has-text("${listed[0].id}")`);
  await shot('keys');
  // Shown once: after leaving the page only its prefix is listed.
  await go('apps');
  await go('keys');
  await page.waitForSelector(`table.service-keys tbody tr:has-text("${listed[0].id}")`);
  assert.ok(!(await page.content()).includes(key));

  await page.click('button[aria-label="Remove DASH_SECRET"]');
  await page.waitForSelector('.panel p.ok:has-text("DASH_SECRET removed.")');
  assert.equal(await page.locator('ul.env-keys li').count(), 0);
  assert.deepEqual((await server.api('GET', '/apps/default/env')).json().keys, []);
  await page.click(`table.service-keys tbody tr:has-text("${listed[0].id}") button`);
  await page.waitForFunction(() => document.querySelectorAll('table.service-keys tbody tr').length === 0);
  assert.deepEqual((await server.api('GET', '/apps/default/keys')).json().keys, []);
  const refused = await server.request('/_admin/v1/apps', { headers: { authorization: `Bearer ${key}` } });
  assert.equal(refused.status, 401);
  for (const answer of apiAnswers) assert.ok(!answer.includes(value), 'an admin API answer held the env value');
});

test('signing out forgets the token; the page raised no error and broke no CSP rule', async () => {
  await page.click('header button.link');
  await page.waitForSelector('input[name="token"]');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dorm-admin-token')), null);
  // A refused frame or inline script shows as a console error.
  assert.deepEqual(pageProblems, []);
});
