// Durable Object class for the storage scenarios of bench/storage.mjs. Plain JavaScript with no
// imports, so that Dorm (`dorm deploy`) and workerd (embedded as is) run the very same text.
// Reached at /_do/storage-bench/<id>/<rest> on both servers.
//
//   POST /insert        INSERT INTO t (v) VALUES (?): one row, durable before the response
//   POST /fill?n=N      empties t and inserts N rows (one turn, so one commit)
//   GET  /select        SELECT * FROM t LIMIT 1000, answers the rows as JSON
//   GET  /count         SELECT count(*) FROM t
//   GET  /size          ctx.storage.sql.databaseSize
//   POST /prepare       stores one key, so that the object and its database exist
//   POST /alarm?at=MS   stores MS as the scheduled time and sets the alarm for it
//   GET  /alarm         what alarm() recorded: {scheduled, latency_ms, fired_at} (null until it fires)
export class StorageBench {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.tableReady = false;
  }

  // The table is created on first use by the SQL routes only, so that the alarm objects carry
  // nothing but their two key-value entries.
  table() {
    if (!this.tableReady) {
      this.ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      this.tableReady = true;
    }
    return this.ctx.storage.sql;
  }

  async fetch(request) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === '/insert' && request.method === 'POST') {
      this.table().exec('INSERT INTO t (v) VALUES (?)', 'a row of the insert benchmark, 48 bytes long...');
      return new Response('ok');
    }
    if (path === '/select') {
      const rows = this.table().exec('SELECT * FROM t LIMIT 1000').toArray();
      return Response.json(rows);
    }
    if (path === '/count') {
      const n = this.table().exec('SELECT count(*) AS n FROM t').one().n;
      return Response.json({ rows: n });
    }
    if (path === '/size') {
      return Response.json({ bytes: this.ctx.storage.sql.databaseSize });
    }
    if (path === '/fill' && request.method === 'POST') {
      const n = Number(url.searchParams.get('n') ?? '1000');
      const sql = this.table();
      sql.exec('DELETE FROM t');
      for (let i = 0; i < n; i++) sql.exec('INSERT INTO t (v) VALUES (?)', `row ${i} of the select benchmark, some text`);
      return Response.json({ rows: sql.exec('SELECT count(*) AS n FROM t').one().n });
    }
    if (path === '/prepare' && request.method === 'POST') {
      await this.ctx.storage.put('prepared', true);
      return new Response('ok');
    }
    if (path === '/alarm' && request.method === 'POST') {
      const at = Number(url.searchParams.get('at'));
      if (!Number.isFinite(at) || at <= 0) return new Response('bad at', { status: 400 });
      await this.ctx.storage.put('scheduled', at);
      await this.ctx.storage.setAlarm(at);
      return new Response('ok');
    }
    if (path === '/alarm') {
      const [scheduled, fired] = await Promise.all([this.ctx.storage.get('scheduled'), this.ctx.storage.get('fired')]);
      return Response.json({ scheduled: scheduled ?? null, latency_ms: fired?.latency_ms ?? null, fired_at: fired?.at ?? null });
    }
    return new Response('Not found', { status: 404 });
  }

  async alarm() {
    // Measured against the time this object stored when it set the alarm (alarmInfo has no
    // scheduledTime on every runtime).
    const now = Date.now();
    const scheduled = await this.ctx.storage.get('scheduled');
    await this.ctx.storage.put('fired', { latency_ms: now - scheduled, at: now });
  }
}
