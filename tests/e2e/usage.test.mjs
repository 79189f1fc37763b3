// Usage meters: a known workload (HTTP requests to two objects of one class, WebSocket messages
// and auto-responses on an object of another) gives exactly those requests and messages per
// object, class and app in GET /_admin/v1/usage, `dorm usage` and GET /_admin/metrics; CPU and
// wall time are positive and bounded by the time the workload took; storage and live gauges;
// `since`; bad input; the admin token; and the totals survive a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, assertCliFailure, assertServerError, describeCli } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

let server;
let ws;
let workloadMs;

before(async () => {
  // Long hibernation and eviction delays: the live gauges are checked while the objects are in
  // memory.
  server = await startServer({ flags: ['--hibernate-after-ms', '600000', '--idle-evict-seconds', '600'] });
  await server.deploy(fixture('usage_meter.js'), { name: 'meter-x' });
  await server.deploy(fixture('usage_meter.js'), { name: 'meter-y' });
  const started = Date.now();
  for (let i = 1; i <= 7; i++) {
    const res = await server.json('/_do/meter-x/a', { method: 'POST' });
    assert.equal(res.count, i);
  }
  for (let i = 1; i <= 3; i++) await server.json('/_do/meter-x/b', { method: 'POST' });
  ws = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/meter-y/room`);
  for (let i = 1; i <= 5; i++) assert.equal(await ws.ask(`m${i}`, 'echo:'), `echo:m${i}`);
  // Auto-responses are answered without the object: not delivered, not counted.
  for (let i = 1; i <= 3; i++) assert.equal(await ws.ask('ping', 'pong'), 'pong');
  workloadMs = Date.now() - started;
});

after(async () => {
  ws?.terminate();
  await server?.stop();
});

async function usage(query = 'app=default', expectStatus = 200) {
  const res = await server.request(`/_admin/v1/usage?${query}`, {
    headers: { authorization: `Bearer ${server.adminToken()}` },
  });
  assert.equal(res.status, expectStatus, `usage?${query}: ${res.status} ${res.text}`);
  return res.json();
}

function byName(list, name) {
  const item = list.find((x) => x.name === name);
  assert.ok(item, `${name} missing from ${JSON.stringify(list)}`);
  return item;
}

function object(body, className, name) {
  const item = body.objects.find((o) => o.class === className && o.name === name);
  assert.ok(item, `${className}/${name} missing from ${JSON.stringify(body.objects)}`);
  return item;
}

// The counts the workload must produce. The WebSocket upgrade is an HTTP request to the object.
const EXPECTED = {
  'meter-x/a': { http_requests: 7, websocket_messages: 0 },
  'meter-x/b': { http_requests: 3, websocket_messages: 0 },
  'meter-y/room': { http_requests: 1, websocket_messages: 5 },
};

function checkCounts(body) {
  for (const [key, want] of Object.entries(EXPECTED)) {
    const [className, name] = key.split('/');
    const o = object(body, className, name);
    assert.equal(o.http_requests, want.http_requests, key);
    assert.equal(o.websocket_messages, want.websocket_messages, key);
    assert.equal(o.do_requests, want.http_requests + want.websocket_messages, key);
  }
  assert.equal(body.objects.length, 3, JSON.stringify(body.objects));
  assert.equal(byName(body.classes, 'meter-x').do_requests, 10);
  assert.equal(byName(body.classes, 'meter-y').do_requests, 6);
  assert.equal(byName(body.classes, 'meter-y').websocket_messages, 5);
  assert.equal(body.do_requests, 16);
  assert.equal(body.http_requests, 11);
  assert.equal(body.websocket_messages, 5);
}

test('a known workload gives exactly its requests and messages per object, class and app', async () => {
  const body = await usage();
  assert.equal(body.app, 'default');
  assert.equal(body.since, null);
  checkCounts(body);
  for (const key of Object.keys(EXPECTED)) {
    const o = object(body, ...key.split('/'));
    // Every object ran JavaScript; none can have used more time than the whole workload took.
    assert.ok(o.do_cpu_ms > 0 && o.do_cpu_ms <= workloadMs, `${key} cpu ${o.do_cpu_ms} (workload ${workloadMs} ms)`);
    assert.ok(o.wall_ms > 0 && o.wall_ms <= workloadMs, `${key} wall ${o.wall_ms} (workload ${workloadMs} ms)`);
  }
  const x = byName(body.classes, 'meter-x');
  const y = byName(body.classes, 'meter-y');
  assert.ok(Math.abs(x.do_cpu_ms - object(body, 'meter-x', 'a').do_cpu_ms - object(body, 'meter-x', 'b').do_cpu_ms) < 0.01);
  assert.ok(Math.abs(body.do_cpu_ms - x.do_cpu_ms - y.do_cpu_ms) < 0.01);
  // Storage: the writing objects have databases; the socket-only object has none.
  const a = object(body, 'meter-x', 'a');
  const b = object(body, 'meter-x', 'b');
  assert.ok(a.storage_bytes > 7 * 512, `a stores ${a.storage_bytes} bytes`);
  assert.ok(b.storage_bytes > 3 * 512, `b stores ${b.storage_bytes} bytes`);
  assert.equal(x.storage_bytes, a.storage_bytes + b.storage_bytes);
  assert.equal(object(body, 'meter-y', 'room').storage_bytes, 0);
  // Live gauges.
  assert.equal(x.live_objects, 2);
  assert.equal(x.live_websockets, 0);
  assert.equal(y.live_objects, 1);
  assert.equal(y.live_websockets, 1);
  assert.equal(object(body, 'meter-y', 'room').websockets, 1);
  assert.equal(object(body, 'meter-x', 'a').live, true);
  assert.equal(body.live_objects, 3);
  assert.equal(body.live_websockets, 1);

  // One class.
  const onlyX = await usage('app=default&name=meter-x');
  assert.equal(onlyX.name, 'meter-x');
  assert.deepEqual(onlyX.classes.map((c) => c.name), ['meter-x']);
  assert.deepEqual(onlyX.objects.map((o) => `${o.class}/${o.name}`), ['meter-x/a', 'meter-x/b']);
  assert.equal(onlyX.do_requests, 10);
  // Counting does not move while nothing happens.
  checkCounts(await usage());
});

test('dorm usage prints the meters as tables', async () => {
  const all = await server.cli(['usage']);
  assert.equal(all.code, 0, describeCli(all));
  const row = (name) => all.stdout.split('\n').find((l) => l.startsWith(`${name} `));
  assert.match(row('meter-x') ?? '', /^meter-x\s+10\s+10\s+0\s/, all.stdout);
  assert.match(row('meter-y') ?? '', /^meter-y\s+6\s+1\s+5\s/, all.stdout);
  assert.match(row('(total)') ?? '', /^\(total\)\s+16\s+11\s+5\s/, all.stdout);
  assert.match(row('meter-x/a') ?? '', /^meter-x\/a\s+7\s+7\s+0\s/, all.stdout);
  const one = await server.cli(['usage', 'meter-y', '--since', '1h']);
  assert.equal(one.code, 0, describeCli(one));
  assert.match(one.stdout, /^meter-y\/room\s+6\s+1\s+5\s.*yes, 1 websockets$/m, one.stdout);
  assert.doesNotMatch(one.stdout, /meter-x/);
});

test('since: a period starting in the future has no usage; one in the past has all of it', async () => {
  const future = await usage('app=default&since=2999-01-01T00:00:00Z');
  assert.equal(future.since, '2999-01-01T00:00:00Z');
  assert.equal(future.do_requests, 0);
  assert.equal(future.do_cpu_ms, 0);
  assert.equal(future.wall_ms, 0);
  for (const o of future.objects) assert.equal(o.do_requests, 0);
  // Storage and liveness are current, whatever the period.
  assert.equal(future.live_objects, 3);
  assert.ok(byName(future.classes, 'meter-x').storage_bytes > 0);
  checkCounts(await usage('app=default&since=2000-01-01T00%3A00%3A00%2B02%3A00'));
  const cli = await server.cli(['usage', '--since', '2999-01-01']);
  assert.equal(cli.code, 0, describeCli(cli));
  assert.match(cli.stdout, /^\(total\)\s+0\s+0\s+0\s/m, cli.stdout);
});

test('bad input is refused with a clear error', async () => {
  assert.match((await usage('app=default&since=yesterday', 400)).error, /Invalid since 'yesterday'.*ISO 8601/);
  assert.match((await usage('app=default&since=2025-02-30', 400)).error, /Invalid since/);
  assert.match((await usage('app=default&name=nope', 404)).error, /No Durable Object class named 'nope' in app 'default'/);
  assert.match((await usage('app=default&color=red', 400)).error, /Unknown parameter 'color'/);
  assert.match((await usage('app=Bad_App', 400)).error, /Invalid app name/);
  // A repeated parameter is refused, not answered for its last value.
  assert.equal((await usage('app=default&app=other', 400)).error, "Query parameter 'app' is given more than once.");
  assert.equal((await usage('app=default&since=2000-01-01&since=2999-01-01', 400)).error,
    "Query parameter 'since' is given more than once.");
  assertCliFailure(assert, await server.cli(['usage', '--since', 'last week']), /Invalid since 'last week'/);
  assertCliFailure(assert, await server.cli(['usage', 'nope']), "No Durable Object class named 'nope'");
});

test('the admin token guards the usage API and the metrics endpoint', async () => {
  for (const p of ['/_admin/metrics', '/_admin/v1/usage?app=default']) {
    const missing = await server.request(p);
    assertServerError(assert, missing, 401);
    assert.match(missing.headers['www-authenticate'] ?? '', /Bearer/);
    assertServerError(assert, await server.request(p, { headers: { authorization: 'Bearer wrong' } }), 401);
  }
});

// Parses the exposition text, checking every line against the format; returns the samples.
function parseMetrics(text) {
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const label = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const sampleLine = new RegExp(`^(${name})(?:\\{(${label}(?:,${label})*)\\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|NaN)$`);
  const types = new Map();
  const helps = new Set();
  const samples = [];
  assert.ok(text.endsWith('\n'), 'the text ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      assert.match(m[1], new RegExp(`^${name}$`));
      assert.ok(!helps.has(m[1]), `HELP ${m[1]} twice`);
      helps.add(m[1]);
    } else if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(!types.has(m[1]), `TYPE ${m[1]} twice`);
      types.set(m[1], m[2]);
    } else {
      m = sampleLine.exec(line);
      assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
      const family = m[1].replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(m[1]) || types.get(family) === 'histogram', `sample before its TYPE: ${line}`);
      const labels = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
  }
  return { types, samples };
}

function sample(metrics, metricName, labels) {
  const found = metrics.samples.filter(
    (s) => s.name === metricName && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(found.length, 1, `${metricName} ${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
  return found[0].value;
}

async function metrics() {
  const res = await server.request('/_admin/metrics', { headers: { authorization: `Bearer ${server.adminToken()}` } });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

test('/_admin/metrics is valid Prometheus text with the same meters and server health', async () => {
  const m = await metrics();
  const x = { app: 'default', class: 'meter-x' };
  const y = { app: 'default', class: 'meter-y' };
  assert.equal(m.types.get('dorm_do_requests_total'), 'counter');
  assert.equal(sample(m, 'dorm_do_requests_total', x), 10);
  assert.equal(sample(m, 'dorm_do_requests_total', y), 6);
  assert.equal(sample(m, 'dorm_do_http_requests_total', y), 1);
  assert.equal(sample(m, 'dorm_do_websocket_messages_total', y), 5);
  assert.ok(sample(m, 'dorm_do_cpu_seconds_total', x) > 0);
  assert.ok(sample(m, 'dorm_do_wall_seconds_total', x) > 0);
  assert.ok(sample(m, 'dorm_do_storage_bytes', x) > 10 * 512);
  assert.equal(sample(m, 'dorm_do_live_objects', x), 2);
  assert.equal(sample(m, 'dorm_do_live_websockets', y), 1);
  // Health: one lag gauge per runtime thread, the app's isolate heaps, the flush histogram.
  const lags = m.samples.filter((s) => s.name === 'dorm_event_loop_lag_seconds');
  assert.ok(lags.length >= 1 && lags.every((s) => s.value >= 0 && /^\d+$/.test(s.labels.thread)));
  const heaps = m.samples.filter((s) => s.name === 'dorm_isolate_heap_used_bytes' && s.labels.app === 'default');
  assert.ok(heaps.length >= 1 && heaps.every((s) => s.value > 0), JSON.stringify(heaps));
  assert.equal(m.types.get('dorm_storage_flush_duration_seconds'), 'histogram');
  const count = sample(m, 'dorm_storage_flush_duration_seconds_count', {});
  assert.ok(count >= 1, 'the writes were flushed');
  assert.equal(sample(m, 'dorm_storage_flush_duration_seconds_bucket', { le: '+Inf' }), count);
});

test('the meters survive a restart', async () => {
  const before = await usage();
  ws.terminate();
  ws = null;
  await server.stop();
  server = await server.restart();
  const afterRestart = await usage();
  checkCounts(afterRestart);
  for (const key of Object.keys(EXPECTED)) {
    const [className, name] = key.split('/');
    const was = object(before, className, name);
    const now = object(afterRestart, className, name);
    assert.equal(now.storage_bytes, was.storage_bytes, key);
    assert.ok(now.do_cpu_ms >= was.do_cpu_ms, key);
    assert.equal(now.live, false, key);
  }
  assert.equal(afterRestart.live_objects, 0);
  assert.equal(afterRestart.live_websockets, 0);
  const m = await metrics();
  assert.equal(sample(m, 'dorm_do_requests_total', { app: 'default', class: 'meter-x' }), 10);
  assert.equal(sample(m, 'dorm_do_requests_total', { app: 'default', class: 'meter-y' }), 6);
  // New work adds to the restored totals.
  await server.json('/_do/meter-x/a', { method: 'POST' });
  assert.equal(object(await usage(), 'meter-x', 'a').do_requests, 8);
});
