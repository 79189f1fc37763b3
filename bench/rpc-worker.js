// The Worker of the RPC benchmark (bench/rpc.mjs), run unchanged by both servers as the main module
// of one project with bench/rpc-caller.js and bench/rpc-target.js:
// - GET /worker/<id>/call?n=N makes N JavaScript RPC calls, one after the other, from the Worker to
//   target object <id> (echo(i)), and answers the last result;
// - /_do/<class>/<id>/... is forwarded to the object with stub.fetch() (workerd has no such routing;
//   Dorm routes these URLs to objects itself and never calls the Worker for them).
import { RpcBenchCaller } from './rpc-caller.js';
import { RpcBenchTarget } from './rpc-target.js';

export { RpcBenchCaller, RpcBenchTarget };

const bindings = { 'rpc-bench-caller': 'RPC_BENCH_CALLER', 'rpc-bench-target': 'RPC_BENCH_TARGET' };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const worker = /^\/worker\/([^/]+)\/call$/.exec(url.pathname);
    if (worker !== null) {
      const n = Number(url.searchParams.get('n') ?? '1');
      const stub = env.RPC_BENCH_TARGET.getByName(decodeURIComponent(worker[1]));
      let last;
      for (let i = 0; i < n; i++) last = await stub.echo(i);
      return new Response(String(last));
    }
    const m = /^\/_do\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (m === null || !Object.hasOwn(bindings, m[1])) {
      return Response.json({ error: 'no route' }, { status: 404 });
    }
    const ns = env[bindings[m[1]]];
    const stub = ns.get(ns.idFromName(decodeURIComponent(m[2])));
    return stub.fetch(new Request(`http://host${m[3] ?? '/'}${url.search}`, request));
  },
};
