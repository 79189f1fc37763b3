// WebSocket helpers for the end-to-end suite: a `ws` client wrapper that queues what arrives (so
// a test can wait for "the next message that matches" without racing the event), and a raw
// client that writes hand-made frames, for the protocol violations a conforming library refuses
// to produce.

import crypto from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';

export { WebSocket };

// A connected `ws` client. Messages are queued as {data: string | Buffer, binary}; `closed`
// resolves with {code, reason} when the connection ends.
export class WsClient {
  static open(url, { protocols, headers, timeoutMs = 15000 } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers, handshakeTimeout: timeoutMs });
      const client = new WsClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const err = new Error(`upgrade answered ${res.statusCode}`);
          err.status = res.statusCode;
          err.headers = res.headers;
          err.body = Buffer.concat(chunks).toString('utf8');
          reject(err);
        });
      });
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.pongs = [];
    this.waiters = new Set();
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('message', (data, binary) => {
      this.messages.push({ data: binary ? Buffer.from(data) : data.toString('utf8'), binary });
      this.wake();
    });
    ws.on('pong', (data) => {
      this.pongs.push(Buffer.from(data));
      this.wake();
    });
    // Errors end in 'close'; they are visible through closeInfo.
    ws.on('error', () => {});
  }

  wake() {
    for (const w of this.waiters) w();
  }

  get protocol() {
    return this.ws.protocol;
  }

  send(data) {
    return new Promise((resolve, reject) => this.ws.send(data, (err) => (err ? reject(err) : resolve())));
  }

  // Resolves with the first queued message (removed from the queue) for which `match` is true.
  next(match = () => true, { timeoutMs = 15000, what = 'a message' } = {}) {
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.messages.findIndex((m) => match(m.data, m));
        if (i >= 0) {
          cleanup();
          resolve(this.messages.splice(i, 1)[0].data);
        } else if (this.closeInfo) {
          cleanup();
          reject(new Error(`connection closed (${JSON.stringify(this.closeInfo)}) while waiting for ${what}`));
        } else if (Date.now() >= deadline) {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${JSON.stringify(this.messages.slice(0, 5).map((m) => String(m.data).slice(0, 80)))}`));
        }
      };
      const timer = setTimeout(check, timeoutMs + 5);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  // Sends `text` and resolves with the next message that starts with `prefix`.
  async ask(text, prefix, opts) {
    await this.send(text);
    return this.next((d) => typeof d === 'string' && d.startsWith(prefix), { what: `a reply starting ${prefix}`, ...opts });
  }

  async askJson(text, opts) {
    return JSON.parse(await this.ask(text, '{', opts));
  }

  // Resolves with {code, reason} once closed, or throws after `timeoutMs`.
  async waitClosed(timeoutMs = 15000) {
    let timer;
    const expiry = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, expiry]);
    } finally {
      clearTimeout(timer);
    }
  }

  terminate() {
    this.ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Raw frames.

// One frame as a client would write it. `mask` false leaves it unmasked (a protocol error from
// a client); `length` overrides the length written in the header (the payload is still `payload`).
export function frame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, length }) {
  const body = Buffer.from(payload);
  const len = length ?? body.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126) {
    head.push(maskBit | len);
  } else if (len < 65536) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(len);
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(len));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, body]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ key[i % 4];
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

// Parses the server's (unmasked) frames from `buf`; returns {frames, rest}.
export function parseFrames(buf) {
  const frames = [];
  let pos = 0;
  for (;;) {
    if (buf.length - pos < 2) break;
    const b0 = buf[pos];
    const b1 = buf[pos + 1];
    let len = b1 & 0x7f;
    let off = pos + 2;
    if (len === 126) {
      if (buf.length - off < 2) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (buf.length - off < 8) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (b1 & 0x80) off += 4; // servers never mask; tolerated for robustness of the parser
    if (buf.length - off < len) break;
    const payload = buf.subarray(off, off + len);
    const f = { fin: Boolean(b0 & 0x80), opcode: b0 & 0x0f, payload: Buffer.from(payload) };
    if (f.opcode === 8) {
      f.code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      f.reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
    }
    frames.push(f);
    pos = off + len;
  }
  return { frames, rest: buf.subarray(pos) };
}

// A WebSocket connection made by hand: the handshake, then frames written as given.
export class RawWs {
  static async open(port, path) {
    const socket = await new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const raw = new RawWs(socket);
    const key = crypto.randomBytes(16).toString('base64');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await raw.waitFor(() => {
      const end = raw.buffer.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const text = raw.buffer.subarray(0, end).toString('latin1');
      raw.buffer = raw.buffer.subarray(end + 4);
      return text;
    }, 'the handshake response');
    if (!/^HTTP\/1\.1 101/.test(head)) {
      socket.destroy();
      throw new Error(`handshake failed: ${head}`);
    }
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (!head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
      socket.destroy();
      throw new Error(`bad Sec-WebSocket-Accept in ${head}`);
    }
    return raw;
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.frames = [];
    this.ended = false;
    this.waiters = new Set();
    this.handshakeDone = false;
    socket.on('data', (d) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    const onEnd = () => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
  }

  wake() {
    for (const w of this.waiters) w();
  }

  // Polls `probe` on every arrival until it returns non-null.
  waitFor(probe, what, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v !== null && v !== undefined) {
          cleanup();
          resolve(v);
        } else if (this.ended) {
          cleanup();
          reject(new Error(`connection ended while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  pump() {
    const { frames, rest } = parseFrames(this.buffer);
    this.buffer = rest;
    this.frames.push(...frames);
  }

  // Resolves with the first received frame (removed) for which `match` is true.
  nextFrame(match, what = 'a frame', timeoutMs = 15000) {
    return this.waitFor(() => {
      this.pump();
      const i = this.frames.findIndex(match);
      return i >= 0 ? this.frames.splice(i, 1)[0] : null;
    }, what, timeoutMs);
  }

  nextClose(timeoutMs = 15000) {
    return this.nextFrame((f) => f.opcode === 8, 'a Close frame', timeoutMs);
  }

  write(buf) {
    this.socket.write(buf);
  }

  // Resolves true once the server closed the TCP connection.
  waitEnded(timeoutMs = 15000) {
    return this.waitFor(() => (this.ended ? true : null), 'the end of the connection', timeoutMs);
  }

  destroy() {
    this.socket.destroy();
  }
}
