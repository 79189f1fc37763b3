// crypto.subtle under replaced built-ins: a tenant that poisons typed arrays, prototypes, JSON,
// promises and globals keeps a working WebCrypto (the prelude uses only what it captured at
// start-up), none of its poisoned accessors is ever reached by the runtime (they would see key
// material or records), and the server stays up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../e2e/lib/dorm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

let server;
before(async () => {
  server = await startServer();
  await server.deploy(path.join(here, 'fixtures', 'webcrypto_builtins.js'), { name: 'crypto-tenant' });
});

after(async () => {
  await server?.stop();
});

test('WebCrypto keeps working, and touches nothing user code replaced', async () => {
  const lines = async (query) => {
    const res = await server.request(`/_do/crypto-tenant/t/${query}`);
    assert.equal(res.status, 200, res.text);
    return res.text.trim().split('\n');
  };
  const clean = await lines('');
  const steps = ['hmac-sign', 'hmac-verify', 'hmac-export-jwk', 'hmac-export-raw', 'aes-gcm', 'wrap-jwk', 'ecdsa', 'ec-jwk',
    'ec-pkcs8', 'ed25519', 'rsa-oaep', 'rsa-jwk', 'pbkdf2', 'x25519', 'error-path'];
  assert.deepEqual(clean, [...steps.map((s) => `${s}: ok`), 'touched: nothing']);
  // Poisoned, twice (the second time over what the first left in the isolate), then clean again.
  for (const query of ['?poison', '?poison', '']) {
    assert.deepEqual(await lines(query), [...steps.map((s) => `${s}: ok`), 'touched: nothing'], query);
  }
  assert.equal(server.exitInfo, null, server.outputTail?.());
});
