// `dorm mcp`: the MCP server on stdio, driven by the reference client (npm
// @modelcontextprotocol/sdk, installed from tests/package.json) and, for what a well-behaved
// client never sends, by raw JSON-RPC lines. The tool manage_durable_objects deploys the seed
// ChatRoom, lists, gets, manages env vars, reads its usage after HTTP and WebSocket traffic, and
// deletes through a real server's admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import readline from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startServer, fixture, dormBin, withTimeout } from './lib/dorm.mjs';
import { WsClient } from './lib/ws.mjs';

const ACTIONS = ['deploy', 'list', 'get', 'delete', 'usage', 'list_env', 'set_env', 'delete_env', 'tail',
  'list_objects', 'get_storage', 'export', 'backup'];
const CLASS_FIELDS = ['access_mode', 'class_name', 'id', 'last_deployed_at', 'name', 'status'];

let server;
let client;

async function connectClient(args) {
  const transport = new StdioClientTransport({ command: dormBin(), args: ['mcp', ...args], stderr: 'pipe' });
  const c = new Client({ name: 'dorm-e2e', version: '1.0.0' });
  await c.connect(transport);
  return c;
}

before(async () => {
  server = await startServer();
  client = await connectClient(['--data', server.dataDir]);
});

after(async () => {
  await client?.close();
  await server?.stop();
});

function manage(args, c = client) {
  return c.callTool({ name: 'manage_durable_objects', arguments: args });
}

// The result of a successful call: its text is the JSON of its structured content.
function ok(result) {
  assert.equal(result.isError, false, JSON.stringify(result));
  assert.equal(result.content.length, 1);
  assert.equal(result.content[0].type, 'text');
  assert.deepEqual(JSON.parse(result.content[0].text), result.structuredContent);
  return result.structuredContent;
}

// The text of a tool error.
function toolError(result) {
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.equal(result.content[0].type, 'text');
  return result.content[0].text;
}

test('initialize: server info, tools capability, instructions', () => {
  assert.equal(client.getServerVersion().name, 'dorm');
  assert.equal(typeof client.getServerVersion().version, 'string');
  assert.ok(client.getServerCapabilities().tools, JSON.stringify(client.getServerCapabilities()));
  assert.match(client.getInstructions(), /manage_durable_objects/);
});

test('tools/list offers manage_durable_objects with the seed actions and arguments', async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), ['manage_durable_objects']);
  const schema = tools[0].inputSchema;
  assert.equal(schema.type, 'object');
  assert.deepEqual(schema.required, ['action']);
  assert.deepEqual(schema.properties.action.enum, ACTIONS);
  for (const arg of ['app_id', 'name', 'code', 'access_mode', 'key', 'value', 'since', 'object', 'level', 'prefix', 'cursor', 'limit', 'file', 'folder', 'incremental_from']) {
    assert.equal(schema.properties[arg]?.type, 'string', arg);
  }
  assert.deepEqual(schema.properties.access_mode.enum, ['public', 'authenticated', 'service_key']);
  assert.equal(tools[0].annotations.destructiveHint, true);
});

test('list_objects and get_storage read the objects list and an object\'s storage', async () => {
  const code = fs.readFileSync(fixture('objects_admin.js'), 'utf8');
  ok(await manage({ action: 'deploy', name: 'browsed', code, access_mode: 'public', app_id: 'mcp-objects' }));
  for (const name of ['one', 'two']) {
    const res = await server.request(`/_do/browsed/${name}/put?key=k&value=${encodeURIComponent(`"${name}"`)}`, {
      headers: { host: `mcp-objects.localhost:${server.port}` },
    });
    assert.equal(res.status, 200, res.text);
  }
  const page = ok(await manage({ action: 'list_objects', app_id: 'mcp-objects', name: 'browsed', limit: '1' }));
  assert.equal(page.objects.length, 1);
  assert.match(page.cursor, /^[0-9a-f]{64}$/);
  const rest = ok(await manage({ action: 'list_objects', app_id: 'mcp-objects', name: 'browsed', cursor: page.cursor }));
  assert.deepEqual([...page.objects, ...rest.objects].map((o) => o.name).sort(), ['one', 'two']);
  assert.equal(rest.cursor, null);
  assert.deepEqual(ok(await manage({ action: 'get_storage', app_id: 'mcp-objects', name: 'browsed', object: 'two', key: 'k' })),
    { key: 'k', value: 'two' });
  assert.deepEqual(ok(await manage({ action: 'get_storage', app_id: 'mcp-objects', name: 'browsed', object: 'one' })).entries,
    [{ key: 'k', value: 'one' }]);
  assert.match(toolError(await manage({ action: 'get_storage', app_id: 'mcp-objects', name: 'browsed' })),
    /Action 'get_storage' needs the argument 'object'/);
  ok(await manage({ action: 'delete', app_id: 'mcp-objects', name: 'browsed' }));
});

