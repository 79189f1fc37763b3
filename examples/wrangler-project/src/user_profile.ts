import { DurableObject } from 'cloudflare:workers';

export interface Env {
  ROOMS: DurableObjectNamespace<import('./chat_room').ChatRoom>;
  USERS: DurableObjectNamespace<UserProfile>;
  WELCOME: string;
  MAX_HISTORY: string;
}

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
