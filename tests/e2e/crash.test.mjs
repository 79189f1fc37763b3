// Crash safety: concurrent clients increment counters and write journal entries while the
// server is killed with SIGKILL at a random moment; after a restart on the same data folder,
// everything that was acknowledged with a 200 must be in storage. Repeated for several rounds
// on the same data folder, so acknowledgements accumulate across crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, fixture, makeTempDir, httpRequest, sleep, waitFor } from './lib/dorm.mjs';

const ROUNDS = 20;
const CLIENTS = 16;
const COUNTERS = ['c0', 'c1', 'c2', 'c3'];
const JOURNALS = ['j0', 'j1'];

test('every acknowledged write survives kill -9', { timeout: 180000 }, async (t) => {
  const dataDir = makeTempDir('crash');
  let server = await startServer({ dataDir });
  let stopping = false;
  let agent;
  let clients = [];

  const acked = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const maxAcked = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const attempted = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const ackedIds = Object.fromEntries(JOURNALS.map((j) => [j, []]));
  const unexpected = [];
  let totalAcks = 0;

  try {
    await server.deploy(fixture('crash_counter.js'));
    await server.deploy(fixture('crash_journal.js'));

    for (let round = 0; round < ROUNDS; round++) {
      agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
      stopping = false;
      let roundAcks = 0;
      const port = server.port;

      const client = async (w) => {
        for (let seq = 0; !stopping; seq++) {
          const journal = seq % 3 === 2;
          const target = journal ? JOURNALS[w % JOURNALS.length] : COUNTERS[(w + seq) % COUNTERS.length];
          const id = `r${round}-w${w}-s${seq}`;
          const reqPath = journal ? `/_do/crash-journal/${target}/write?id=${id}` : `/_do/crash-counter/${target}/inc`;
          if (!journal) attempted[target] += 1;
          let res;
          try {
            res = await httpRequest({ port, path: reqPath, agent, timeoutMs: 20000 });
          } catch (err) {
            if (!stopping) unexpected.push(`round ${round}: ${reqPath}: ${err.message}`);
            return;
          }
          if (res.status !== 200) {
            if (!stopping) unexpected.push(`round ${round}: ${reqPath}: status ${res.status} ${res.text}`);
            continue;
          }
          let body;
          try {
            body = res.json();
          } catch {
            continue; // not a complete acknowledgement
          }
          roundAcks += 1;
          totalAcks += 1;
          if (journal) {
            ackedIds[target].push(id);
          } else {
            acked[target] += 1;
            maxAcked[target] = Math.max(maxAcked[target], body.n);
          }
        }
      };

      clients = Array.from({ length: CLIENTS }, (_, w) => client(w));
      // Kill only once the clients are making progress, then at a random moment.
      await waitFor(() => roundAcks >= 8 || unexpected.length > 0, { timeoutMs: 20000, intervalMs: 5, what: 'progress' });
      assert.deepEqual(unexpected, [], 'requests failed before the crash');
      await sleep(Math.floor(Math.random() * 300));
      stopping = true;
      await server.kill9();
      await Promise.all(clients);
      agent.destroy();

      server = await server.restart();
      for (const c of COUNTERS) {
        const { n } = await server.json(`/_do/crash-counter/${c}/get`);
        assert.ok(n >= acked[c], `round ${round}, ${c}: count ${n} < ${acked[c]} acknowledged increments`);
        assert.ok(n >= maxAcked[c], `round ${round}, ${c}: count ${n} < acknowledged value ${maxAcked[c]}`);
        assert.ok(n <= attempted[c], `round ${round}, ${c}: count ${n} > ${attempted[c]} increments ever sent`);
      }
      for (const j of JOURNALS) {
        const check = await server.json(`/_do/crash-journal/${j}/check`, { method: 'POST', body: ackedIds[j] });
        assert.deepEqual(check.missing, [], `round ${round}, ${j}: acknowledged journal entries missing`);
        assert.deepEqual(check.unpaired, [], `round ${round}, ${j}: writes made without an await between them were split`);
      }
    }
    assert.deepEqual(unexpected, []);
    assert.ok(totalAcks >= ROUNDS * 8);
    const journalled = JOURNALS.reduce((sum, j) => sum + ackedIds[j].length, 0);
    t.diagnostic(`${ROUNDS} crashes; acknowledged ${totalAcks} writes (${journalled} journal pairs), counters ${JSON.stringify(acked)}`);
    await server.stop();
  } finally {
    // On failure: stop the clients and the server so the test process can end.
    stopping = true;
    await server.kill9();
    await Promise.all(clients);
    agent?.destroy();
  }
});