test('deploy, list, get and delete the seed ChatRoom', async () => {
  const code = fs.readFileSync(fixture('seed_chat_room.ts'), 'utf8');
  const deployed = ok(await manage({ action: 'deploy', name: 'chat-room', code, access_mode: 'public' }));
  assert.deepEqual(Object.keys(deployed).sort(), CLASS_FIELDS);
  assert.equal(deployed.name, 'chat-room');
  assert.equal(deployed.class_name, 'ChatRoom');
  assert.equal(deployed.status, 'READY');
  assert.equal(deployed.access_mode, 'public');
  assert.match(deployed.id, /^do_[0-9a-f]+$/);
  assert.ok(!Number.isNaN(Date.parse(deployed.last_deployed_at)), deployed.last_deployed_at);
  // It serves: a room starts without messages.
  assert.deepEqual(await server.json('/_do/chat-room/lobby'), []);

  const listed = ok(await manage({ action: 'list' }));
  assert.deepEqual(listed, { classes: [deployed] });

  const got = ok(await manage({ action: 'get', name: 'chat-room' }));
  assert.equal(got.source, code);
  assert.equal(got.error_message, null);
  assert.equal(got.status, 'READY');
  assert.equal(got.class_name, 'ChatRoom');

  // The same class in another app, named after its class.
  const other = ok(await manage({ action: 'deploy', app_id: 'mcp-other', code, access_mode: 'public' }));
  assert.equal(other.name, 'chat-room');
  assert.deepEqual((await server.api('GET', '/apps/mcp-other/classes')).json().classes.map((c) => c.name), ['chat-room']);

  assert.deepEqual(ok(await manage({ action: 'delete', name: 'chat-room', app_id: 'mcp-other' })).deleted, true);
  assert.deepEqual((await server.api('GET', '/apps/mcp-other/classes')).json().classes, []);
  assert.match(toolError(await manage({ action: 'get', name: 'chat-room', app_id: 'mcp-other' })), /No Durable Object class named 'chat-room'/);
});

test('set_env, list_env and delete_env; a binding-name key is refused', async () => {
  const app = 'mcp-env';
  assert.deepEqual(ok(await manage({ action: 'list_env', app_id: app })).keys, []);
  const set = ok(await manage({ action: 'set_env', app_id: app, key: 'AI_API_KEY', value: 'sk-secret-value' }));
  assert.equal(set.key, 'AI_API_KEY');
  const listed = await manage({ action: 'list_env', app_id: app });
  assert.deepEqual(ok(listed).keys, ['AI_API_KEY']);
  assert.ok(!JSON.stringify(listed).includes('sk-secret-value'));
  // The value reaches the app's classes.
  await server.deploy(fixture('env_plain.js'), { app });
  const seen = await server.json('/_do/env-plain/a?key=AI_API_KEY', { headers: { host: `${app}.localhost` } });
  assert.equal(seen.value, 'sk-secret-value');

  assert.equal(ok(await manage({ action: 'delete_env', app_id: app, key: 'AI_API_KEY' })).deleted, true);
  assert.deepEqual(ok(await manage({ action: 'list_env', app_id: app })).keys, []);
  assert.match(toolError(await manage({ action: 'delete_env', app_id: app, key: 'AI_API_KEY' })), /No env var AI_API_KEY/);
  assert.match(
    toolError(await manage({ action: 'set_env', app_id: app, key: 'ENV_PLAIN', value: 'x' })),
    /ENV_PLAIN collides with the binding name of Durable Object class 'env-plain'/,
  );
  assert.match(toolError(await manage({ action: 'set_env', app_id: app, key: 'lower', value: 'x' })), /Invalid env var key 'lower'/);
});

