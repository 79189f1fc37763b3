export class ChatRoom { constructor(public state: DurableObjectState, public env: any) {}
async fetch(req: Request): Promise<Response> { if (req.headers.get('Upgrade') === 'websocket') { const pair = new WebSocketPair(); this.state.acceptWebSocket(pair[1]);
// Bootstrap the new client with current state. Without this, late // joiners see nothing until the next message arrives.
const messages: any[] = (await this.state.storage.get('messages')) ?? []; pair[1].send(JSON.stringify({ type: 'init', messages }));
return new Response(null, { status: 101, webSocket: pair[0] }); } if (req.method === 'POST') { const msg = await req.json(); const messages: any[] = (await this.state.storage.get('messages')) ?? []; messages.push(msg); await this.state.storage.put('messages', messages.slice(-100)); this.broadcast(JSON.stringify(msg)); return Response.json({ ok: true }); } const messages = (await this.state.storage.get('messages')) ?? []; return Response.json(messages); }
// The runtime delivers either a string or an ArrayBuffer. Guard before // treating the payload as text — JSON.parse on an ArrayBuffer crashes the DO.
async webSocketMessage(ws: WebSocket, msg: string | ArrayBuffer) { if (typeof msg !== 'string') return; this.broadcast(msg); }
broadcast(msg: string) { for (const ws of this.state.getWebSockets()) { try { ws.send(msg); } catch { /* dead conn */ } } }}
