import { DurableObject } from 'cloudflare:workers';

// `Env` is the interface `dorm types` wrote to worker-configuration.d.ts from wrangler.jsonc.

// One object per user: the rooms they joined and how many messages they posted.
export class UserProfile extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS rooms (name TEXT PRIMARY KEY, posts INTEGER NOT NULL DEFAULT 0)',
    );
  }

  async joined(room: string): Promise<string[]> {
    this.ctx.storage.sql.exec('INSERT OR IGNORE INTO rooms (name) VALUES (?)', room);
    return this.rooms();
  }

  async posted(room: string): Promise<number> {
    this.ctx.storage.sql.exec('UPDATE rooms SET posts = posts + 1 WHERE name = ?', room);
    return this.ctx.storage.sql.exec<{ total: number }>('SELECT sum(posts) AS total FROM rooms').one()
      .total;
  }

  rooms(): string[] {
    return this.ctx.storage.sql.exec<{ name: string }>('SELECT name FROM rooms ORDER BY name')
      .toArray()
      .map((row) => row.name);
  }
}
