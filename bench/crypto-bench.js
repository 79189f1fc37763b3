// The WebCrypto benchmark's object: each request runs `n` operations of one kind one after the
// other (?op=hmac-sign|hmac-verify|aes-gcm-encrypt|aes-gcm-decrypt|sha-256&n=N) and answers a
// checksum of their outputs (a count or a byte length), so that a wrong answer shows in the
// correctness check. Keys and inputs are made once per object.
const MESSAGE_BYTES = 64;
const AES_BYTES = 1024;
const DIGEST_BYTES = 1 << 20;

function filled(length, seed) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

async function setUp() {
  const subtle = crypto.subtle;
  const hmacKey = await subtle.importKey('raw', filled(32, 1), { name: 'HMAC', hash: 'SHA-256' }, false,
    ['sign', 'verify']);
  const aesKey = await subtle.importKey('raw', filled(16, 2), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  const message = filled(MESSAGE_BYTES, 3);
  const plaintext = filled(AES_BYTES, 4);
  const iv = filled(12, 5);
  return {
    hmacKey,
    aesKey,
    message,
    plaintext,
    iv,
    signature: await subtle.sign('HMAC', hmacKey, message),
    ciphertext: await subtle.encrypt({ name: 'AES-GCM', iv }, aesKey, plaintext),
    big: filled(DIGEST_BYTES, 6),
  };
}

export class CryptoBench {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.ready = null;
  }

  async fetch(request) {
    const query = new URL(request.url).searchParams;
    const n = Number(query.get('n') ?? 1);
    this.ready ??= setUp();
    const s = await this.ready;
    const subtle = crypto.subtle;
    let sum = 0;
    switch (query.get('op')) {
      case 'hmac-sign':
        for (let i = 0; i < n; i++) sum += (await subtle.sign('HMAC', s.hmacKey, s.message)).byteLength;
        break;
      case 'hmac-verify':
        for (let i = 0; i < n; i++) sum += (await subtle.verify('HMAC', s.hmacKey, s.signature, s.message)) ? 1 : 0;
        break;
      case 'aes-gcm-encrypt':
        for (let i = 0; i < n; i++) {
          sum += (await subtle.encrypt({ name: 'AES-GCM', iv: s.iv }, s.aesKey, s.plaintext)).byteLength;
        }
        break;
      case 'aes-gcm-decrypt':
        for (let i = 0; i < n; i++) {
          sum += (await subtle.decrypt({ name: 'AES-GCM', iv: s.iv }, s.aesKey, s.ciphertext)).byteLength;
        }
        break;
      case 'sha-256':
        for (let i = 0; i < n; i++) sum += (await subtle.digest('SHA-256', s.big)).byteLength;
        break;
      default:
        return new Response('unknown op', { status: 400 });
    }
    return new Response(String(sum));
  }
}
