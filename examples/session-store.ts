// The session store of Cloudflare's Durable Objects skill: `set()` with a TTL on a SQL table and an
// hourly alarm that deletes expired entries, both as the skill prints them. Around them, what the
// skill leaves out: the table, a `get()`, and the smallest `fetch` that calls the RPC methods
// (Dorm has no RPC yet): PUT /<key>?ttl=ms stores the body, GET /<key> reads it, POST /cleanup runs
// the cleanup now.
import { DurableObject } from 'cloudflare:workers';

export class SessionStore extends DurableObject {
  sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS session (key TEXT PRIMARY KEY, value TEXT, expires_at INTEGER)');
  }

  async set(key: string, value: any, ttl?: number): Promise<void> {
    const expiresAt = ttl ? Date.now() + ttl : null;
    this.sql.exec('INSERT OR REPLACE INTO session (key, value, expires_at) VALUES (?, ?, ?)',
      key, JSON.stringify(value), expiresAt);
  }

  async alarm(): Promise<void> {
    this.sql.exec('DELETE FROM session WHERE expires_at < ?', Date.now());
    await this.ctx.storage.setAlarm(Date.now() + 3600000); // Hourly cleanup
  }

  async get(key: string): Promise<any> {
    const row = this.sql.exec('SELECT value FROM session WHERE key = ?', key).toArray()[0];
    return row ? JSON.parse(row.value as string) : null;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const key = url.pathname.slice(1);
    if (request.method === 'POST' && key === 'cleanup') {
      await this.alarm();
      return Response.json({ ok: true, nextCleanup: await this.ctx.storage.getAlarm() });
    }
    if (request.method === 'PUT') {
      const ttl = url.searchParams.get('ttl');
      await this.set(key, await request.json(), ttl ? Number(ttl) : undefined);
      if ((await this.ctx.storage.getAlarm()) === null) {
        await this.ctx.storage.setAlarm(Date.now() + 3600000);
      }
      return Response.json({ ok: true });
    }
    return Response.json({ key, value: await this.get(key) });
  }
}

export default SessionStore;
