// Crash safety: concurrent clients increment counters and write journal entries while the
// server is killed with SIGKILL at a random moment; after a restart on the same data folder,
// everything that was acknowledged with a 200 must be in storage. Repeated for 50 rounds on the
// same data folder, so acknowledgements accumulate across crashes (15 with the sanitizer build,
// about three times slower, to keep the whole suite within its time budget).
//
// Deletions run in the same load: ledger clients write SQL rows with key-value entries, delete
// entries (SQL DELETE and storage.delete()) and wipe their object (deleteAll()), one request at a
// time, so the exact content each object must have is known; after a crash it must be that, give
// or take the one request that was in flight. And each round deploys a class, writes to it and
// deletes it (`DELETE` of the admin API) while the load runs: once the deletion was acknowledged
// the class must stay gone, and deployed again it must start empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startServer, fixture, makeTempDir, httpRequest, sleep, waitFor } from './lib/dorm.mjs';

const ROUNDS = process.env.DORM_SANITIZED ? 15 : 50;
const CLIENTS = 16;
const COUNTERS = ['c0', 'c1', 'c2', 'c3'];
const JOURNALS = ['j0', 'j1'];
const LEDGERS = ['l0', 'l1', 'l2'];
const DOOMED = 'crash-doomed';
// In an app of its own: deploying or deleting a class resets every object of its app.
const DOOMED_APP = 'doomed';
const DOOMED_HOST = { headers: { host: `${DOOMED_APP}.localhost` } };

// What a ledger object must hold: `ids` as acknowledged, and the request in flight at the crash
// (which may or may not have happened).
function ledgerOutcomes(ledger) {
  const base = [...ledger.ids].sort();
  const op = ledger.inFlight;
  if (!op) return [base];
  if (op.kind === 'write') return [base, [...new Set([...base, op.id])].sort()];
  if (op.kind === 'delete') return [base, base.filter((id) => id !== op.id)];
  return [base, []];
}

// About 2 minutes on the release build; the sanitized build is several times slower.
const TIMEOUT_MS = process.env.DORM_SANITIZED ? 1800000 : 600000;

