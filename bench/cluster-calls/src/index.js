import { DurableObject } from 'cloudflare:workers';

export class Target extends DurableObject {
  ping(i) {
    return { node: this.env.NODE_NAME, i };
  }
}

// /run?to=NAME&n=N&mode=seq|burst: N calls to Target NAME, each awaited before the next (seq) or
// all made at once (burst); answers the time they took.
export class Caller extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const stub = this.env.TARGET.getByName(url.searchParams.get('to'));
    const n = Number(url.searchParams.get('n') ?? 1);
    const started = Date.now();
    let callee;
    if (url.searchParams.get('mode') === 'burst') {
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => stub.ping(i)));
      callee = answers[0]?.node;
    } else {
      for (let i = 0; i < n; i++) callee = (await stub.ping(i)).node;
    }
    return Response.json({ caller: this.env.NODE_NAME, callee, ms: Date.now() - started });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return env.CALLER.getByName(url.searchParams.get('caller')).fetch(request);
  },
};