test('bad calls are tool errors with a clear text', async () => {
  assert.match(toolError(await manage({})), /Missing argument 'action'/);
  assert.match(toolError(await manage({ action: 'explode' })), /Unknown action 'explode'/);
  assert.match(toolError(await manage({ action: 'get' })), /'get' needs the argument 'name'/);
  assert.match(toolError(await manage({ action: 'delete' })), /'delete' needs the argument 'name'/);
  assert.match(toolError(await manage({ action: 'deploy' })), /'deploy' needs the argument 'code'/);
  assert.match(toolError(await manage({ action: 'set_env', key: 'K' })), /'set_env' needs the argument 'value'/);
  assert.match(toolError(await manage({ action: 'list', colour: 'red' })), /Unknown argument 'colour'/);
  assert.match(toolError(await manage({ action: 'list', app_id: 7 })), /'app_id' must be a string/);
  assert.match(toolError(await manage({ action: 'list', app_id: 'Not An App' })), /Invalid app name 'Not An App'/);
  const twoClasses = fs.readFileSync(fixture('bad_two_classes.js'), 'utf8');
  assert.match(
    toolError(await manage({ action: 'deploy', code: twoClasses, access_mode: 'public' })),
    /Source must export exactly one class/,
  );
  assert.match(toolError(await manage({ action: 'get', name: 'nothing-here' })), /No Durable Object class named 'nothing-here'/);
  // An unknown tool is a protocol error (invalid params).
  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => e.code === -32602);
});

test('an unreachable server is a tool error, and the MCP server keeps serving', async () => {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const offline = await connectClient(['--server', `http://127.0.0.1:${port}`, '--token', 't']);
  try {
    assert.match(toolError(await manage({ action: 'list' }, offline)), /cannot reach the Dorm server at http:\/\/127\.0\.0\.1/);
    assert.deepEqual((await offline.listTools()).tools.length, 1);
  } finally {
    await offline.close();
  }
});

test('usage asks GET /_admin/v1/usage with app, name and since, and returns the server\'s JSON', async () => {
  // A stand-in admin API, so the request the tool makes is seen exactly.
  const seen = [];
  const meters = { do_requests: 12, do_cpu_ms: 34 };
  const fake = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    if (req.url.startsWith('/_admin/v1/usage?')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(meters));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'Unknown admin endpoint.' }));
    }
  });
  await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const c = await connectClient(['--server', `http://127.0.0.1:${fake.address().port}`, '--token', 'tok-1']);
  try {
    assert.deepEqual(ok(await manage({ action: 'usage', app_id: 'shop', name: 'chat-room', since: '2025-01-31T00:00:00Z' }, c)), meters);
    assert.deepEqual(seen.at(-1), {
      method: 'GET',
      url: '/_admin/v1/usage?app=shop&name=chat-room&since=2025-01-31T00%3A00%3A00Z',
      authorization: 'Bearer tok-1',
    });
    ok(await manage({ action: 'usage' }, c));
    assert.equal(seen.at(-1).url, '/_admin/v1/usage?app=default');
    // The server's errors come back as they are, with where they came from.
    assert.equal(toolError(await manage({ action: 'list' }, c)), 'Unknown admin endpoint. (HTTP 404 from GET /_admin/v1/apps/default/classes)');
  } finally {
    await c.close();
    await new Promise((resolve) => fake.close(resolve));
  }
});