test('every acknowledged write and deletion survives kill -9', { timeout: TIMEOUT_MS }, async (t) => {
  const dataDir = makeTempDir('crash');
  let server = await startServer({ dataDir });
  let stopping = false;
  let agent;
  let clients = [];

  const acked = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const maxAcked = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const attempted = Object.fromEntries(COUNTERS.map((c) => [c, 0]));
  const ackedIds = Object.fromEntries(JOURNALS.map((j) => [j, []]));
  const ledgers = Object.fromEntries(LEDGERS.map((l) => [l, { ids: new Set(), inFlight: null }]));
  const unexpected = [];
  let totalAcks = 0;
  let ledgerAcks = 0;
  let classDeletions = 0;
  const doomedSource = JSON.stringify({ source: fs.readFileSync(fixture('crash_ledger.js'), 'utf8'), filename: 'crash_ledger.js', name: DOOMED, access_mode: 'public' });

  try {
    await server.deploy(fixture('crash_counter.js'));
    await server.deploy(fixture('crash_journal.js'));
    await server.deploy(fixture('crash_ledger.js'));

    for (let round = 0; round < ROUNDS; round++) {
      // A class to delete under load: it must start empty, whatever an earlier one left.
      if ((await server.classNames(DOOMED_APP)).includes(DOOMED)) {
        const res = await server.api('DELETE', `/apps/${DOOMED_APP}/classes/${DOOMED}`);
        assert.equal(res.status, 200, `round ${round}: delete ${DOOMED}: ${res.text}`);
      }
      const deployed = await server.api('POST', `/apps/${DOOMED_APP}/classes`, doomedSource);
      assert.equal(deployed.status, 201, `round ${round}: deploy ${DOOMED}: ${deployed.text}`);
      for (const d of ['d0', 'd1']) {
        assert.deepEqual(await server.json(`/_do/${DOOMED}/${d}/ids`, DOOMED_HOST), { rows: [], keys: [] }, `round ${round}: a redeployed class sees deleted data`);
        await server.json(`/_do/${DOOMED}/${d}/write?id=${round}`, DOOMED_HOST);
      }
      let doomedDeleteAcked = false;

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

      // One request at a time per ledger, so that its content is known exactly.
      const ledgerClient = async (name, w) => {
        const ledger = ledgers[name];
        for (let seq = 0; !stopping; seq++) {
          const ids = [...ledger.ids];
          let op;
          if (seq % 23 === 22) op = { kind: 'wipe' };
          else if (seq % 4 === 3 && ids.length > 0) op = { kind: 'delete', id: ids[(seq * 7) % ids.length] };
          else op = { kind: 'write', id: `r${round}-s${seq}` };
          ledger.inFlight = op;
          const reqPath = `/_do/crash-ledger/${name}/${op.kind}${op.id ? `?id=${op.id}` : ''}`;
          let res;
          try {
            res = await httpRequest({ port, path: reqPath, agent, timeoutMs: 20000 });
          } catch (err) {
            if (!stopping) unexpected.push(`round ${round}: ${reqPath}: ${err.message}`);
            return;
          }
          if (res.status !== 200) {
            if (!stopping) unexpected.push(`round ${round}: ${reqPath}: status ${res.status} ${res.text}`);
            return;
          }
          try {
            res.json();
          } catch {
            return; // not a complete acknowledgement: the request stays in flight
          }
          if (op.kind === 'write') ledger.ids.add(op.id);
          else if (op.kind === 'delete') ledger.ids.delete(op.id);
          else ledger.ids.clear();
          ledger.inFlight = null;
          roundAcks += 1;
          ledgerAcks += 1;
          totalAcks += 1;
        }
      };
      // The class deletion, at a random moment of the load.
      const deleter = async () => {
        await sleep(Math.floor(Math.random() * 250));
        if (stopping) return;
        try {
          const res = await httpRequest({
            port,
            path: `/_admin/v1/apps/${DOOMED_APP}/classes/${DOOMED}`,
            method: 'DELETE',
            headers: { authorization: `Bearer ${server.adminToken()}` },
            timeoutMs: 20000,
          });
          if (res.status === 200) {
            res.json();
            doomedDeleteAcked = true;
          } else if (!stopping) {
            unexpected.push(`round ${round}: delete ${DOOMED}: status ${res.status} ${res.text}`);
          }
        } catch (err) {
          if (!stopping) unexpected.push(`round ${round}: delete ${DOOMED}: ${err.message}`);
        }
      };

      clients = [
        ...Array.from({ length: CLIENTS }, (_, w) => client(w)),
        ...LEDGERS.map((name, w) => ledgerClient(name, w)),
        deleter(),
      ];
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
      for (const name of LEDGERS) {
        const { rows, keys } = await server.json(`/_do/crash-ledger/${name}/ids`);
        assert.deepEqual(rows, keys, `round ${round}, ${name}: SQL rows and keys of one turn were split`);
        const outcomes = ledgerOutcomes(ledgers[name]);
        assert.ok(
          outcomes.some((o) => JSON.stringify(o) === JSON.stringify(rows)),
          `round ${round}, ${name}: holds ${JSON.stringify(rows)}, expected one of ${JSON.stringify(outcomes)}`,
        );
        // Whatever happened to the request in flight is now the known state.
        ledgers[name].ids = new Set(rows);
        ledgers[name].inFlight = null;
      }
      const present = (await server.classNames(DOOMED_APP)).includes(DOOMED);
      if (doomedDeleteAcked) {
        assert.ok(!present, `round ${round}: ${DOOMED} is back after its deletion was acknowledged`);
      }
      if (present) {
        for (const d of ['d0', 'd1']) {
          const ids = await server.json(`/_do/${DOOMED}/${d}/ids`, DOOMED_HOST);
          assert.deepEqual(ids, { rows: [String(round)], keys: [String(round)] }, `round ${round}: ${DOOMED}/${d} lost data`);
        }
      } else {
        classDeletions += 1;
      }
    }
    assert.deepEqual(unexpected, []);
    assert.ok(totalAcks >= ROUNDS * 8);
    const journalled = JOURNALS.reduce((sum, j) => sum + ackedIds[j].length, 0);
    assert.ok(classDeletions >= 1, 'no class deletion happened before a crash');
    t.diagnostic(
      `${ROUNDS} crashes; acknowledged ${totalAcks} writes (${journalled} journal pairs, ${ledgerAcks} ledger writes and deletions), ` +
        `counters ${JSON.stringify(acked)}, ${classDeletions} class deletions`,
    );
    await server.stop();
  } finally {
    // On failure: stop the clients and the server so the test process can end.
    stopping = true;
    await server.kill9();
    await Promise.all(clients);
    agent?.destroy();
  }
});
