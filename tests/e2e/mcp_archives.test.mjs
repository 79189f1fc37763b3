// The MCP tool's `export` and `backup` actions: archives written only inside the folder the
// operator gave `dorm mcp --archive-root`, under a plain name (no path, no traversal, no
// symbolic link followed, nothing overwritten), each the same archive `dorm export` and `dorm
// backup` write: an export imports back with `dorm import`, a backup restores with `dorm restore`
// into a data folder a new server starts from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startServer, fixture, dormBin, makeTempDir, runCli, describeCli } from './lib/dorm.mjs';

const CLASS = 'archived';
let server;
let client;
const work = makeTempDir('mcp-archives');
const root = path.join(work, 'archives');

async function connectClient(args) {
  const transport = new StdioClientTransport({ command: dormBin(), args: ['mcp', ...args], stderr: 'pipe' });
  const c = new Client({ name: 'dorm-e2e', version: '1.0.0' });
  await c.connect(transport);
  return c;
}

before(async () => {
  fs.mkdirSync(root);
  server = await startServer();
  await server.deploy(fixture('export_backup.js'), { name: CLASS });
  for (const name of ['ann', 'ben']) await server.json(`/_do/${CLASS}/${name}/put?key=who&value=${encodeURIComponent(JSON.stringify(name))}`);
  client = await connectClient(['--data', server.dataDir, '--archive-root', root]);
});

after(async () => {
  await client?.close();
  await server?.stop();
});

const manage = (args, c = client) => c.callTool({ name: 'manage_durable_objects', arguments: args });

function ok(result) {
  assert.equal(result.isError, false, JSON.stringify(result));
  return result.structuredContent;
}

function toolError(result) {
  assert.equal(result.isError, true, JSON.stringify(result));
  return result.content[0].text;
}

const rootReal = () => fs.realpathSync(root);

test('export writes a class, or one object, into the archive folder; it imports back', async () => {
  const whole = ok(await manage({ action: 'export', name: CLASS, file: 'class.dorm' }));
  assert.deepEqual(whole, { path: path.join(rootReal(), 'class.dorm'), objects: 2 });
  const one = ok(await manage({ action: 'export', name: CLASS, object: 'ben', file: 'ben.dorm' }));
  assert.deepEqual(one, { path: path.join(rootReal(), 'ben.dorm'), objects: 1 });
  assert.deepEqual(fs.readdirSync(root).sort(), ['ben.dorm', 'class.dorm']);
  assert.equal(fs.readFileSync(path.join(root, 'class.dorm')).subarray(0, 15).toString(), 'DORM-ARCHIVE 1\n');

  await server.json(`/_do/${CLASS}/ben/put?key=who&value=${encodeURIComponent('"changed"')}`);
  const imported = await server.cli(['import', path.join(root, 'ben.dorm'), '--force']);
  assert.equal(imported.code, 0, describeCli(imported));
  assert.equal((await server.json(`/_do/${CLASS}/ben/get?key=who`)).value, 'ben');
  // The server's refusal is the tool's error, and nothing is left behind.
  assert.match(toolError(await manage({ action: 'export', name: 'nowhere', file: 'none.dorm' })),
    /No Durable Object class named 'nowhere' in app 'default'/);
  assert.match(toolError(await manage({ action: 'export', name: CLASS, object: 'never-written', file: 'none.dorm' })),
    /has no storage/);
  assert.deepEqual(fs.readdirSync(root).sort(), ['ben.dorm', 'class.dorm']);
});

