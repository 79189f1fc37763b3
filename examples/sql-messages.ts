// The SQL-backed MyDO of Cloudflare's Durable Objects skill: a messages table written with
// `sql.exec` and read back with cursors. One change to the skill's text: its SQL ends with
// `PRAGMA optimize; // Feb 2025: ...`, and `//` is not an SQL comment, so as printed every request
// fails with a syntax error, on Cloudflare's runtime as on Dorm (tests/e2e/fixtures/seed_my_do.ts
// keeps the exact text to check that). Written as an SQL comment it would fail too (a trailing
// comment is "SQL code did not contain a statement."), so here it is a JavaScript comment. The skill reaches the
// class through RPC (`stub.addMessage()`); until Dorm serves RPC, the smallest `fetch` that calls
// the RPC methods drives it over HTTP: POST adds the body as a message, GET lists the latest ones.
import { DurableObject } from 'cloudflare:workers';

export class MyDO extends DurableObject {
sql: SqlStorage;
constructor(ctx: DurableObjectState, env: Env) {
super(ctx, env);
this.sql = ctx.storage.sql;
// PRAGMA optimize: Feb 2025: Query performance optimization
this.sql.exec(`
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, text TEXT, created_at INTEGER);
CREATE INDEX IF NOT EXISTS idx_created ON messages(created_at);
PRAGMA optimize;
`);
}
async addMessage(text: string): Promise<number> {
const cursor = this.sql.exec('INSERT INTO messages (text, created_at) VALUES (?, ?) RETURNING id', text, Date.now());
return cursor.one<{ id: number }>().id;
}
async getMessages(limit = 50): Promise<any[]> {
return this.sql.exec('SELECT * FROM messages ORDER BY created_at DESC LIMIT ?', limit).toArray();
}

  async fetch(request: Request): Promise<Response> {
    if (request.method === 'POST') return Response.json({ id: await this.addMessage(await request.text()) });
    return Response.json(await this.getMessages());
  }
}

export default MyDO;
