// What the cluster tests share: a node of a cluster on a throwaway PostgreSQL (lib/postgres.mjs),
// each on a free loopback port that it also advertises, and the rendezvous hash by which nodes
// place new objects.
import assert from 'node:assert/strict';
import { startServer } from './dorm.mjs';
import { freePort } from './postgres.mjs';

// Starts `dorm serve --cluster` as node `name` of the cluster on `pg` (startPostgres()), with
// `flags` added. The server's `name` is set to the node's.
export async function startClusterNode(pg, name, { flags = [] } = {}) {
  const port = await freePort();
  const node = await startServer({
    listen: `127.0.0.1:${port}`,
    flags: ['--cluster', pg.url, '--node', name, '--advertise', `http://127.0.0.1:${port}`, ...flags],
  });
  node.name = name;
  return node;
}

// Sets env var NODE_NAME of `app` on `node` to the node's name (the test fixtures answer with it,
// so that a test sees which node ran them).
export async function setNodeName(node, app = 'default') {
  const set = await node.api('PUT', `/apps/${app}/env/NODE_NAME`, { value: node.name });
  assert.ok(set.status === 201 || set.status === 200, `env: ${set.status} ${set.body}`);
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
