// One Durable Object class for the differential check: GET /<scenario> runs that scenario and
// answers a JSON description of what happened. The same file is deployed unchanged on Dorm and
// on workerd; tests/diff/run.mjs compares the answers.

// Runs fn and describes its outcome: {ok: value} or {threw: {name, message}}.
async function attempt(fn) {
  try {
    const v = await fn();
    return { ok: v === undefined ? 'undefined' : v };
  } catch (e) {
    return { threw: { name: e?.name ?? typeof e, message: e?.message ?? String(e) } };
  }
}

function syncAttempt(fn) {
  try {
    const v = fn();
    return { ok: v === undefined ? 'undefined' : v };
  } catch (e) {
    return { threw: { name: e?.name ?? typeof e, message: e?.message ?? String(e) } };
  }
}

const entries = (map) => [...map.entries()];

export class DiffProbe {
  constructor(state, env) {
    this.state = state;
    this.env = env;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const name = url.pathname.slice(1);
    const scenario = SCENARIOS[name];
    if (!scenario) return Response.json({ error: `no scenario ${name}` }, { status: 404 });
    const result = await attempt(() => scenario(this.state.storage, url.searchParams, this.state));
    return Response.json(result);
  }

  async alarm(info) {
    const storage = this.state.storage;
    const calls = (await storage.get('alarm-calls')) ?? [];
    calls.push({
      retryCount: info?.retryCount,
      isRetry: info?.isRetry,
      getAlarmInside: await storage.getAlarm(),
    });
    await storage.put('alarm-calls', calls);
  }
}

