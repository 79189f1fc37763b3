// The Worker: every request to the app that is not under /_do/ comes here.
//   POST /rooms/<room>/join?user=ann       → {welcome, rooms}
//   POST /rooms/<room>/post?user=ann  body → {history, posts}
//   GET  /rooms/<room>                     → the room's history
import { ChatRoom } from './chat_room';
import { UserProfile } from './user_profile';

export { ChatRoom, UserProfile };

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, section, room, action] = url.pathname.split('/');
    if (section !== 'rooms' || !room) {
      return new Response('Not found: use /rooms/<room>[/join|/post]', { status: 404 });
    }
    const stub = env.ROOMS.getByName(room);
    const user = url.searchParams.get('user') ?? 'anonymous';
    try {
      if (request.method === 'POST' && action === 'join') {
        return Response.json(await stub.join(user));
      }
      if (request.method === 'POST' && action === 'post') {
        return Response.json(await stub.post(user, await request.text()));
      }
      if (request.method === 'GET' && !action) return Response.json(await stub.history());
    } catch (error) {
      return Response.json({ error: (error as Error).message }, { status: 400 });
    }
    return new Response('Method not allowed', { status: 405 });
  },
} satisfies ExportedHandler<Env>;
