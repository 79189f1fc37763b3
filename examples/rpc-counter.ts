// The Counter of Cloudflare's Durable Objects skill, in the `extends DurableObject` style. The skill
// reaches it through RPC (`stub.increment()`); until Dorm serves RPC, the smallest `fetch` that calls
// the RPC method drives it over HTTP.
import { DurableObject } from 'cloudflare:workers';

export class RpcCounter extends DurableObject {
  async increment(): Promise<number> {
    let value = (await this.ctx.storage.get<number>('value')) || 0;
    await this.ctx.storage.put('value', ++value);
    return value;
  }

  async fetch(request: Request): Promise<Response> {
    return new Response(`Count: ${await this.increment()}`);
  }
}

export default RpcCounter; // CRITICAL: Export required
