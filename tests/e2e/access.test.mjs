// Access modes, enforced before a request reaches its object: public, authenticated (end-user
// JWTs signed with HS256, RS256 or ES256, keys from a secret, PEM files or a JWKS file, iss/aud
// and exp/nbf checks) and service_key (`dorm keys create | list | revoke`), over HTTP and over
// WebSocket upgrades (Authorization header, `bearer.<token>` subprotocol, `access_token` query).
// Every refused request goes to an instance whose durable request counter is read afterwards with
// a valid credential: it must be 1 (that read), proving the object never saw the refused ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer, fixture, describeCli, assertCliFailure, makeTempDir } from './lib/dorm.mjs';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'dorm-tests';
const PROBE = fixture('access_probe.js');

let server;
let keyDir;
const keys = {};

const b64url = (data) => Buffer.from(data).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// A JWS compact token over `payload`, signed as `alg` says with `key` (node:crypto only).
function signJwt(payload, { alg = 'HS256', key = keys.hsSecret, kid, header = {} } = {}) {
  const head = { alg, typ: 'JWT', ...(kid ? { kid } : {}), ...header };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(payload))}`;
  let signature;
  if (alg === 'HS256') {
    signature = crypto.createHmac('sha256', key).update(input).digest();
  } else if (alg === 'RS256') {
    signature = crypto.sign('sha256', Buffer.from(input), key);
  } else if (alg === 'ES256') {
    signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  } else {
    signature = Buffer.alloc(0);
  }
  return `${input}.${b64url(signature)}`;
}

function claims(extra = {}) {
  return { sub: 'user-1', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 600, name: 'Zoë', ...extra };
}

function hostFor(app) {
  return app ? { host: `${app}.localhost:${server.port}` } : {};
}

// GET /_do/<cls>/<instance><query> with an optional Bearer token.
function call(cls, instance, { token, headers = {}, app, query = '' } = {}) {
  const h = { ...hostFor(app), ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  return server.request(`/_do/${cls}/${instance}${query}`, { headers: h });
}

async function expectOk(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text}`);
  return res.json();
}

function expect401(res, what, { tokenGiven = true } = {}) {
  assert.equal(res.status, 401, `${what}: ${res.status} ${res.text}`);
  const challenge = res.headers['www-authenticate'];
  assert.ok(challenge?.startsWith('Bearer realm="dorm"'), `${what}: WWW-Authenticate ${challenge}`);
  assert.equal(challenge.includes('error="invalid_token"'), tokenGiven, `${what}: ${challenge}`);
  assert.equal(typeof res.json().error, 'string');
}

function expect403(res, what) {
  assert.equal(res.status, 403, `${what}: ${res.status} ${res.text}`);
  assert.equal(typeof res.json().error, 'string');
}

// The instance's request counter, read with `token`: 1 means no earlier request reached it.
async function seenBy(cls, instance, token, app) {
  return (await expectOk(await call(cls, instance, { token, app }), `counter of ${instance}`)).seen;
}

