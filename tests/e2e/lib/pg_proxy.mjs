// A TCP proxy to PostgreSQL for the cluster tests: a node started with its URL reaches
// PostgreSQL through it, and the test can cut its connections at a chosen moment.
import net from 'node:net';

// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones, or cut one
// connection at a chosen statement (trap()).
export async function startProxy(port) {
  const sockets = new Set();
  let open = true;
  let armed = null;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    let seenBy = null;  // the trap whose `first` this connection sent
    let trapped = false;
    client.on('data', (chunk) => {
      if (trapped) return;
      const text = chunk.toString('latin1');
      const trap = armed;
      if (trap) {
        const at = seenBy === trap ? 0 : text.indexOf(trap.first);
        if (at >= 0) seenBy = trap;
        if (at >= 0 && text.indexOf(trap.then, at) >= 0) {
          // One connection, once: the statement reaches PostgreSQL (or not, with `drop`), its
          // answer never reaches the node, and then the connection is cut.
          armed = null;
          trapped = true;
          if (!trap.drop) upstream.write(chunk);
          setTimeout(() => {
            client.destroy();
            upstream.destroy();
            trap.resolve();
          }, 300);
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!trapped) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    // The next connection that sends `first` and then `then` (both in one message, or `then` in a
    // later one) is cut 0.3 s after that message, whose answer is dropped; with `drop` the message
    // itself is dropped too. Resolves once cut.
    trap(first, then, { drop = false } = {}) {
      return new Promise((resolve) => { armed = { first, then, drop, resolve }; });
    },
    close: () => new Promise((resolve) => { server.close(resolve); for (const s of sockets) s.destroy(); }),
  };
}
