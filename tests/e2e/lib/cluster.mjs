// What the cluster tests share: a node of a cluster on a throwaway PostgreSQL (lib/postgres.mjs),
// each on a free loopback port that it also advertises, and the rendezvous hash by which nodes
// place new objects.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach } from 'node:test';
import { makeTempDir, startServer } from './dorm.mjs';
import { freePort } from './postgres.mjs';

// Every node of a cluster needs the same secrets key (DATA/secrets.key): one per PostgreSQL
// server started by this process.
const secretsKeys = new WeakMap();

// Starts `dorm serve --cluster` as node `name` of the cluster on `pg` (startPostgres()), with
// `flags` added, on a new data folder holding the cluster's secrets key. The server's `name` is
// set to the node's, and every app on it has the node var NODE_NAME (`--var`) set to it (the test
// fixtures answer with it, so that a test sees which node ran them). `url` reaches `pg` another
// way (through a proxy).
export async function startClusterNode(pg, name, { flags = [], dataDir, url = pg.url } = {}) {
  if (!secretsKeys.has(pg)) secretsKeys.set(pg, crypto.randomBytes(32));
  if (!dataDir) {
    dataDir = makeTempDir('data');
    fs.writeFileSync(path.join(dataDir, 'secrets.key'), secretsKeys.get(pg), { mode: 0o600 });
  }
  const port = await freePort();
  const node = await startServer({
    dataDir,
    listen: `127.0.0.1:${port}`,
    flags: ['--cluster', url, '--node', name, '--advertise', `http://127.0.0.1:${port}`,
      '--var', `NODE_NAME:${name}`, ...flags],
  });
  node.name = name;
  return node;
}

// Called at a test file's top level: returns a list to which the file adds the nodes its tests
// start, and stops (after each test, whatever its outcome) every node in it still running. A node
// left running by a failed test would take part in the next tests' rendezvous hashing and take
// their new objects.
export function nodesStoppedAfterEachTest() {
  const started = [];
  afterEach(async () => {
    for (const node of started.splice(0)) if (!node.exitInfo) await node.stop({ expectCode: null });
  });
  return started;
}

// The same score as src/cluster/rendezvous.cc: FNV-1a over the node name's length (8 bytes,
// little-endian), the name and the object key, then a 64-bit finalizer.
const MASK = (1n << 64n) - 1n;
export function score(node, object) {
  let hash = 0xcbf29ce484222325n;
  const eat = (byte) => { hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & MASK; };
  const name = Buffer.from(node);
  for (let i = 0; i < 8; i++) eat(Number((BigInt(name.length) >> BigInt(8 * i)) & 0xffn));
  for (const byte of name) eat(byte);
  for (const byte of Buffer.from(object)) eat(byte);
  let x = hash;
  x ^= x >> 30n; x = (x * 0xbf58476d1ce4e5b9n) & MASK;
  x ^= x >> 27n; x = (x * 0x94d049bb133111ebn) & MASK;
  x ^= x >> 31n;
  return x;
}

// The node among `names` that rendezvous hashing gives object key `object` to.
export function rendezvous(names, object) {
  return [...names].sort().reduce((best, name) => (score(name, object) > score(best, object) ? name : best));
}

// Deploys `file` through `node` (a single class named `name`, or with `project` a Wrangler
// project whose classes include `name`) unless the cluster has that class of `app` already: the
// control plane is the cluster's, so one deploy reaches every node, and deploying again would
// reset the instances live on the others.
export async function deployOnce(node, file, { name, app = 'default', project = false } = {}) {
  if ((await node.classNames(app)).includes(name)) return;
  if (!project) {
    await node.deploy(file, { name });
    return;
  }
  const deployed = await node.cli(['deploy', file]);
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stdout}${deployed.stderr}`);
}