// Opens a WebSocket with the `ws` client. Resolves {ws} once open, or {status, headers, body}
// when the server refuses the upgrade, or {error} when the handshake fails otherwise.
function openWs(target, { protocols, headers = {} } = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}${target}`, protocols, {
      headers,
      handshakeTimeout: 20000,
    });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        ws.on('error', () => {});
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() });
      });
    });
    ws.once('error', (error) => resolve({ error }));
  });
}

// Sends a message and returns the object's JSON report.
function report(ws) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no report within 20 s')), 20000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()));
    });
    ws.send('report');
  });
}

function closeWs(ws) {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve();
    ws.once('close', resolve);
    ws.close(1000);
  });
}

async function cli(args) {
  const result = await server.cli(args);
  assert.equal(result.code, 0, describeCli(result));
  return result;
}

before(async () => {
  keyDir = makeTempDir('keys');
  keys.hsSecret = crypto.randomBytes(32).toString('hex');
  keys.otherSecret = crypto.randomBytes(32).toString('hex');
  keys.rsaPem = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.ecPem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.rsaJwks = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.ecJwks = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  keys.rsaWrong = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys.ecWrong = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const write = (name, text) => {
    const file = path.join(keyDir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  keys.hsFile = write('hs256.secret', `${keys.hsSecret}\n`);
  keys.otherFile = write('other.secret', keys.otherSecret);
  keys.pemFile = write(
    'keys.pem',
    keys.rsaPem.publicKey.export({ type: 'spki', format: 'pem' }) +
      keys.ecPem.publicKey.export({ type: 'spki', format: 'pem' }),
  );
  const jwk = (pair, kid, alg) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  keys.jwksFile = write(
    'jwks.json',
    JSON.stringify({ keys: [jwk(keys.rsaJwks, 'rsa-1', 'RS256'), jwk(keys.ecJwks, 'ec-1', 'ES256')] }),
  );
  keys.privateFile = write('private.pem', keys.rsaWrong.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  keys.shortFile = write('short.secret', 'too-short');

  server = await startServer();
  await server.deploy(PROBE, { name: 'probe-public', access: 'public' });
  await server.deploy(PROBE, { name: 'probe-auth', access: 'authenticated' });
  await server.deploy(PROBE, { name: 'probe-key', access: 'service_key' });
  await server.deploy(PROBE, { name: 'probe-auth', access: 'authenticated', app: 'other' });
  await server.deploy(PROBE, { name: 'probe-key', access: 'service_key', app: 'other' });
  await cli([
    'auth', 'set', '--hs256-secret-file', keys.hsFile, '--public-key-file', keys.pemFile,
    '--jwks-file', keys.jwksFile, '--issuer', ISSUER, '--audience', AUDIENCE,
  ]);
  await cli(['auth', 'set', '--app', 'other', '--hs256-secret-file', keys.otherFile]);
  const created = await cli(['keys', 'create', '--name', 'backend']);
  keys.service = created.stdout.trim();
  keys.serviceId = /created service key (sk_[0-9a-f]+)/.exec(created.stderr)?.[1];
  assert.ok(keys.serviceId, describeCli(created));
});

after(async () => {
  await server?.stop();
});

test('dorm auth set/show: configuration summary without secrets, clear errors for bad keys', async () => {
  const shown = await cli(['auth', 'show']);
  assert.match(shown.stdout, /HS256 secret: set/);
  assert.match(shown.stdout, /PEM keys:\s+2/);
  assert.match(shown.stdout, /JWKS keys:\s+2/);
  assert.match(shown.stdout, new RegExp(`issuer:\\s+${ISSUER}`));
  assert.ok(!shown.stdout.includes(keys.hsSecret), 'the secret is never shown');
  const api = (await server.api('GET', '/apps/default/auth')).json();
  assert.deepEqual(
    [api.configured, api.hs256, api.public_keys, api.jwks_keys, api.issuer, api.audience],
    [true, true, 2, 2, ISSUER, AUDIENCE],
  );
  assert.ok(!JSON.stringify(api).includes(keys.hsSecret));

  assertCliFailure(assert, await server.cli(['auth', 'set', '--app', 'spare', '--hs256-secret-file', keys.shortFile]), /at least 32 bytes/);
  assertCliFailure(assert, await server.cli(['auth', 'set', '--app', 'spare', '--public-key-file', keys.privateFile]), /private key/);
  assertCliFailure(assert, await server.cli(['auth', 'set', '--app', 'spare']), /needs --hs256-secret-file/);
  assert.equal((await server.api('GET', '/apps/spare/auth')).json().configured, false, 'a refused set changes nothing');
});

test('deploy: default access is authenticated, a bad --access value is a clear error', async () => {
  const deployed = await server.deploy(PROBE, { name: 'probe-default', access: null });
  assert.match(deployed.stdout, /access authenticated/);
  expect401(await call('probe-default', 'd1'), 'default access without a token', { tokenGiven: false });
  await expectOk(await call('probe-default', 'd1', { token: signJwt(claims()) }), 'default access with a JWT');
  const bad = await server.deploy(PROBE, { name: 'probe-bad', access: 'everyone', check: false });
  assertCliFailure(assert, bad, /Invalid access mode 'everyone': use public, authenticated or service_key/);
  assert.ok(!(await server.classNames()).includes('probe-bad'));
  const res = await server.api('DELETE', '/apps/default/classes/probe-default');
  assert.equal(res.status, 200);
});

test('public: no credential needed, and client-supplied auth headers never reach the object', async () => {
  const body = await expectOk(
    await call('probe-public', 'p1', {
      token: 'garbage',
      headers: { 'x-dorm-auth-claims': '{"sub":"admin"}', 'x-dorm-service-key-id': 'sk_forged' },
    }),
    'public with forged headers',
  );
  assert.equal(body.claims, null);
  assert.equal(body.serviceKeyId, null);
  assert.equal((await expectOk(await call('probe-public', 'p1'), 'public without token')).seen, 2);
});

test('authenticated over HTTP: HS256, RS256 and ES256 from a secret, PEM keys and a JWKS', async () => {
  const payload = claims({ roles: ['reader'] });
  const tokens = {
    'HS256 secret': signJwt(payload),
    'RS256 PEM': signJwt(payload, { alg: 'RS256', key: keys.rsaPem.privateKey }),
    'ES256 PEM': signJwt(payload, { alg: 'ES256', key: keys.ecPem.privateKey }),
    'RS256 JWKS': signJwt(payload, { alg: 'RS256', key: keys.rsaJwks.privateKey, kid: 'rsa-1' }),
    'ES256 JWKS': signJwt(payload, { alg: 'ES256', key: keys.ecJwks.privateKey, kid: 'ec-1' }),
    'ES256 JWKS without kid': signJwt(payload, { alg: 'ES256', key: keys.ecJwks.privateKey }),
  };
  for (const [what, token] of Object.entries(tokens)) {
    const body = await expectOk(
      await call('probe-auth', `alg-${what.replace(/ /g, '-')}`, {
        token,
        headers: { 'x-dorm-auth-claims': '{"sub":"forged"}', 'x-dorm-service-key-id': 'sk_forged' },
      }),
      what,
    );
    assert.deepEqual(JSON.parse(body.claims), payload, `${what}: the object sees the verified claims`);
    assert.equal(body.serviceKeyId, null, `${what}: the forged key id is stripped`);
    assert.equal(body.seen, 1);
  }
  // A key id of the JWKS names that key only.
  expect401(
    await call('probe-auth', 'kid', { token: signJwt(payload, { alg: 'ES256', key: keys.ecJwks.privateKey, kid: 'rsa-1' }) }),
    'ES256 token naming an RSA key',
  );
  expect401(
    await call('probe-auth', 'kid', { token: signJwt(payload, { alg: 'RS256', key: keys.rsaJwks.privateKey, kid: 'nope' }) }),
    'unknown kid',
  );
  assert.equal(await seenBy('probe-auth', 'kid', tokens['HS256 secret']), 1);
});

test('authenticated over HTTP: expired, not yet valid, wrongly signed, malformed and missing tokens get 401', async () => {
  const instance = 'refused-http';
  const [head, body] = signJwt(claims()).split('.');
  const refused = {
    expired: signJwt(claims({ exp: now() - 3600 })),
    'not yet valid': signJwt(claims({ nbf: now() + 3600 })),
    'no exp': signJwt(claims({ exp: undefined })),
    'HS256 with another secret': signJwt(claims(), { key: keys.otherSecret }),
    'RS256 with an unknown key': signJwt(claims(), { alg: 'RS256', key: keys.rsaWrong.privateKey }),
    'ES256 with an unknown key': signJwt(claims(), { alg: 'ES256', key: keys.ecWrong.privateKey }),
    'alg none': signJwt(claims(), { alg: 'none' }),
    'HS384': `${b64url(JSON.stringify({ alg: 'HS384' }))}.${body}.${b64url('x')}`,
    'tampered payload': `${head}.${b64url(JSON.stringify(claims({ sub: 'admin' })))}.${signJwt(claims()).split('.')[2]}`,
    'wrong issuer': signJwt(claims({ iss: 'https://evil.example' })),
    'no issuer': signJwt(claims({ iss: undefined })),
    'wrong audience': signJwt(claims({ aud: 'someone-else' })),
    'two parts': `${head}.${body}`,
    'not base64url JSON': 'abc.def.ghi',
    'plain word': 'letmein',
    'unknown service key': `dorm_sk_${'0'.repeat(64)}`,
  };
  for (const [what, token] of Object.entries(refused)) {
    expect401(await call('probe-auth', instance, { token }), what);
  }
  expect401(await call('probe-auth', instance), 'missing', { tokenGiven: false });
  expect401(await call('probe-auth', instance, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 'Basic', {
    tokenGiven: false,
  });
  expect401(await call('probe-auth', instance, { headers: { authorization: 'Bearer ' } }), 'empty bearer', {
    tokenGiven: false,
  });
  const expired = await call('probe-auth', instance, { token: refused.expired });
  assert.match(expired.headers['www-authenticate'], /error_description="Token has expired\."/);

  // Small clock skew is tolerated: just expired, or valid in a few seconds.
  await expectOk(await call('probe-auth', 'skew', { token: signJwt(claims({ exp: now() - 5 })) }), 'exp 5 s ago');
  await expectOk(await call('probe-auth', 'skew', { token: signJwt(claims({ nbf: now() + 5 })) }), 'nbf in 5 s');
  // aud may be a list.
  await expectOk(await call('probe-auth', 'skew', { token: signJwt(claims({ aud: ['x', AUDIENCE] })) }), 'aud list');

  assert.equal(await seenBy('probe-auth', instance, signJwt(claims())), 1, 'no refused request reached the object');
});

test('iss and aud are optional: an app configured without them accepts tokens without them', async () => {
  const token = signJwt({ sub: 'u', exp: now() + 60 }, { key: keys.otherSecret });
  const body = await expectOk(await call('probe-auth', 'o1', { app: 'other', token }), 'other app');
  assert.equal(JSON.parse(body.claims).sub, 'u');
  // Each app trusts its own keys only.
  expect401(await call('probe-auth', 'o2', { app: 'other', token: signJwt(claims()) }), "default app's token in other");
  expect401(await call('probe-auth', 'o2', { token }), "other app's token in default");
  assert.equal(await seenBy('probe-auth', 'o2', token, 'other'), 1);
});

test('service_key: keys are shown once, stored hashed, accepted, refused elsewhere and revoked at once', async () => {
  assert.match(keys.service, /^dorm_sk_[0-9a-f]{64}$/);
  const list = await cli(['keys', 'list']);
  assert.ok(list.stdout.includes(keys.serviceId), list.stdout);
  assert.ok(list.stdout.includes(keys.service.slice(0, 16)), 'the list shows the prefix');
  assert.ok(!list.stdout.includes(keys.service), 'the list never shows the key');
  const listed = (await server.api('GET', '/apps/default/keys')).json();
  assert.deepEqual(listed.keys.map((k) => [k.id, k.name]), [[keys.serviceId, 'backend']]);
  assert.ok(!JSON.stringify(listed).includes(keys.service));
  // Nothing under the data folder holds the key itself.
  const files = fs.readdirSync(server.dataDir, { recursive: true }).map((f) => path.join(server.dataDir, f));
  let scanned = 0;
  for (const file of files) {
    let bytes;
    try {
      if (!fs.statSync(file).isFile()) continue;
      bytes = fs.readFileSync(file);
    } catch (e) {
      if (e.code === 'ENOENT') continue; // a WAL file removed meanwhile
      throw e;
    }
    scanned += 1;
    assert.ok(!bytes.includes(keys.service), `${file} holds the service key`);
    assert.ok(!bytes.includes(keys.hsSecret), `${file} holds the HS256 secret in plain text`);
  }
  assert.ok(files.some((f) => f.endsWith('registry.sqlite')) && scanned > 0, 'the registry was scanned');

  const body = await expectOk(
    await call('probe-key', 'k1', { token: keys.service, headers: { 'x-dorm-service-key-id': 'sk_forged' } }),
    'service key',
  );
  assert.equal(body.serviceKeyId, keys.serviceId);
  assert.equal(body.claims, null);
  // An authenticated class accepts the app's service keys too.
  assert.equal((await expectOk(await call('probe-auth', 'k1', { token: keys.service }), 'key on authenticated')).serviceKeyId, keys.serviceId);

  const instance = 'refused-key';
  expect401(await call('probe-key', instance), 'missing', { tokenGiven: false });
  expect401(await call('probe-key', instance, { token: 'dorm_sk_short' }), 'malformed key');
  const altered = keys.service.slice(0, -1) + (keys.service.endsWith('0') ? '1' : '0');
  expect401(await call('probe-key', instance, { token: altered }), 'altered key');
  expect401(await call('probe-key', instance, { token: signJwt(claims({ exp: now() - 3600 })) }), 'expired JWT');
  expect403(await call('probe-key', instance, { token: signJwt(claims()) }), 'valid JWT on a service_key class');
  // Only the Authorization header carries a service key.
  expect401(await call('probe-key', instance, { query: `?access_token=${keys.service}` }), 'key in the query', { tokenGiven: false });

  // A key of another app grants nothing here.
  const other = await cli(['keys', 'create', '--app', 'other']);
  const otherKey = other.stdout.trim();
  expect403(await call('probe-key', instance, { token: otherKey }), "other app's key");
  expect403(await call('probe-auth', instance, { token: otherKey }), "other app's key on authenticated");
  await expectOk(await call('probe-key', 'k2', { app: 'other', token: otherKey }), 'other key in its app');
  assert.equal(await seenBy('probe-key', instance, keys.service), 1, 'no refused request reached the object');

  // Rotation: a second key works alongside; revoking the first stops it at once.
  const second = (await cli(['keys', 'create', '--name', 'rotated'])).stdout.trim();
  await expectOk(await call('probe-key', 'k3', { token: second }), 'second key');
  await cli(['keys', 'revoke', keys.serviceId]);
  expect401(await call('probe-key', 'k3', { token: keys.service }), 'revoked key');
  await expectOk(await call('probe-key', 'k3', { token: second }), 'second key after the revocation');
  assert.ok(!(await cli(['keys', 'list'])).stdout.includes(keys.serviceId));
  assertCliFailure(assert, await server.cli(['keys', 'revoke', keys.serviceId]), /has no service key/);
});

test('WebSocket upgrades: Authorization header, bearer.<token> subprotocol and access_token query', async () => {
  const payload = claims();
  const token = signJwt(payload);

  const viaHeader = await openWs('/_do/probe-auth/ws1', { headers: { authorization: `Bearer ${token}` } });
  assert.ok(viaHeader.ws, `header: ${viaHeader.status ?? viaHeader.error}`);
  const r1 = await report(viaHeader.ws);
  assert.deepEqual(JSON.parse(r1.claims), payload);
  assert.equal(viaHeader.ws.protocol, '');
  await closeWs(viaHeader.ws);

  // Only a bearer entry offered: the server selects it, so that RFC 6455 clients accept the
  // handshake; the object never sees it.
  const viaProtocol = await openWs('/_do/probe-auth/ws1', { protocols: [`bearer.${token}`] });
  assert.ok(viaProtocol.ws, `subprotocol: ${viaProtocol.status ?? viaProtocol.error}`);
  assert.equal(viaProtocol.ws.protocol, `bearer.${token}`);
  const r2 = await report(viaProtocol.ws);
  assert.equal(r2.protocols, null, 'the object does not see the token entry');
  assert.deepEqual(JSON.parse(r2.claims), payload);
  await closeWs(viaProtocol.ws);

  // Without that selection the ws client refuses the handshake: a public class sees the bearer
  // entry as any protocol, and its 101 selecting none fails on this client.
  const unselected = await openWs('/_do/probe-public/ws1', { protocols: [`bearer.${token}`] });
  assert.match(String(unselected.error?.message), /Server sent no subprotocol/);
  const publicSelects = await openWs(`/_do/probe-public/ws1?select=bearer.${token}`, { protocols: [`bearer.${token}`] });
  assert.ok(publicSelects.ws, `public: ${publicSelects.status ?? publicSelects.error}`);
  assert.equal((await report(publicSelects.ws)).protocols, `bearer.${token}`, 'public classes see every entry');
  await closeWs(publicSelects.ws);

  // Other protocols offered too: the object chooses among them, and its choice is sent.
  const mixed = await openWs('/_do/probe-auth/ws1?select=chat', { protocols: ['chat', `bearer.${token}`, 'v2'] });
  assert.ok(mixed.ws, `mixed: ${mixed.status ?? mixed.error}`);
  assert.equal(mixed.ws.protocol, 'chat');
  assert.equal((await report(mixed.ws)).protocols, 'chat, v2');
  await closeWs(mixed.ws);

  const viaQuery = await openWs(`/_do/probe-auth/ws1?room=a&access_token=${encodeURIComponent(token)}&x=1`);
  assert.ok(viaQuery.ws, `query: ${viaQuery.status ?? viaQuery.error}`);
  const r3 = await report(viaQuery.ws);
  assert.equal(new URL(r3.url).search, '?room=a&x=1', 'the token is removed from the URL the object sees');
  assert.deepEqual(JSON.parse(r3.claims), payload);
  await closeWs(viaQuery.ws);

  // The same sources work for plain HTTP requests to an authenticated class.
  const httpQuery = await expectOk(await call('probe-auth', 'ws1', { query: `?access_token=${token}` }), 'HTTP query token');
  assert.equal(new URL(httpQuery.url).search, '');
  assert.equal(httpQuery.seen, 5);

  // A service key over a WebSocket, in the header.
  const keyed = (await cli(['keys', 'create', '--name', 'ws'])).stdout.trim();
  const viaKey = await openWs('/_do/probe-key/ws1', { headers: { authorization: `Bearer ${keyed}` } });
  assert.ok(viaKey.ws, `service key: ${viaKey.status ?? viaKey.error}`);
  assert.match((await report(viaKey.ws)).serviceKeyId, /^sk_[0-9a-f]+$/);
  await closeWs(viaKey.ws);
});

test('WebSocket upgrades: refused credentials get 401/403 and never reach the object', async () => {
  const target = '/_do/probe-auth/ws-refused';
  const bad = {
    expired: signJwt(claims({ exp: now() - 3600 })),
    'not yet valid': signJwt(claims({ nbf: now() + 3600 })),
    'wrongly signed': signJwt(claims(), { alg: 'RS256', key: keys.rsaWrong.privateKey }),
    malformed: 'not.a.jwt',
  };
  for (const [what, token] of Object.entries(bad)) {
    for (const [how, opts, t] of [
      ['header', { headers: { authorization: `Bearer ${token}` } }, target],
      ['subprotocol', { protocols: [`bearer.${token}`] }, target],
      ['query', {}, `${target}?access_token=${encodeURIComponent(token)}`],
    ]) {
      const r = await openWs(t, opts);
      assert.equal(r.status, 401, `${what} via ${how}: ${r.error ?? r.body}`);
      assert.match(r.headers['www-authenticate'], /^Bearer realm="dorm", error="invalid_token"/);
      assert.equal(JSON.parse(r.body).error.length > 0, true);
    }
  }
  const missing = await openWs(target);
  assert.equal(missing.status, 401);
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="dorm"');
  const onlyChat = await openWs(target, { protocols: ['chat'] });
  assert.equal(onlyChat.status, 401, 'a protocol list without a bearer entry is no credential');

  // service_key classes take the key from the Authorization header only.
  const keyTarget = '/_do/probe-key/ws-refused';
  const jwtOnKeyClass = await openWs(keyTarget, { headers: { authorization: `Bearer ${signJwt(claims())}` } });
  assert.equal(jwtOnKeyClass.status, 403);
  const key = (await cli(['keys', 'create'])).stdout.trim();
  const keyAsProtocol = await openWs(keyTarget, { protocols: [`bearer.${key}`] });
  assert.equal(keyAsProtocol.status, 401);

  assert.equal(await seenBy('probe-auth', 'ws-refused', signJwt(claims())), 1, 'no refused upgrade reached the object');
  assert.equal(await seenBy('probe-key', 'ws-refused', key), 1, 'no refused upgrade reached the object');
});
