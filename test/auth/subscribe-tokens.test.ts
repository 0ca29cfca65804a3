import { exportJWK, exportSPKI, generateKeyPair, SignJWT, base64url } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, TokenVerifier, mintToken, type EventStreamOptions } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { getOnce, startHttp, type SimpleReply } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// Signed subscription tokens on real node:http streams, each way a client can bring one, and
// each way a token can be bad: every refusal a 4xx with a JSON code and an RFC 6750 challenge.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const OTHER_SECRET = 'another-secret-also-32-bytes-long!!!';

afterEach(runCleanups);

async function serve(options: EventStreamOptions, route = '/events/:room'): Promise<{ url: string; es: EventStream }> {
  const es = track(new EventStream(options));
  const { url } = await startHttp((req, res) => {
    const match = /^\/events\/([^/?]+)/.exec(req.url ?? '');
    if (match === null || route === '') return void res.writeHead(404).end();
    void es.route('room-{room}')(Object.assign(req, { params: { room: decodeURIComponent(match[1]!) } }), res);
  });
  return { url, es };
}

const verifier = (extra: Partial<ConstructorParameters<typeof TokenVerifier>[0]> = {}): TokenVerifier =>
  new TokenVerifier({ secret: SECRET, ...extra });

/** A stream request that must be refused: the whole answer. */
function refusedWith(url: string, headers: Record<string, string> = {}): Promise<SimpleReply> {
  return getOnce(url, { accept: 'text/event-stream', ...headers });
}

/** Opens the stream, checks it started (200, event-stream, stream-open), and leaves. */
async function opens(url: string, headers: Record<string, string> = {}): Promise<void> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  try {
    expect(res.status, await (res.status === 200 ? '' : res.text())).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { value } = await res.body!.getReader().read();
    expect(new TextDecoder().decode(value)).toContain('event: stream-open');
  } finally {
    controller.abort();
  }
}

function bodyOf(reply: SimpleReply): { code: string; message: string } {
  expect(reply.headers['content-type']).toBe('application/json');
  expect(reply.body.trim().includes('\n')).toBe(false);
  return JSON.parse(reply.body) as { code: string; message: string };
}

