// The rate limiter of Cloudflare's Durable Objects skill (`checkLimit`), unmodified. The skill
// reaches it through RPC; until Dorm serves RPC, the smallest `fetch` that calls it drives it over
// HTTP: GET /?user=alice&limit=5&window=60000 answers 200 while allowed and 429 once limited.
import { DurableObject } from 'cloudflare:workers';

export class RateLimiter extends DurableObject {
  async checkLimit(userId: string, limit: number, window: number): Promise<boolean> {
    const requests = (await this.ctx.storage.get<number[]>(`rate:${userId}`)) || [];
    const valid = requests.filter(t => Date.now() - t < window);
    if (valid.length >= limit) return false;
    valid.push(Date.now());
    await this.ctx.storage.put(`rate:${userId}`, valid);
    return true;
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const allowed = await this.checkLimit(
      url.searchParams.get('user') ?? 'anonymous',
      Number(url.searchParams.get('limit') ?? 10),
      Number(url.searchParams.get('window') ?? 60000),
    );
    return Response.json({ allowed }, { status: allowed ? 200 : 429 });
  }
}

export default RateLimiter;