const SCENARIOS = {
  // ---------------------------------------------------------------------------------------------
  // Key-value storage (async API)

  async get_put_delete_single(s) {
    const r = {};
    r.missing = (await s.get('a')) ?? 'undefined';
    await s.put('a', { n: 1, list: [1, 'two', null], when: new Date(0), bytes: new Uint8Array([1, 2]) });
    const v = await s.get('a');
    r.value = { n: v.n, list: v.list, when: v.when instanceof Date ? v.when.toISOString() : v.when, bytes: [...v.bytes] };
    r.deleteExisting = await s.delete('a');
    r.deleteMissing = await s.delete('a');
    r.after = (await s.get('a')) ?? 'undefined';
    return r;
  },

  async get_put_delete_batch(s) {
    const r = {};
    await s.put({ a: 1, b: 'two', c: [3] });
    r.getBatch = entries(await s.get(['c', 'a', 'zz', 'b']));
    r.deleteCount = await s.delete(['a', 'zz', 'c']);
    r.remaining = entries(await s.list());
    return r;
  },

  async list_options(s) {
    const keys = ['a', 'ab', 'abc', 'b', 'ba', 'c', 'd'];
    for (const [i, k] of keys.entries()) await s.put(k, i);
    const ks = async (opts) => [...(await s.list(opts)).keys()];
    return {
      all: await ks(),
      start: await ks({ start: 'ab' }),
      startAfter: await ks({ startAfter: 'ab' }),
      end: await ks({ end: 'b' }),
      startEnd: await ks({ start: 'ab', end: 'ba' }),
      prefix: await ks({ prefix: 'ab' }),
      prefixStart: await ks({ prefix: 'a', start: 'abc' }),
      reverse: await ks({ reverse: true }),
      reverseLimit: await ks({ reverse: true, limit: 2 }),
      limit: await ks({ limit: 3 }),
      prefixReverseLimit: await ks({ prefix: 'a', reverse: true, limit: 2 }),
      startAfterEnd: await ks({ startAfter: 'a', end: 'b' }),
      emptyRange: await ks({ start: 'c', end: 'b' }),
    };
  },

  async list_errors(s) {
    await s.put('a', 1);
    return {
      startAndStartAfter: await attempt(() => s.list({ start: 'a', startAfter: 'a' })),
      limit0: await attempt(async () => entries(await s.list({ limit: 0 }))),
      limitMinus1: await attempt(async () => entries(await s.list({ limit: -1 }))),
    };
  },

  async utf8_key_order(s) {
    // UTF-16 code-unit order puts U+FFFF after U+10000 (a surrogate pair); UTF-8 byte order
    // puts it before.
    await s.put({ '\u{10000}': 'U+10000', '\uFFFF': 'U+FFFF', a: 'a', '\u00e9': 'U+00E9' });
    return { order: [...(await s.list()).values()] };
  },

  async put_undefined(s) {
    return {
      single: await attempt(() => s.put('k', undefined)),
      batch: await attempt(() => s.put({ k: undefined })),
      stored: entries(await s.list()),
    };
  },

  async data_clone_error(s) {
    const single = await attempt(() => s.put('fn', () => 1));
    const batch = await attempt(() => s.put({ ok1: 1, bad: Symbol('x'), ok2: 2 }));
    return { single, batch, stored: entries(await s.list()) };
  },

  async transaction_rollback(s) {
    await s.put('base', 0);
    const explicit = await attempt(() => s.transaction(async (txn) => {
      await txn.put('base', 1);
      await txn.put('added', true);
      const inside = await txn.get('base');
      txn.rollback();
      return inside;
    }));
    const afterExplicit = entries(await s.list());
    const thrown = await attempt(() => s.transaction(async (txn) => {
      await txn.put('base', 2);
      await txn.delete('base');
      throw new Error('boom');
    }));
    const afterThrow = entries(await s.list());
    const committed = await attempt(() => s.transaction(async (txn) => {
      await txn.put('base', 3);
      return 'done';
    }));
    return { explicit, afterExplicit, thrown, afterThrow, committed, final: entries(await s.list()) };
  },

  async delete_all(s) {
    await s.put({ a: 1, b: 2 });
    await s.setAlarm(Date.now() + 60000);
    s.sql.exec('CREATE TABLE t (x)');
    s.sql.exec('INSERT INTO t VALUES (1)');
    const before = { keys: [...(await s.list()).keys()], alarmSet: (await s.getAlarm()) !== null };
    const result = await s.deleteAll();
    const tables = s.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'").toArray();
    return {
      before,
      result: result ?? 'undefined',
      keys: [...(await s.list()).keys()],
      alarm: await s.getAlarm(),
      userTables: tables,
    };
  },

  // ---------------------------------------------------------------------------------------------
  // SQL

  async sql_exec_cursor(s) {
    const sql = s.sql;
    const multi = sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL); INSERT INTO t (name, score) VALUES (?, ?)', 'x', 1.5);
    const multiInfo = { rows: multi.toArray(), rowsWritten: multi.rowsWritten };
    const ins = sql.exec('INSERT INTO t (name, score) VALUES (?, ?), (?, ?)', 'y', 2, 'z', null);
    ins.toArray();
    const insWritten = ins.rowsWritten;
    const all = sql.exec('SELECT * FROM t ORDER BY id');
    const columnNames = all.columnNames;
    const rows = all.toArray();
    const one = sql.exec('SELECT name FROM t WHERE id = ?', 2).one();
    const oneNone = syncAttempt(() => sql.exec('SELECT name FROM t WHERE id = ?', 99).one());
    const oneMany = syncAttempt(() => sql.exec('SELECT name FROM t').one());
    const raw = [...sql.exec('SELECT id, name FROM t ORDER BY id').raw()];
    const iter = sql.exec('SELECT id FROM t ORDER BY id');
    const first = iter.next();
    const rest = [...iter];
    const upd = sql.exec('UPDATE t SET score = score + 1 WHERE score IS NOT NULL');
    upd.toArray();
    const del = sql.exec('DELETE FROM t WHERE id = 3');
    del.toArray();
    const blob = sql.exec('SELECT ? AS b', new Uint8Array([1, 2, 3]).buffer).one().b;
    const types = sql.exec('SELECT typeof(?) AS a, typeof(?) AS b, typeof(?) AS c, typeof(?) AS d', 1, 1.5, 'x', null).one();
    const badBinding = syncAttempt(() => sql.exec('SELECT ?', {}).toArray());
    const wrongCount = syncAttempt(() => sql.exec('SELECT ?, ?', 1).toArray());
    return {
      multiInfo, insWritten, columnNames, rows, one, oneNone, oneMany, raw,
      first, rest, updWritten: upd.rowsWritten, delWritten: del.rowsWritten,
      blob: blob instanceof ArrayBuffer ? ['ArrayBuffer', ...new Uint8Array(blob)] : blob,
      types, badBinding, wrongCount,
    };
  },

  async sql_errors(s) {
    const sql = s.sql;
    const run = (q) => syncAttempt(() => sql.exec(q).toArray());
    sql.exec('CREATE TABLE t (x)');
    return {
      begin: run('BEGIN'),
      beginTxn: run('BEGIN TRANSACTION'),
      commit: run('COMMIT'),
      savepoint: run('SAVEPOINT a'),
      noSuchTable: run('SELECT * FROM nope'),
      syntax: run('SELEC 1'),
      attach: run("ATTACH DATABASE ':memory:' AS other"),
      cfTable: run('CREATE TABLE _cf_mine (x)'),
      cfIndex: run('CREATE INDEX _cf_idx ON t (x)'),
      sqliteVersion: syncAttempt(() => typeof sql.exec('SELECT sqlite_version() AS v').one().v),
      journalMode: run('PRAGMA journal_mode'),
      journalModeSet: run('PRAGMA journal_mode = DELETE'),
      tableInfo: run('PRAGMA table_info(t)'),
      tempTable: run('CREATE TEMP TABLE tt (x)'),
      loadExtension: run("SELECT load_extension('x')"),
      emptyQuery: run(''),
    };
  },

  async transaction_sync(s) {
    const sql = s.sql;
    sql.exec('CREATE TABLE t (x)');
    const committed = syncAttempt(() => s.transactionSync(() => {
      sql.exec('INSERT INTO t VALUES (1)');
      return 'ok';
    }));
    const rolledBack = syncAttempt(() => s.transactionSync(() => {
      sql.exec('INSERT INTO t VALUES (2)');
      s.kv.put('k', 'inside');
      throw new Error('undo');
    }));
    const nested = syncAttempt(() => s.transactionSync(() => {
      sql.exec('INSERT INTO t VALUES (3)');
      try {
        s.transactionSync(() => {
          sql.exec('INSERT INTO t VALUES (4)');
          throw new Error('inner');
        });
      } catch (e) {
        return `caught ${e.message}`;
      }
      return 'no throw';
    }));
    return {
      committed, rolledBack, nested,
      rows: sql.exec('SELECT x FROM t ORDER BY x').toArray(),
      kv: s.kv.get('k') ?? 'undefined',
    };
  },

  async kv_sync(s) {
    const kv = s.kv;
    const r = {};
    r.missing = kv.get('a') ?? 'undefined';
    r.putResult = kv.put('a', 1) ?? 'undefined';
    kv.put('b', { x: [1, 2] });
    kv.put('c', 'three');
    r.get = kv.get('b');
    r.list = [...kv.list()];
    r.listPrefix = [...kv.list({ prefix: 'b' })];
    r.listReverseLimit = [...kv.list({ reverse: true, limit: 2 })];
    r.listStartEnd = [...kv.list({ start: 'b', end: 'c' })];
    r.delete = kv.delete('a');
    r.deleteMissing = kv.delete('zz');
    r.putUndefined = syncAttempt(() => kv.put('u', undefined));
    r.asyncSeesIt = entries(await s.list());
    return r;
  },

  // ---------------------------------------------------------------------------------------------
  // Alarms

  async set_alarm_zero(s) {
    return {
      zero: await attempt(() => s.setAlarm(0)),
      negative: await attempt(() => s.setAlarm(-5)),
      dateZero: await attempt(() => s.setAlarm(new Date(0))),
      alarm: await s.getAlarm(),
    };
  },

  async get_alarm_set_delete(s) {
    const r = {};
    r.initial = await s.getAlarm();
    const t = Date.now() + 3600 * 1000;
    await s.setAlarm(t);
    r.afterSetMatches = (await s.getAlarm()) === t;
    const d = new Date(Date.now() + 7200 * 1000);
    await s.setAlarm(d);
    r.afterSetDateMatches = (await s.getAlarm()) === d.getTime();
    r.deleteResult = (await s.deleteAlarm()) ?? 'undefined';
    r.afterDelete = await s.getAlarm();
    r.deleteAgain = (await s.deleteAlarm()) ?? 'undefined';
    return r;
  },

  // Two steps: ?step=set, then (about a second later) ?step=read.
  async alarm_fires(s, q) {
    if (q.get('step') === 'set') {
      await s.setAlarm(Date.now() + 200);
      return { set: (await s.getAlarm()) !== null };
    }
    return { calls: (await s.get('alarm-calls')) ?? [], alarmAfter: await s.getAlarm() };
  },
  // ---------------------------------------------------------------------------------------------
  // Limits and odd inputs

  async batch_limits(s) {
    const keys = Array.from({ length: 129 }, (_, i) => `k${i}`);
    const obj = Object.fromEntries(keys.map((k) => [k, 1]));
    return {
      get129: await attempt(async () => (await s.get(keys)).size),
      put129: await attempt(() => s.put(obj)),
      delete129: await attempt(() => s.delete(keys)),
      stored: (await s.list()).size,
    };
  },

  // Arguments of the wrong type or range: a Symbol key, 32-bit ints past their range, setAlarm()
  // of what is not a number or a Date, a transaction of what is not a function.
  // Rows, list() results and batch get() Maps made while Object.prototype and Array.prototype
  // carry setters for their names and indices.
  async poisoned_results(s) {
    await s.put({ a: 1, b: 2 });
    s.sql.exec('CREATE TABLE IF NOT EXISTS r (x, y)');
    s.sql.exec('DELETE FROM r');
    s.sql.exec("INSERT INTO r VALUES (1, 'one')");
    const saved = [];
    const poison = (object, key) => {
      saved.push([object, key, Object.getOwnPropertyDescriptor(object, key)]);
      Object.defineProperty(object, key, {
        get() { return 'poisoned get'; }, set() { throw new Error(`poisoned set ${String(key)}`); }, configurable: true,
      });
    };
    poison(Object.prototype, 'x');
    poison(Object.prototype, '0');
    poison(Array.prototype, '0');
    poison(Array.prototype, '1');
    try {
      const row = syncAttempt(() => { const r = s.sql.exec('SELECT x, y FROM r').one(); return `${r.x} ${r.y}`; });
      const raw = syncAttempt(() => { const r = s.sql.exec('SELECT x, y FROM r').raw().next().value; return `${r[0]} ${r[1]}`; });
      const toArray = syncAttempt(() => { const rows = s.sql.exec('SELECT x FROM r').toArray(); return `${rows.length} ${rows[0].x}`; });
      const columnNames = syncAttempt(() => { const c = s.sql.exec('SELECT x, y FROM r').columnNames; return `${c[0]} ${c[1]}`; });
      const got = await attempt(async () => { const m = await s.get(['a', 'b']); return `${m.get('a')} ${m.get('b')}`; });
      const keys = await attempt(async () => { let out = ''; (await s.list()).forEach((v, k) => { out += k; }); return out; });
      return { row, raw, toArray, columnNames, got, keys };
    } finally {
      for (let i = saved.length - 1; i >= 0; i--) {
        const [object, key, desc] = saved[i];
        if (desc === undefined) delete object[key];
        else Object.defineProperty(object, key, desc);
      }
    }
  },

  // ctx.storage.kv.list() iterated while the keys change: deleted, added, deleteAll().
  async kv_list_mutation(s) {
    const kv = s.kv;
    for (const k of ['a', 'b', 'c', 'd']) kv.put(k, 1);
    const mutated = syncAttempt(() => {
      const seen = [];
      for (const [k] of kv.list()) {
        seen.push(k);
        if (k === 'a') { kv.delete('b'); kv.put('bb', 2); kv.put('e', 3); }
      }
      return seen;
    });
    const afterDeleteAll = await attempt(async () => {
      const seen = [];
      for (const [k] of kv.list()) {
        seen.push(k);
        if (seen.length === 1) await s.deleteAll();
      }
      return seen;
    });
    const sqlAfterDeleteAll = await attempt(async () => {
      s.sql.exec('CREATE TABLE m (x)');
      s.sql.exec('INSERT INTO m VALUES (1), (2)');
      const cursor = s.sql.exec('SELECT x FROM m');
      cursor.next();
      await s.deleteAll();
      return [...cursor];
    });
    return { mutated, afterDeleteAll, sqlAfterDeleteAll, left: [...kv.list()].map(([k]) => k) };
  },

  // Hostile values where the API converts an option or an argument: objects with valueOf and
  // toString, throwing getters, BigInts, Proxies, -0, fractions.
  async hostile_arguments(s) {
    await s.put({ a: 1, b: 2, c: 3 });
    const keys = async (options) => [...(await s.list(options)).keys()];
    const list = {
      limitBigInt: await attempt(() => keys({ limit: 1n })),
      limitValueOf: await attempt(() => keys({ limit: { valueOf() { return 2; } } })),
      limitString: await attempt(() => keys({ limit: '2' })),
      limitFraction: await attempt(() => keys({ limit: 1.9 })),
      limitNegZero: await attempt(() => keys({ limit: -0 })),
      limitInfinity: await attempt(() => keys({ limit: Infinity })),
      limitThrows: await attempt(() => keys({ get limit() { throw new Error('limit getter'); } })),
      startToString: await attempt(() => keys({ start: { toString() { return 'b'; } } })),
      prefixNumber: await attempt(() => keys({ prefix: 1 })),
      reverseString: await attempt(() => keys({ reverse: 'no' })),
      endBeforeStart: await attempt(() => keys({ start: 'c', end: 'a' })),
      proxy: await attempt(() => keys(new Proxy({}, { get: (t, k) => (k === 'limit' ? 1 : undefined) }))),
      string: await attempt(() => keys('a')),
      nullOptions: await attempt(() => keys(null)),
    };
    const alarm = {};
    for (const [label, value] of [
      ['infinity', Infinity], ['minValue', Number.MIN_VALUE], ['negZero', -0], ['bigint', 1n],
      ['valueOf', { valueOf() { return Date.now() + 1e6; } }], ['dateNaN', new Date(NaN)],
      ['symbol', Symbol('x')], ['undefined', undefined], ['max', 8.64e15 - 1],
    ]) {
      alarm[label] = await attempt(async () => {
        await s.setAlarm(value);
        const at = await s.getAlarm();
        await s.deleteAlarm();
        return typeof at;
      });
    }
    const sql = s.sql;
    const binding = {
      valueOf: syncAttempt(() => sql.exec('SELECT ? AS a', { valueOf() { return 1; } }).one()),
      bigint: syncAttempt(() => sql.exec('SELECT ? AS a', 1n).one()),
      bigintHuge: syncAttempt(() => sql.exec('SELECT ? AS a', 2n ** 70n).one()),
      symbol: syncAttempt(() => sql.exec('SELECT ? AS a', Symbol('x')).one()),
      func: syncAttempt(() => sql.exec('SELECT ? AS a', () => 1).one()),
      date: syncAttempt(() => sql.exec('SELECT ? AS a', new Date(0)).one()),
      dataView: syncAttempt(() => sql.exec('SELECT length(?) AS a', new DataView(new ArrayBuffer(3))).one()),
      negZero: syncAttempt(() => sql.exec('SELECT ? AS a', -0).one()),
      nan: syncAttempt(() => sql.exec('SELECT ? AS a', NaN).one()),
      boolean: syncAttempt(() => sql.exec('SELECT ? AS a', true).one()),
    };
    return { list, alarm, binding };
  },

  async argument_errors(s) {
    const sym = Symbol('x');
    return {
      getSymbol: await attempt(() => s.get(sym)),
      putSymbol: await attempt(() => s.put(sym, 1)),
      deleteSymbols: await attempt(() => s.delete(['a', sym])),
      listPrefixSymbol: await attempt(() => s.list({ prefix: sym })),
      kvGetSymbol: await attempt(() => s.kv.get(sym)),
      sqlSymbol: await attempt(() => s.sql.exec(sym)),
      sqlUndefined: await attempt(() => s.sql.exec()),
      listLimit2p31: await attempt(() => s.list({ limit: 2 ** 31 })),
      listLimitMinus2p31minus1: await attempt(() => s.list({ limit: -(2 ** 31) - 1 })),
      alarmString: await attempt(() => s.setAlarm('1000')),
      alarmNull: await attempt(() => s.setAlarm(null)),
      alarmNaN: await attempt(() => s.setAlarm(NaN)),
      alarmHalf: await attempt(() => s.setAlarm(0.5)),
      alarmFar: await attempt(() => s.setAlarm(8.64e15)),
      alarmAfter: await s.getAlarm(),
      transactionNumber: await attempt(() => s.transaction(5)),
      transactionSyncMissing: await attempt(() => s.transactionSync()),
      deriveBits2p32plus8: await attempt(async () => {
        const key = await crypto.subtle.importKey('raw', new Uint8Array(16), 'HKDF', false, ['deriveBits']);
        const params = { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new Uint8Array(0) };
        return (await crypto.subtle.deriveBits(params, key, 2 ** 32 + 8)).byteLength;
      }),
      stored: [...(await s.list()).keys()],
    };
  },

  async huge_keys(s) {
    const results = {};
    for (const mib of [3, 64]) {
      const key = 'k'.repeat(mib * 1024 * 1024);
      results[`get${mib}`] = await attempt(() => s.get(key));
      results[`getMany${mib}`] = await attempt(async () => [...(await s.get(['a', key])).keys()]);
      results[`delete${mib}`] = await attempt(() => s.delete(key));
      results[`deleteMany${mib}`] = await attempt(() => s.delete(['a', key]));
      results[`listPrefix${mib}`] = await attempt(async () => (await s.list({ prefix: key })).size);
      results[`listStart${mib}`] = await attempt(async () => (await s.list({ start: key })).size);
      results[`listEnd${mib}`] = await attempt(async () => (await s.list({ end: key })).size);
      results[`put${mib}`] = await attempt(() => s.put(key, 1));
    }
    results.stored = [...(await s.list()).keys()].map((k) => (k.length > 20 ? `${k.slice(0, 3)}...(${k.length})` : k));
    return results;
  },

  async key_value_sizes(s) {
    return {
      key2048: await attempt(() => s.put('k'.repeat(2048), 1)),
      key2049: await attempt(() => s.put('k'.repeat(2049), 1)),
      emptyKey: await attempt(() => s.put('', 'empty')),
      numberKey: await attempt(async () => { await s.put(7, 'seven'); return await s.get('7'); }),
      bigValue: await attempt(() => s.put('big', 'x'.repeat(2 * 1024 * 1024 + 1))),
      keys: [...(await s.list()).keys()].map((k) => (k.length > 20 ? `${k.slice(0, 3)}...(${k.length})` : k)),
    };
  },

  async alarm_in_transaction(s) {
    const rolledBack = await attempt(() => s.transaction(async (txn) => {
      await txn.setAlarm(Date.now() + 60000);
      const inside = (await txn.getAlarm()) !== null;
      txn.rollback();
      return inside;
    }));
    const afterRollback = await s.getAlarm();
    const thrown = await attempt(() => s.transaction(async (txn) => {
      await txn.setAlarm(Date.now() + 60000);
      throw new Error('no');
    }));
    return { rolledBack, afterRollback, thrown, afterThrow: await s.getAlarm() };
  },

  async rows_read(s) {
    const sql = s.sql;
    sql.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v)');
    for (let i = 0; i < 10; i++) sql.exec('INSERT INTO t (v) VALUES (?)', i);
    const measure = (q, ...b) => { const c = sql.exec(q, ...b); c.toArray(); return [c.rowsRead, c.rowsWritten]; };
    return {
      fullScan: measure('SELECT * FROM t'),
      byPk: measure('SELECT * FROM t WHERE id = 3'),
      count: measure('SELECT count(*) FROM t'),
      filtered: measure('SELECT * FROM t WHERE v > 5'),
      update: measure('UPDATE t SET v = v + 1 WHERE v > 7'),
    };
  },

  // Touch what the README lists as known differences (_cf_ tables, databaseSize, rename).
  async cf_tables_visible(s) {
    s.sql.exec('CREATE TABLE t (x)');
    return {
      tables: s.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray(),
      readCfKvBeforeKvWrite: syncAttempt(() => s.sql.exec('SELECT * FROM _cf_KV').toArray()),
    };
  },

  async database_size(s) {
    s.sql.exec('CREATE TABLE t (x)');
    return { size: s.sql.databaseSize };
  },

  async rename_to_cf(s) {
    s.sql.exec('CREATE TABLE t (x)');
    return { rename: syncAttempt(() => s.sql.exec('ALTER TABLE t RENAME TO _cf_x').toArray()) };
  },

  // ---------------------------------------------------------------------------------------------
  // Structured clone of the API classes: a Blob is copied (by structuredClone and by storage), a
  // File or a CryptoKey is refused with a DataCloneError.

  // Instances of the Web API classes that workerd refuses to serialize, each by structuredClone()
  // and storage.put(), alone and nested in a value.
  async api_clone_refused(s) {
    const makers = {
      URLPattern: () => new URLPattern({ pathname: '/a' }),
      FormData: () => new FormData(),
      TextEncoder: () => new TextEncoder(),
      TextDecoder: () => new TextDecoder(),
      AbortController: () => new AbortController(),
      AbortSignal: () => new AbortController().signal,
      Event: () => new Event('x'),
      CustomEvent: () => new CustomEvent('x'),
      EventTarget: () => new EventTarget(),
      SubEventTarget: () => new (class extends EventTarget {})(),
      MessagePort: () => new MessageChannel().port1,
      WebSocket: () => new WebSocketPair()[0],
      ReadableStream: () => new ReadableStream(),
      WritableStream: () => new WritableStream(),
      TransformStream: () => new TransformStream(),
      TextEncoderStream: () => new TextEncoderStream(),
      IdentityTransformStream: () => new IdentityTransformStream(),
      FixedLengthStream: () => new FixedLengthStream(1),
      Reader: () => new ReadableStream().getReader(),
      Crypto: () => crypto,
      SubtleCrypto: () => crypto.subtle,
      Navigator: () => navigator,
      Performance: () => performance,
      Cache: () => caches.default,
      HTMLRewriter: () => new HTMLRewriter(),
      nestedEvent: () => ({ list: [1, { e: new Event('y') }] }),
      nestedStream: () => new Map([['k', { s: new ReadableStream() }]]),
      symbolFirst: () => ({ sym: Symbol('x'), s: new ReadableStream() }),
    };
    const out = {};
    for (const [name, make] of Object.entries(makers)) {
      out[name] = { clone: syncAttempt(() => { structuredClone(make()); return 'cloned'; }),
        put: await attempt(() => s.put('refused', make())) };
    }
    out.storedAfterRefusals = await attempt(async () => [...(await s.list({ prefix: 'refused' })).keys()]);
    return out;
  },

  // The Web API classes that workerd can serialize: Headers, Request (without a body), Response
  // (refused for its body stream) and DOMException; and URL, which it refuses.
  async api_clone_copied(s) {
    const out = {};
    out.headers = syncAttempt(() => {
      const h = structuredClone(new Headers({ a: '1', b: '2' }));
      return { tag: Object.prototype.toString.call(h), entries: h instanceof Headers ? [...h] : null };
    });
    out.request = syncAttempt(() => {
      const r = structuredClone(new Request('https://example.com/p', { headers: { x: 'y' } }));
      return { tag: Object.prototype.toString.call(r), url: r.url };
    });
    out.response = syncAttempt(() => Object.prototype.toString.call(structuredClone(new Response('x'))));
    out.domException = syncAttempt(() => {
      const e = structuredClone(new DOMException('m', 'SyntaxError'));
      return { tag: Object.prototype.toString.call(e), name: e.name, message: e.message, code: e.code };
    });
    out.url = syncAttempt(() => structuredClone({ u: new URL('https://x.example/') }));
    out.searchParams = syncAttempt(() => structuredClone(new URL('https://x.example/?a=1').searchParams));
    out.strategy = syncAttempt(() => structuredClone(new CountQueuingStrategy({ highWaterMark: 2 })));
    out.responseWithoutBody = syncAttempt(() => {
      const r = structuredClone(new Response(null, { status: 202, statusText: 'Later', headers: { k: 'v' } }));
      return { tag: Object.prototype.toString.call(r), status: r.status, statusText: r.statusText, headers: [...r.headers] };
    });
    out.putHeaders = await attempt(async () => {
      await s.put('copied', new Headers({ a: '1' }));
      const back = await s.get('copied');
      return Object.prototype.toString.call(back);
    });
    return out;
  },

  // Where each event class keeps its attributes: workerd's isTrusted is an accessor of
  // Event.prototype, so Object.keys() of an event lists only a subclass's own data properties.
  async event_shapes() {
    const out = {};
    const events = {
      Event: () => new Event('x'),
      CustomEvent: () => new CustomEvent('x', { detail: 1 }),
      MessageEvent: () => new MessageEvent('message', { data: 1 }),
      CloseEvent: () => new CloseEvent('close', { code: 1000 }),
      ErrorEvent: () => (typeof ErrorEvent === 'function' ? new ErrorEvent('error') : null),
    };
    for (const [name, make] of Object.entries(events)) {
      const ev = make();
      if (ev === null) { out[name] = 'missing'; continue; }
      let where = null;
      let desc = null;
      for (let p = ev; p !== null; p = Object.getPrototypeOf(p)) {
        const d = Object.getOwnPropertyDescriptor(p, 'isTrusted');
        if (d) {
          where = p === ev ? 'own' : p.constructor.name;
          desc = { get: typeof d.get, set: typeof d.set, enumerable: d.enumerable, configurable: d.configurable };
          break;
        }
      }
      out[name] = { keys: Object.keys(ev), own: Object.getOwnPropertyNames(ev), where, desc,
        isTrusted: ev.isTrusted, json: JSON.stringify(ev) };
    }
    return out;
  },

  async host_object_clone(s) {
    const describe = async (v) => ({
      tag: Object.prototype.toString.call(v),
      isBlob: v instanceof Blob,
      isFile: v instanceof File,
      size: v?.size,
      type: v?.type,
      text: v instanceof Blob ? await v.text() : undefined,
    });
    const key = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    class MyBlob extends Blob {}
    const out = {};
    out.blob = await attempt(async () => describe(structuredClone(new Blob(['hé'], { type: 'Text/Plain' }))));
    out.slice = await attempt(async () => describe(structuredClone(new Blob(['hello world']).slice(2, 5, 'X/Y'))));
    out.empty = await attempt(async () => describe(structuredClone(new Blob([]))));
    out.subclass = await attempt(async () => describe(structuredClone(new MyBlob(['q']))));
    out.nested = await attempt(async () => {
      const blob = new Blob(['xyz']);
      const copy = structuredClone({ a: blob, b: [blob], m: new Map([['k', blob]]) });
      return { a: await describe(copy.a), same: copy.a === copy.b[0] && copy.a === copy.m.get('k') };
    });
    out.file = syncAttempt(() => structuredClone(new File(['hi'], 'a.txt')));
    out.fileInside = syncAttempt(() => structuredClone({ list: [1, new File([], 'f')] }));
    out.key = syncAttempt(() => structuredClone(key));
    out.putBlob = await attempt(async () => {
      await s.put('blob', { blob: new Blob([new Uint8Array([0, 1, 255])], { type: 'application/x' }) });
      const back = await s.get('blob');
      return { ...(await describe(back.blob)), bytes: [...new Uint8Array(await back.blob.arrayBuffer())] };
    });
    out.putFile = await attempt(() => s.put('file', new File(['x'], 'x.txt')));
    out.putKey = await attempt(() => s.put('key', key));
    out.storedAfterRefusals = await attempt(async () => [...(await s.list()).keys()]);
    return out;
  },
};
