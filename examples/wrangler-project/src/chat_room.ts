import { DurableObject } from 'cloudflare:workers';

export interface Message {
  user: string;
  text: string;
  at: number;
}

// One object per room: its members and its recent messages. Each post also tells the author's
// UserProfile, an RPC call from one object to another.
export class ChatRoom extends DurableObject<Env> {
  async join(user: string): Promise<{ welcome: string; rooms: string[] }> {
    const members = (await this.ctx.storage.get<string[]>('members')) ?? [];
    if (!members.includes(user)) members.push(user);
    await this.ctx.storage.put('members', members);
    const rooms = await this.env.USERS.getByName(user).joined(this.roomName());
    return { welcome: `${this.env.WELCOME}, ${user}`, rooms };
  }

  async post(user: string, text: string): Promise<{ history: Message[]; posts: number }> {
    const members = (await this.ctx.storage.get<string[]>('members')) ?? [];
    if (!members.includes(user)) throw new Error(`${user} has not joined this room`);
    const history = (await this.ctx.storage.get<Message[]>('history')) ?? [];
    history.push({ user, text, at: Date.now() });
    const limit = Number(this.env.MAX_HISTORY);
    await this.ctx.storage.put('history', history.slice(-limit));
    const posts = await this.env.USERS.getByName(user).posted(this.roomName());
    return { history: history.slice(-limit), posts };
  }

  async history(): Promise<Message[]> {
    return (await this.ctx.storage.get<Message[]>('history')) ?? [];
  }

  private roomName(): string {
    return this.ctx.id.name ?? this.ctx.id.toString();
  }
}
