// Durable Object: counter
export class Counter {
  state: DurableObjectState;
  constructor(
    state: DurableObjectState
  ) {
    this.state = state;
  }
  async fetch(
    request: Request
  ): Promise<Response> {
    const url = new URL(
      request.url);
    if (url.pathname ===
      '/increment') {
      let value: number =
        (await this.state
          .storage.get(
            'count')) ?? 0;
      value++;
      await this.state
        .storage.put(
          'count', value);
      return Response.json(
        { count: value });
    }
    if (url.pathname ===
      '/get') {
      const value =
        (await this.state
          .storage.get(
            'count')) ?? 0;
      return Response.json(
        { count: value });
    }
    return new Response(
      'Not found',
      { status: 404 });
  }
}
