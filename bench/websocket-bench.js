// The chat room of the WebSocket benchmark, run unchanged by Dorm and by workerd: Cloudflare's
// hibernating ChatRoom (examples/hibernating-chat-room.ts) in plain JavaScript, with the message
// handler the example leaves to the reader filled in as a broadcast to every socket of the room.
//
// GET / with Upgrade: websocket joins the room (?userId=&username= go into the socket's
// attachment, as in the example); any other GET answers the id this instance drew in its
// constructor and its socket count, so that the benchmark can tell whether the object was evicted
// (hibernated) and re-created in between with its sockets intact. Every message goes to every
// socket of the room, the sender's included.
export class WebSocketBench {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.instance = crypto.randomUUID();
    // Restores the sessions after hibernation, as the example does.
    this.sessions = new Map();
    for (const ws of ctx.getWebSockets()) this.sessions.set(ws, ws.deserializeAttachment());
  }

  async fetch(request) {
    if (request.headers.get('Upgrade') !== 'websocket') {
      return new Response(JSON.stringify({ instance: this.instance, sockets: this.ctx.getWebSockets().length }),
        { headers: { 'content-type': 'application/json' } });
    }
    const url = new URL(request.url);
    const metadata = { userId: url.searchParams.get('userId'), username: url.searchParams.get('username') };
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(metadata);
    this.sessions.set(server, metadata);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    for (const peer of this.ctx.getWebSockets()) {
      try {
        peer.send(message);
      } catch {
        // A peer closing meanwhile misses the message; the others still get it.
      }
    }
  }

  async webSocketClose(ws, code) {
    this.sessions.delete(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'Closing');
    } catch {
      // Already closed.
    }
  }

  async webSocketError(ws) {
    this.sessions.delete(ws);
  }
}
