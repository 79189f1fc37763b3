// Cloudwerk's chat room with WebSockets (app/objects/chat-room.ts → class ChatRoom, binding
// CHAT_ROOM). `broadcast` is a helper of the definition, as the seed's example calls it.
import { defineDurableObject } from '@cloudwerk/durable-object'

interface ChatState {
  messages: Array<{ user: string; text: string; timestamp: number }>
}

export default defineDurableObject<ChatState>({
  init: () => ({ messages: [] }),

  async fetch(request) {
    if (request.headers.get('Upgrade') !== 'websocket') {
      return new Response('Expected WebSocket', { status: 426 })
    }

    const url = new URL(request.url)
    const username = url.searchParams.get('username') ?? 'Anonymous'

    // Create WebSocket pair
    const pair = new WebSocketPair()
    const [client, server] = Object.values(pair)

    // Accept with tags for filtering
    this.ctx.acceptWebSocket(server, [username])

    // Send recent messages
    server.send(JSON.stringify({
      type: 'history',
      messages: this.state.messages.slice(-50),
    }))

    // Notify others
    this.broadcast({
      type: 'join',
      user: username,
      timestamp: Date.now(),
    }, server)

    return new Response(null, { status: 101, webSocket: client })
  },

  async webSocketMessage(ws, message) {
    const data = JSON.parse(message as string)
    const [username] = this.ctx.getTags(ws)

    if (data.type === 'message') {
      const msg = {
        user: username,
        text: data.text,
        timestamp: Date.now(),
      }

      this.state.messages.push(msg)

      // Keep last 1000 messages
      if (this.state.messages.length > 1000) {
        this.state.messages = this.state.messages.slice(-1000)
      }

      this.broadcast({ type: 'message', ...msg })
    }
  },

  async webSocketClose(ws, code, reason) {
    const [username] = this.ctx.getTags(ws)
    this.broadcast({
      type: 'leave',
      user: username,
      timestamp: Date.now(),
    })
  },

  broadcast(message: unknown, except?: WebSocket) {
    const text = JSON.stringify(message)
    for (const ws of this.ctx.getWebSockets()) {
      if (ws !== except) ws.send(text)
    }
  },

  methods: {
    async getOnlineUsers() {
      const sockets = this.ctx.getWebSockets()
      return sockets.map(ws => this.ctx.getTags(ws)[0])
    },

    async getRecentMessages(limit = 50) {
      return this.state.messages.slice(-limit)
    },
  },
})
