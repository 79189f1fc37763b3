// The called object of the RPC benchmark (bench/rpc.mjs): echo(i) returns i; fetch() answers the
// `i` of its URL. Nothing is stored: the benchmark measures the calls, not the disk.
import { DurableObject } from 'cloudflare:workers';

export class RpcBenchTarget extends DurableObject {
  echo(i) {
    return i;
  }

  async fetch(request) {
    return new Response(new URL(request.url).searchParams.get('i'));
  }
}
