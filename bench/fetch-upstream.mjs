// The upstream of the outbound fetch() benchmark (bench/fetch.mjs), in a process of its own:
// GET /small answers 100 bytes, GET /big 64 KiB, GET /huge 100 MiB written as the reader takes
// it, with keep-alive. Prints "listening PORT" once
// it accepts connections on 127.0.0.1.
import http from 'node:http';

const bodies = { '/small': Buffer.alloc(100, 97), '/big': Buffer.alloc(64 * 1024, 98) };
const HUGE = 100 * 1024 * 1024;
const block = Buffer.alloc(256 * 1024, 99);

async function sendHuge(res) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE });
  for (let sent = 0; sent < HUGE && !res.destroyed; sent += block.length) {
    if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

const server = http.createServer((req, res) => {
  if (req.url === '/huge') {
    sendHuge(res);
    return;
  }
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
