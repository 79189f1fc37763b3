// The upstream of the outbound fetch() benchmark (bench/fetch.mjs), in a process of its own:
// GET /small answers 100 bytes, GET /big 64 KiB, with keep-alive. Prints "listening PORT" once
// it accepts connections on 127.0.0.1.
import http from 'node:http';

const bodies = { '/small': Buffer.alloc(100, 97), '/big': Buffer.alloc(64 * 1024, 98) };
const server = http.createServer((req, res) => {
  const body = bodies[req.url];
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
