// Calls between objects on two nodes of a cluster: a caller object on one node makes RPC calls to a
// target object on the other, one after the other (each awaited) and all at once (a burst of
// calls made without awaiting each other), and the calls/s of each are printed. Runs a throwaway
// PostgreSQL and two `dorm serve --cluster` nodes on loopback (tests/e2e/lib), so it needs what
// the cluster tests need.
//
//   node bench/cluster-calls.mjs [--dorm PATH] [--calls N] [--rounds N]
//
// PATH defaults to build/dorm (or $DORM_BIN). Each round sends `--calls` calls per mode; the
// best and the median round are printed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../tests/e2e/lib/postgres.mjs';
import { startClusterNode } from '../tests/e2e/lib/cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
process.env.DORM_BIN = path.resolve(option('dorm', process.env.DORM_BIN ?? path.join(here, '..', 'build', 'dorm')));
const CALLS = Number(option('calls', 2000));
const ROUNDS = Number(option('rounds', 5));
const APP = 'cluster-calls';

const pg = await startPostgres();
const nodes = [];
try {
  for (const name of ['bench-a', 'bench-b']) {
    const node = await startClusterNode(pg, name);
    nodes.push(node);
    const deployed = await node.cli(['deploy', path.join(here, 'cluster-calls', 'wrangler.toml')]);
    if (deployed.code !== 0) throw new Error(`deploy: ${deployed.stderr}`);
  }
  const ask = async (caller, to, n, mode) => {
    const res = await nodes[0].request(`/?caller=${caller}&to=${to}&n=${n}&mode=${mode}`, {
      headers: { host: `${APP}.localhost:${nodes[0].port}` }, timeoutMs: 600000,
    });
    if (res.status !== 200) throw new Error(`${res.status} ${res.text}`);
    return res.json();
  };
  // A caller and a target on different nodes.
  let pair;
  for (let i = 0; i < 50 && !pair; i++) {
    const got = await ask(`caller-${i}`, `target-${i}`, 1, 'seq');
    if (got.caller !== got.callee) pair = [`caller-${i}`, `target-${i}`];
  }
  if (!pair) throw new Error('no caller and target on different nodes');
  await ask(...pair, 200, 'seq');  // warm-up
  for (const mode of ['seq', 'burst']) {
    const rates = [];
    for (let r = 0; r < ROUNDS; r++) {
      const { ms } = await ask(...pair, CALLS, mode);
      rates.push(CALLS / (Math.max(ms, 1) / 1000));
    }
    rates.sort((a, b) => a - b);
    console.log(`${mode === 'seq' ? 'awaited one by one' : 'all at once       '}: ` +
      `median ${Math.round(rates[Math.floor(rates.length / 2)])} calls/s, best ${Math.round(rates.at(-1))} calls/s ` +
      `(${CALLS} calls a round, ${ROUNDS} rounds)`);
  }
} finally {
  for (const node of nodes) await node.stop();
  await pg.stop();
}
