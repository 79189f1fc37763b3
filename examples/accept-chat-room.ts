// The chat room of the community Durable Objects skill: standard WebSockets (`server.accept()`)
// with event listeners, relaying each message to the other members. The skill's code, unchanged
// but for line breaks (the skill's page wraps it mid-expression, which TypeScript rejects before
// `as`); deployed as `accept-chat-room`. Such an object stays in memory while a socket is open.
export class ChatRoom {
  state: DurableObjectState;
  sessions: WebSocket[] = [];

  constructor(state: DurableObjectState) {
    this.state = state;
  }

  async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade') === 'websocket') {
      const pair = new WebSocketPair();
      const [client, server] = Object.values(pair);
      server.accept();
      this.sessions.push(server);
      server.addEventListener('message', (event) => {
        for (const ws of this.sessions) {
          if (ws !== server) {
            ws.send(event.data as string);
          }
        }
      });
      server.addEventListener('close', () => {
        this.sessions = this.sessions.filter((s) => s !== server);
      });
      return new Response(null, {
        status: 101,
        webSocket: client,
      });
    }
    return new Response('Expected WebSocket', { status: 400 });
  }
}
