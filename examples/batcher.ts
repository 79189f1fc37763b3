// The Batcher of Cloudflare's Durable Objects skill: buffers items and flushes them from an alarm.
// The skill reaches it through RPC (`stub.addItem()`); until Dorm serves RPC, the smallest
// `fetch` that calls the RPC method drives it over HTTP (POST an item; GET shows the state), and
// `processBatch`, which the skill leaves to the reader, records what each flush processed.
import { DurableObject } from 'cloudflare:workers';

export class Batcher extends DurableObject {
  async addItem(item: string): Promise<void> {
    // Add to buffer
    const buffer = await this.ctx.storage.get<string[]>('buffer') || [];
    buffer.push(item);
    await this.ctx.storage.put('buffer', buffer);
    // Schedule alarm if not set
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + 10000); // 10 seconds
    }
  }
  async alarm(info: { retryCount: number; isRetry: boolean }): Promise<void> {
    if (info.retryCount > 3) return; // Give up after 3 retries
    const buffer = await this.ctx.storage.get<string[]>('buffer') || [];
    await this.processBatch(buffer);
    await this.ctx.storage.put('buffer', []);
    // Alarm auto-deleted after success
  }

  async processBatch(items: string[]): Promise<void> {
    const flushed = (await this.ctx.storage.get<string[][]>('flushed')) || [];
    flushed.push(items);
    await this.ctx.storage.put('flushed', flushed);
  }

  async fetch(request: Request): Promise<Response> {
    if (request.method === 'POST') {
      await this.addItem(await request.text());
      return Response.json({ ok: true });
    }
    return Response.json({
      buffer: (await this.ctx.storage.get('buffer')) || [],
      flushed: (await this.ctx.storage.get('flushed')) || [],
      alarm: await this.ctx.storage.getAlarm(),
    });
  }
}

export default Batcher;
