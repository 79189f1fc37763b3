// The calling object of the RPC benchmark (bench/rpc.mjs), run unchanged by Dorm and workerd.
// GET /call?n=N[&target=NAME] makes N JavaScript RPC calls, one after the other, to the target
// object NAME (default: one target per caller, named by the caller's id) and answers the last
// result. GET /fetch?n=N does the same with stub.fetch().
import { DurableObject } from 'cloudflare:workers';

export class RpcBenchCaller extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n') ?? '1');
    const target = this.env.RPC_BENCH_TARGET.getByName(url.searchParams.get('target') ?? this.ctx.id.toString());
    let last = null;
    if (url.pathname === '/call') {
      for (let i = 0; i < n; i++) last = await target.echo(i);
    } else if (url.pathname === '/fetch') {
      for (let i = 0; i < n; i++) last = await (await target.fetch(`http://target/echo?i=${i}`)).text();
    } else {
      return new Response('not found', { status: 404 });
    }
    return new Response(String(last));
  }
}