// Raw JSON-RPC over the process's stdio, one line per message.
class RawSession {
  constructor() {
    this.proc = spawn(dormBin(), ['mcp', '--server', 'http://127.0.0.1:9', '--token', 't'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    this.waiters = [];
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
  }

  send(text) {
    this.proc.stdin.write(`${text}\n`);
  }

  async next() {
    const line = this.lines.length ? this.lines.shift() : await withTimeout(new Promise((r) => this.waiters.push(r)), 10000);
    assert.ok(line !== null, 'no answer within 10 s');
    return JSON.parse(line);
  }

  async call(message) {
    this.send(JSON.stringify(message));
    return this.next();
  }

  async close() {
    this.proc.stdin.end();
    const code = await withTimeout(new Promise((r) => this.proc.on('exit', r)), 10000);
    assert.equal(code, 0, 'dorm mcp exits 0 when its input ends');
  }
}

const initialize = (id, protocolVersion) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

test('deploy the seed ChatRoom, use it over HTTP and WebSocket, and read its usage', async () => {
  const code = fs.readFileSync(fixture('seed_chat_room.ts'), 'utf8');
  ok(await manage({ action: 'deploy', name: 'metered-room', app_id: 'mcp-usage', code, access_mode: 'public' }));
  const host = { host: `mcp-usage.localhost:${server.port}` };
  // Workload on one room: 2 POST broadcasts, 1 GET, 1 WebSocket upgrade, 3 WebSocket messages.
  const ws = await WsClient.open(`ws://127.0.0.1:${server.port}/_do/metered-room/lobby`, { headers: host });
  await ws.next((d) => typeof d === 'string' && JSON.parse(d).type === 'init', { what: 'the init message' });
  for (const text of ['a', 'b']) {
    const res = await server.request('/_do/metered-room/lobby', {
      method: 'POST',
      headers: { ...host, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    assert.equal(res.status, 200, res.text);
  }
  for (const text of ['1', '2', '3']) {
    await ws.send(text);
    await ws.next((d) => d === text, { what: `the broadcast of ${text}` });
  }
  const history = (await server.request('/_do/metered-room/lobby', { headers: host })).json();
  assert.deepEqual(history, [{ text: 'a' }, { text: 'b' }]);
  ws.ws.close(1000, 'done');
  await ws.closed;

  const usage = ok(await manage({ action: 'usage', app_id: 'mcp-usage', name: 'metered-room' }));
  const room = usage.objects.find((o) => o.class === 'metered-room' && o.name === 'lobby');
  assert.ok(room, JSON.stringify(usage));
  assert.equal(room.http_requests, 4, JSON.stringify(room));
  assert.equal(room.websocket_messages, 3, JSON.stringify(room));
  assert.equal(room.do_requests, 7, JSON.stringify(room));
  assert.equal(usage.classes.find((c) => c.name === 'metered-room').do_requests, 7);
  assert.ok(room.do_cpu_ms > 0 && room.storage_bytes > 0, JSON.stringify(room));
});

test('JSON-RPC errors: parse error, invalid request, unknown method, invalid params, requests before initialize', async () => {
  const s = new RawSession();
  try {
    s.send('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.deepEqual((await s.next()).error.code, -32700);
    assert.equal((await s.call({ jsonrpc: '2.0', id: 2, method: 'tools/list' })).error.code, -32600);
    assert.deepEqual(await s.call({ jsonrpc: '2.0', id: 'p', method: 'ping' }), { jsonrpc: '2.0', id: 'p', result: {} });
    assert.equal((await s.call({ jsonrpc: '2.0', id: 3, method: 'initialize', params: {} })).error.code, -32602);
    const init = await s.call(initialize(4, '2025-06-18'));
    assert.equal(init.id, 4);
    assert.equal(init.result.protocolVersion, '2025-06-18');
    assert.equal(init.result.serverInfo.name, 'dorm');
    assert.equal((await s.call(initialize(5, '2025-06-18'))).error.code, -32600);
    // Notifications, known or not, and responses get no answer: the next line answers the ping.
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    s.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/whatever', params: {} }));
    s.send(JSON.stringify({ jsonrpc: '2.0', id: 99, result: {} }));
    s.send('');
    assert.deepEqual(await s.call({ jsonrpc: '2.0', id: 6, method: 'ping' }), { jsonrpc: '2.0', id: 6, result: {} });
    const unknown = await s.call({ jsonrpc: '2.0', id: 7, method: 'resources/list' });
    assert.equal(unknown.error.code, -32601);
    assert.match(unknown.error.message, /resources\/list/);
    assert.equal((await s.call({ jsonrpc: '1.0', id: 8, method: 'ping' })).error.code, -32600);
    assert.deepEqual(await s.call({ jsonrpc: '2.0', id: null, method: 'ping' }), {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid Request: "id" must be a string or a number' },
    });
    assert.equal((await s.call([{ jsonrpc: '2.0', id: 9, method: 'ping' }])).error.code, -32600);
    assert.equal((await s.call({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { arguments: {} } })).error.code, -32602);
    assert.equal(
      (await s.call({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'manage_durable_objects', arguments: 'list' } })).error.code,
      -32602,
    );
    // Tool results carry structuredContent from 2025-06-18 on.
    const call = await s.call({ jsonrpc: '2.0', id: 12, method: 'tools/call', params: { name: 'manage_durable_objects', arguments: { action: 'nope' } } });
    assert.equal(call.result.isError, true);
    assert.match(call.result.content[0].text, /Unknown action 'nope'/);
  } finally {
    await s.close();
  }
});

test('protocol version negotiation: a supported version is echoed, another gets the newest', async () => {
  const old = new RawSession();
  try {
    assert.equal((await old.call(initialize(1, '2024-11-05'))).result.protocolVersion, '2024-11-05');
    const tools = await old.call({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    assert.equal(tools.result.tools[0].name, 'manage_durable_objects');
  } finally {
    await old.close();
  }
  const future = new RawSession();
  try {
    assert.equal((await future.call(initialize(1, '2099-01-01'))).result.protocolVersion, '2025-11-25');
  } finally {
    await future.close();
  }
});