test('backup writes the whole server into a new folder; it restores and serves', async () => {
  const result = ok(await manage({ action: 'backup', folder: 'nightly-1' }));
  assert.equal(result.path, path.join(rootReal(), 'nightly-1', 'backup.dorm'));
  assert.ok(result.files >= 3, JSON.stringify(result));
  const data = path.join(work, 'restored');
  const restored = await runCli(['restore', path.join(root, 'nightly-1'), '--data', data]);
  assert.equal(restored.code, 0, describeCli(restored));
  const copy = await startServer({ dataDir: data });
  try {
    assert.equal((await copy.json(`/_do/${CLASS}/ann/get?key=who`)).value, 'ann');
  } finally {
    await copy.stop();
  }
  assert.equal(result.incremental, false);

  // Incrementally from it: only the object written since is copied.
  await server.json(`/_do/${CLASS}/ann/put?key=who&value=${encodeURIComponent('"ann again"')}`);
  const next = ok(await manage({ action: 'backup', folder: 'nightly-2', incremental_from: 'nightly-1' }));
  assert.equal(next.incremental, true, JSON.stringify(next));
  assert.equal(next.objects_copied, 1);
  assert.equal(next.objects_unchanged, result.files - next.files);
  assert.ok(next.objects_unchanged >= 1);
  const data2 = path.join(work, 'restored-2');
  const restored2 = await runCli(['restore', path.join(root, 'nightly-2'), '--data', data2]);
  assert.equal(restored2.code, 0, describeCli(restored2));
  const copy2 = await startServer({ dataDir: data2 });
  try {
    assert.equal((await copy2.json(`/_do/${CLASS}/ann/get?key=who`)).value, 'ann again');
    assert.equal((await copy2.json(`/_do/${CLASS}/ben/get?key=who`)).value, 'ben');
  } finally {
    await copy2.stop();
  }
  for (const from of ['..', '../nightly-1', 'missing']) {
    assert.match(toolError(await manage({ action: 'backup', folder: 'nightly-x', incremental_from: from })),
      from === 'missing' ? /missing\/backup\.dorm: cannot read/ : /`incremental_from` must name a folder directly inside the archive folder/, from);
  }
  assert.ok(!fs.existsSync(path.join(root, 'nightly-x')));
});

test('names are checked: nothing outside the archive folder, nothing overwritten', async () => {
  const outside = path.join(work, 'outside');
  fs.mkdirSync(outside);
  fs.symlinkSync(outside, path.join(root, 'link'));
  const before = fs.readdirSync(root).sort();
  const fileCases = ['../escape.dorm', '/tmp/abs.dorm', 'sub/x.dorm', '.hidden.dorm', 'x.txt', '.dorm', '..', 'a\\b.dorm', `${'a'.repeat(101)}.dorm`, ''];
  for (const file of fileCases) {
    const text = toolError(await manage({ action: 'export', name: CLASS, file }));
    if (file === '') assert.match(text, /Action 'export' needs the argument 'file'/);
    else assert.match(text, /^Invalid file '.*': one name of letters, digits, '\.', '_' and '-' inside the archive folder, starting with a letter or digit, ending in \.dorm\.$/, file);
  }
  for (const folder of ['..', '../up', 'a/b', '/abs', '.', '.x']) {
    assert.match(toolError(await manage({ action: 'backup', folder })), /^Invalid folder /, folder);
  }
  // Taken names: a file, a folder, a symbolic link (never followed).
  assert.match(toolError(await manage({ action: 'export', name: CLASS, file: 'class.dorm' })),
    /The archive folder already has 'class.dorm': archives are never overwritten; choose another name\./);
  assert.match(toolError(await manage({ action: 'backup', folder: 'nightly-1' })), /already has 'nightly-1'/);
  assert.match(toolError(await manage({ action: 'backup', folder: 'link' })), /already has 'link'/);
  fs.symlinkSync(path.join(outside, 'target.dorm'), path.join(root, 'dangling.dorm'));
  assert.match(toolError(await manage({ action: 'export', name: CLASS, file: 'dangling.dorm' })), /already has 'dangling.dorm'/);
  // The archive is written to NAME.partial first: a link there is not followed either.
  fs.symlinkSync(path.join(outside, 'partial.dorm'), path.join(root, 'trap.dorm.partial'));
  assert.match(toolError(await manage({ action: 'export', name: CLASS, file: 'trap.dorm' })),
    /The archive folder has 'trap.dorm.partial', which is not a file: remove it or choose another name\./);
  assert.deepEqual(fs.readdirSync(outside), []);
  assert.deepEqual(fs.readdirSync(root).sort(), [...before, 'dangling.dorm', 'trap.dorm.partial'].sort());
  assert.ok(!fs.existsSync(path.join(work, 'escape.dorm')));
});

test('without --archive-root the actions are refused; a root that is not a folder stops the MCP server', async () => {
  const plain = await connectClient(['--data', server.dataDir]);
  try {
    for (const args of [{ action: 'export', name: CLASS, file: 'x.dorm' }, { action: 'backup', folder: 'x' }]) {
      assert.equal(toolError(await manage(args, plain)),
        `Action '${args.action}' needs an archive folder: start the MCP server with dorm mcp --archive-root DIR.`);
    }
  } finally {
    await plain.close();
  }
  const missing = await runCli(['mcp', '--data', server.dataDir, '--archive-root', path.join(work, 'no-such-folder')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--archive-root .*no-such-folder is not a folder/);
});
