// The outbound fetch() benchmark's object: each request makes one fetch() to the upstream named
// in its query (?upstream=http://HOST:PORT&size=small|big) and answers with the length of the
// body it read, so that a wrong or empty upstream answer shows in the correctness check.
export class FetchBench {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }

  async fetch(request) {
    const query = new URL(request.url).searchParams;
    // Proxied (?size=huge&mib=N): the upstream's body of N MiB streams through to the client.
    if (query.get('size') === 'huge') return fetch(`${query.get('upstream')}/huge/${query.get('mib')}`);
    const response = await fetch(`${query.get('upstream')}/${query.get('size') ?? 'small'}`);
    const body = await response.arrayBuffer();
    return new Response(String(body.byteLength));
  }
}
