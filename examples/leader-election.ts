// The leader election of Cloudflare's Durable Objects skill: the first worker to insert row 1 into
// the `leader` table wins, and the primary key makes every later insert fail. `electLeader` is as
// the skill prints it; around it, what the skill leaves out: the table, and the smallest `fetch`
// that calls the RPC method (Dorm has no RPC yet): POST /?worker=<id> answers whether that worker
// is the leader, GET / shows the leader.
import { DurableObject } from 'cloudflare:workers';

export class LeaderElection extends DurableObject {
  sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS leader (id INTEGER PRIMARY KEY, worker_id TEXT, elected_at INTEGER)');
  }

  async electLeader(workerId: string): Promise<boolean> {
    try {
      this.sql.exec('INSERT INTO leader (id, worker_id, elected_at) VALUES (1, ?, ?)', workerId, Date.now());
      return true;
    } catch { return false; } // Already has leader
  }

  async fetch(request: Request): Promise<Response> {
    if (request.method === 'POST') {
      const worker = new URL(request.url).searchParams.get('worker') ?? 'anonymous';
      return Response.json({ worker, leader: await this.electLeader(worker) });
    }
    const row = this.sql.exec('SELECT worker_id FROM leader WHERE id = 1').toArray()[0];
    return Response.json({ leader: row ? row.worker_id : null });
  }
}

export default LeaderElection;
