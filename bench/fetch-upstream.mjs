// The upstream of the outbound fetch() benchmark (bench/fetch.mjs), in a process of its own:
// GET /small answers 100 bytes, GET /big 64 KiB, GET /huge/N N MiB (1 to 4096) written as the
// reader takes it, with keep-alive. Prints "listening PORT" once it accepts connections on
// 127.0.0.1.
import http from 'node:http';

const bodies = { '/small': Buffer.alloc(100, 97), '/big': Buffer.alloc(64 * 1024, 98) };
const block = Buffer.alloc(256 * 1024, 99);

async function sendHuge(res, bytes) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
  for (let sent = 0; sent < bytes && !res.destroyed; sent += block.length) {
    if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

const server = http.createServer((req, res) => {
  const huge = /^\/huge\/(\d+)$/.exec(req.url);
  if (huge && Number(huge[1]) >= 1 && Number(huge[1]) <= 4096) {
    sendHuge(res, Number(huge[1]) * 1024 * 1024);
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