describe('subscription tokens', () => {
  describe('where a token comes from', () => {
    it('opens with a token in the cookie, the access_token query parameter, or Authorization: Bearer', async () => {
      const { url } = await serve({ tokens: verifier() });
      const token = await mintToken({ secret: SECRET, subscribe: ['room-1'] });
      await opens(`${url}/events/1`, { cookie: `theme=dark; gripstream_token=${token}` });
      await opens(`${url}/events/1?access_token=${token}`);
      await opens(`${url}/events/1`, { authorization: `Bearer ${token}` });
    });

    it('delivers published events to a stream opened with a token', async () => {
      const { url, es } = await serve({ tokens: verifier() });
      const token = await mintToken({ secret: SECRET, subscribe: ['room-*'] });
      const client = await connectSse(`${url}/events/42`, { headers: { authorization: `Bearer ${token}` } });
      await es.publishEvent('room-42', { event: 'message', data: { n: 1 } });
      expect((await client.nextEvent('message')).data).toBe('{"n":1}');
    });

    it('uses the configured cookie name and refuses query tokens when query is false', async () => {
      const { url } = await serve({ tokens: { verifier: verifier(), cookie: '__Host-rt', query: false } });
      const token = await mintToken({ secret: SECRET, subscribe: ['room-1'] });
      await opens(`${url}/events/1`, { cookie: `__Host-rt=${token}` });
      const reply = await refusedWith(`${url}/events/1?access_token=${token}`);
      expect(reply.status).toBe(401);
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_MISSING');
    });

    it('accepts the same token in cookie and header, refuses two different ones with 400 invalid_request', async () => {
      const { url } = await serve({ tokens: verifier() });
      const one = await mintToken({ secret: SECRET, subscribe: ['room-1'] });
      const two = await mintToken({ secret: SECRET, subscribe: ['room-1'], subject: 'someone-else' });
      await opens(`${url}/events/1`, { cookie: `gripstream_token=${one}`, authorization: `Bearer ${one}` });
      const reply = await refusedWith(`${url}/events/1`, { cookie: `gripstream_token=${one}`, authorization: `Bearer ${two}` });
      expect(reply.status).toBe(400);
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_CONFLICT');
      expect(reply.headers['www-authenticate']).toContain('error="invalid_request"');
    });
  });

  describe('refusals', () => {
    it('answers 401 with a bare challenge when no token came', async () => {
      const { url } = await serve({ tokens: verifier() });
      const reply = await refusedWith(`${url}/events/1`);
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="gripstream"');
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_MISSING');
    });

    it('refuses an expired token with ERR_TOKEN_EXPIRED and error="invalid_token"', async () => {
      const { url } = await serve({ tokens: verifier() });
      const expired = await signed({ exp: now() - 120 });
      const reply = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${expired}` });
      expect(reply.status).toBe(401);
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_EXPIRED');
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer realm="gripstream", error="invalid_token", error_description="[^"]*expired/);
    });

    it('bounds clock skew: 10 s late or early passes within the default 30 s, 60 s does not', async () => {
      const { url } = await serve({ tokens: verifier() });
      await opens(`${url}/events/1`, { authorization: `Bearer ${await signed({ exp: now() - 10 })}` });
      await opens(`${url}/events/1`, { authorization: `Bearer ${await signed({ nbf: now() + 10 })}` });
      const early = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${await signed({ nbf: now() + 60 })}` });
      expect(bodyOf(early).code).toBe('ERR_TOKEN_NOT_YET_VALID');
      expect(() => verifier({ clockTolerance: 3600 })).toThrow(/clockTolerance must be a number from 0 to 300/);
    });

    it('refuses a forged token (signed with another secret)', async () => {
      const { url } = await serve({ tokens: verifier() });
      const forged = await mintToken({ secret: OTHER_SECRET, subscribe: ['room-1'] });
      const reply = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${forged}` });
      expect(reply.status).toBe(401);
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_SIGNATURE');
    });

    it('refuses alg "none" and an HS256 token against an asymmetric key (algorithm confusion)', async () => {
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      const pem = await exportSPKI(publicKey);
      const { url } = await serve({ tokens: new TokenVerifier({ publicKey: pem }) });
      const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const payload = base64url.encode(JSON.stringify({ exp: now() + 60, gripstream: { subscribe: ['*'] } }));
      const none = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${header}.${payload}.` });
      expect(none.status).toBe(401);
      expect(bodyOf(none).code).toBe('ERR_TOKEN_ALGORITHM');
      // The public key's PEM text as an HMAC secret: the classic confusion attack.
      const confused = await new SignJWT({ gripstream: { subscribe: ['*'] } })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1m')
        .sign(new TextEncoder().encode(pem));
      const reply = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${confused}` });
      expect(reply.status).toBe(401);
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_ALGORITHM');
    });

    it('refuses a wrong audience and a wrong issuer', async () => {
      const { url } = await serve({ tokens: verifier({ audience: 'streams', issuer: 'https://app.example' }) });
      const good = await mintToken({ secret: SECRET, subscribe: ['room-1'], audience: 'streams', issuer: 'https://app.example' });
      await opens(`${url}/events/1`, { authorization: `Bearer ${good}` });
      for (const wrong of [
        { audience: 'billing', issuer: 'https://app.example', says: /audience/ },
        { audience: 'streams', issuer: 'https://evil.example', says: /issuer/ },
      ]) {
        const token = await mintToken({ secret: SECRET, subscribe: ['room-1'], audience: wrong.audience, issuer: wrong.issuer });
        const reply = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${token}` });
        expect(reply.status).toBe(401);
        const body = bodyOf(reply);
        expect(body.code).toBe('ERR_TOKEN_CLAIM');
        expect(body.message).toMatch(wrong.says);
      }
    });

    it('refuses an oversized token unread, and a token without exp or without the gripstream claim', async () => {
      const { url } = await serve({ tokens: verifier() });
      const huge = await mintToken({ secret: SECRET, subscribe: Array.from({ length: 100 }, (_, i) => `room-${'x'.repeat(40)}-${i}`) });
      expect(huge.length).toBeGreaterThan(4096);
      const big = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${huge}` });
      expect(big.status).toBe(401);
      expect(bodyOf(big).code).toBe('ERR_TOKEN_TOO_LARGE');
      const noExp = await new SignJWT({ gripstream: { subscribe: ['*'] } }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
      expect(bodyOf(await refusedWith(`${url}/events/1`, { authorization: `Bearer ${noExp}` })).code).toBe('ERR_TOKEN_CLAIM');
      const noGrant = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1m').sign(new TextEncoder().encode(SECRET));
      expect(bodyOf(await refusedWith(`${url}/events/1`, { authorization: `Bearer ${noGrant}` })).code).toBe('ERR_TOKEN_CLAIM');
      const garbage = await refusedWith(`${url}/events/1`, { authorization: 'Bearer not.a.jwt' });
      expect(bodyOf(garbage).code).toBe('ERR_TOKEN_MALFORMED');
    });

    it('refuses a token for room-1 on room-2 with 403 insufficient_scope, naming neither room', async () => {
      const { url } = await serve({ tokens: verifier() });
      const token = await mintToken({ secret: SECRET, subscribe: ['room-1'] });
      const reply = await refusedWith(`${url}/events/2`, { cookie: `gripstream_token=${token}` });
      expect(reply.status).toBe(403);
      expect(reply.headers['www-authenticate']).toContain('error="insufficient_scope"');
      const body = bodyOf(reply);
      expect(body.code).toBe('ERR_TOKEN_SCOPE');
      expect(reply.body).not.toMatch(/room-1|room-2/);
      expect(reply.body).not.toContain(token);
    });

    it('never widens what authorize allows: a token for every channel still gets authorize\'s 403', async () => {
      const { url } = await serve({ tokens: verifier(), authorize: () => false });
      const token = await mintToken({ secret: SECRET, subscribe: ['*'] });
      const reply = await refusedWith(`${url}/events/1`, { authorization: `Bearer ${token}` });
      expect(reply.status).toBe(403);
      expect(reply.body).not.toContain('ERR_TOKEN');
    });

    it('refuses through the fetch handler alike', async () => {
      const es = track(new EventStream({ tokens: verifier() }));
      const token = await mintToken({ secret: SECRET, subscribe: ['room-1'] });
      const refused = await es.fetch(new Request('http://x/e', { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }), 'room-2');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toBe('application/json');
      expect(((await refused.json()) as { code: string }).code).toBe('ERR_TOKEN_SCOPE');
      const ok = await es.fetch(new Request('http://x/e', { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } }), 'room-1');
      expect(ok.status).toBe(200);
      await ok.body!.cancel();
    });
  });

  describe('keys', () => {
    it('verifies tokens signed with a private key (PEM) against its public key', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
      const { exportPKCS8 } = await import('jose');
      const { url } = await serve({ tokens: new TokenVerifier({ publicKey: await exportSPKI(publicKey) }) });
      const token = await mintToken({ privateKey: await exportPKCS8(privateKey), algorithm: 'RS256', subscribe: ['room-1'] });
      await opens(`${url}/events/1`, { authorization: `Bearer ${token}` });
    });

    it('fetches keys from a JWKS URL, picks them by kid, and answers 503 when the key server is down', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
      let fetches = 0;
      const jwks = await startHttp((_req, res) => {
        fetches++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      });
      const { url } = await serve({ tokens: new TokenVerifier({ jwksUrl: `${jwks.url}/.well-known/jwks.json` }) });
      const token = await mintToken({ privateKey, algorithm: 'ES256', keyId: 'key-1', subscribe: ['room-1'] });
      await opens(`${url}/events/1`, { authorization: `Bearer ${token}` });
      expect(fetches).toBe(1);
      const other = await generateKeyPair('ES256');
      const unknown = await mintToken({ privateKey: other.privateKey, algorithm: 'ES256', keyId: 'key-2', subscribe: ['room-1'] });
      expect(bodyOf(await refusedWith(`${url}/events/1`, { authorization: `Bearer ${unknown}` })).code).toBe('ERR_TOKEN_SIGNATURE');

      // A fresh verifier whose key server is gone: the server's problem, 503, not the token's.
      await jwks.close();
      const down = await serve({ tokens: new TokenVerifier({ jwksUrl: `${jwks.url}/.well-known/jwks.json` }) });
      const reply = await refusedWith(`${down.url}/events/1`, { authorization: `Bearer ${token}` });
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('5');
      expect(bodyOf(reply).code).toBe('ERR_TOKEN_KEYS_UNAVAILABLE');
    });

    it('refuses short secrets and ambiguous key options when built', () => {
      expect(() => new TokenVerifier({ secret: 'short' })).toThrow(/at least 32 bytes/);
      expect(() => new TokenVerifier({ secret: SECRET, jwksUrl: 'http://127.0.0.1/' })).toThrow(/exactly one of/);
      expect(() => new TokenVerifier({ jwksUrl: 'file:///etc/passwd' })).toThrow(/http\(s\) URL/);
      expect(() => new EventStream({ tokens: { verifier: 'x' as unknown as TokenVerifier } })).toThrow(/tokens must be a TokenVerifier/);
    });
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function signed(claims: { exp?: number; nbf?: number }): Promise<string> {
  const jwt = new SignJWT({ gripstream: { subscribe: ['room-*'] } }).setProtectedHeader({ alg: 'HS256' });
  jwt.setExpirationTime(claims.exp ?? now() + 60);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return jwt.sign(new TextEncoder().encode(SECRET));
}
