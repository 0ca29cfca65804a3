import { execFile } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventStream, TokenVerifier, createPublishHandler, mintToken, type PublishHandlerOptions } from '../../src/index.js';
import { requireBinary } from '../support/binary.js';
import { runCleanups, track } from '../support/cleanup.js';
import { startApp, startHttp } from '../support/server.js';
import { connectSse, type SseClient } from '../support/sse.js';

// The HTTP publish endpoint, driven by non-Node clients (python3's urllib, curl) against a real
// node:http server, with a real EventSource on the channel to see what was (not) published.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const PUBLISH_PY = fileURLToPath(new URL('./fixtures/publish.py', import.meta.url));

afterEach(runCleanups);

interface Setup {
  es: EventStream;
  publishUrl: string;
  streamUrl: string;
}

async function setup(options: Partial<PublishHandlerOptions> = {}): Promise<Setup> {
  const es = track(new EventStream());
  const publish = createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }), ...options });
  const stream = es.route('room-{room}');
  const { url } = await startHttp((req, res) => {
    if (req.url === '/publish') return void publish(req, res);
    const match = /^\/events\/([^/?]+)/.exec(req.url ?? '');
    if (match !== null) return void stream(Object.assign(req, { params: { room: match[1] } }), res);
    res.writeHead(404).end();
  });
  return { es, publishUrl: `${url}/publish`, streamUrl: `${url}/events` };
}

const publisherToken = (publish: string[] = ['room-*'], extra: { expiresIn?: number } = {}): Promise<string> =>
  mintToken({ secret: SECRET, publish, ...extra });

async function python(url: string, token: string, body: string | Buffer, contentType?: string): Promise<{ status: number; body: { code?: string; message?: string; published?: number; duplicates?: number } }> {
  const child = execFile('python3', [PUBLISH_PY, url, token, ...(contentType === undefined ? [] : [contentType])], { timeout: 15_000, maxBuffer: 1 << 20 });
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: string) => (out += chunk));
    child.stderr!.on('data', (chunk: string) => (err += chunk));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`publish.py exited ${code}: ${err}`))));
  });
  child.stdin!.end(body);
  const parsed = JSON.parse(await output) as { status: number; body: string };
  expect(parsed.body.endsWith('\n') && !parsed.body.trim().includes('\n'), 'one line').toBe(true);
  return { status: parsed.status, body: JSON.parse(parsed.body) as { code?: string } };
}

/** Publishes a marker directly and waits for it: every event published before it has arrived by then. */
async function settle(es: EventStream, client: SseClient, channel: string): Promise<string[]> {
  await es.publishEvent(channel, { event: 'message', data: 'marker' });
  await client.until((events) => events.some((e) => e.data === '"marker"'), 'the marker');
  return client.of('message').map((e) => e.data).filter((d) => d !== '"marker"');
}

describe.runIf(requireBinary('python3'))('HTTP publish from python3 (urllib)', () => {
  let s: Setup;
  let client: SseClient;
  beforeEach(async () => {
    s = await setup();
    client = await connectSse(`${s.streamUrl}/1`, { types: ['chat'] });
  });

  it('publishes one event and a batch, in order', async () => {
    const token = await publisherToken();
    const one = await python(s.publishUrl, token, JSON.stringify({ channel: 'room-1', event: 'message', data: { n: 1 } }));
    expect(one).toEqual({ status: 200, body: { published: 1, duplicates: 0 } });
    const batch = await python(
      s.publishUrl,
      token,
      JSON.stringify({ events: [{ channel: 'room-1', event: 'message', data: { n: 2 } }, { channel: 'room-1', event: 'message', data: { n: 3 }, id: 'n3' }] }),
    );
    expect(batch).toEqual({ status: 200, body: { published: 2, duplicates: 0 } });
    expect(await settle(s.es, client, 'room-1')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('makes a retry with ids idempotent: the second send publishes nothing', async () => {
    const token = await publisherToken();
    const body = JSON.stringify({ events: [{ channel: 'room-1', event: 'message', data: 'a', id: 'order-17' }] });
    expect((await python(s.publishUrl, token, body)).body).toEqual({ published: 1, duplicates: 0 });
    expect((await python(s.publishUrl, token, body)).body).toEqual({ published: 0, duplicates: 1 });
    expect(await settle(s.es, client, 'room-1')).toEqual(['"a"']);
  });

  it('refuses bad requests with a 4xx JSON code and publishes nothing of them', async () => {
    const good = await publisherToken(['room-1']);
    const event = { channel: 'room-1', event: 'message', data: 'never' };
    const cases: Array<[string, Promise<Awaited<ReturnType<typeof python>>>, number, string]> = [
      ['no token', python(s.publishUrl, '', JSON.stringify(event)), 401, 'ERR_TOKEN_MISSING'],
      ['expired token', python(s.publishUrl, await expiredToken(), JSON.stringify(event)), 401, 'ERR_TOKEN_EXPIRED'],
      ['forged token', python(s.publishUrl, await mintToken({ secret: 'x'.repeat(40), publish: ['*'] }), JSON.stringify(event)), 401, 'ERR_TOKEN_SIGNATURE'],
      ['subscribe-only token', python(s.publishUrl, await mintToken({ secret: SECRET, subscribe: ['*'] }), JSON.stringify(event)), 403, 'ERR_TOKEN_SCOPE'],
      ['a channel outside the token, in a batch with one inside', python(s.publishUrl, good, JSON.stringify({ events: [event, { ...event, channel: 'room-2' }] })), 403, 'ERR_TOKEN_SCOPE'],
      ['malformed JSON', python(s.publishUrl, good, '{"channel": "room-1", '), 400, 'ERR_MALFORMED_BODY'],
      ['not UTF-8', python(s.publishUrl, good, Buffer.from([0x7b, 0xff, 0x7d])), 400, 'ERR_MALFORMED_BODY'],
      ['no channel', python(s.publishUrl, good, JSON.stringify({ event: 'message' })), 400, 'ERR_MALFORMED_BODY'],
      ['a bad event name in a batch', python(s.publishUrl, good, JSON.stringify({ events: [event, { ...event, event: 'a\nb' }] })), 400, 'ERR_INVALID_EVENT'],
      ['a bad id', python(s.publishUrl, good, JSON.stringify({ ...event, id: ' x' })), 400, 'ERR_INVALID_EVENT'],
      ['a bad channel name', python(s.publishUrl, good, JSON.stringify({ ...event, channel: 'a,b' })), 400, 'ERR_INVALID_CHANNEL'],
      ['the same id twice', python(s.publishUrl, good, JSON.stringify({ events: [{ ...event, id: 'x' }, { ...event, id: 'x' }] })), 400, 'ERR_MALFORMED_BODY'],
      ['form encoded', python(s.publishUrl, good, 'channel=room-1', 'application/x-www-form-urlencoded'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
      ['2 MiB body', python(s.publishUrl, good, JSON.stringify({ ...event, data: 'x'.repeat(2 * 1024 * 1024) })), 413, 'ERR_BODY_TOO_LARGE'],
      ['3 MiB body without a token', python(s.publishUrl, '', JSON.stringify({ ...event, data: 'x'.repeat(3 * 1024 * 1024) })), 401, 'ERR_TOKEN_MISSING'],
    ];
    for (const [what, pending, status, code] of cases) {
      const answer = await pending;
      expect({ what, status: answer.status, code: answer.body.code }).toEqual({ what, status, code });
      expect(answer.body.message, what).toBeTypeOf('string');
    }
    expect(await settle(s.es, client, 'room-1')).toEqual([]);
    expect(s.es.stats().eventsPublished).toBe(1);
  });

  it('leaks no token and no other channel in a refusal', async () => {
    const token = await publisherToken(['room-1', 'secret-room']);
    const answer = await python(s.publishUrl, token, JSON.stringify({ channel: 'room-9', event: 'message' }));
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).not.toMatch(/secret-room|room-9|room-1/);
    expect(JSON.stringify(answer.body)).not.toContain(token.slice(0, 20));
  });
});

describe.runIf(requireBinary('curl'))('HTTP publish from curl', () => {
  it('publishes with curl and answers a huge upload with 413, nothing published', async () => {
    const s = await setup({ maxBodyBytes: 64 * 1024 });
    const client = await connectSse(`${s.streamUrl}/1`);
    const token = await publisherToken();
    const curl = async (body: string): Promise<{ status: number; body: { code?: string; published?: number } }> => {
      const child = execFile('curl', ['-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', s.publishUrl, '-H', `Authorization: Bearer ${token}`, '-H', 'Content-Type: application/json', '--data-binary', '@-'], { maxBuffer: 1 << 20 });
      const out = new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout!.on('data', (chunk: string) => (text += chunk));
        child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`curl exited ${code}`))));
      });
      child.stdin!.end(body);
      const lines = (await out).trimEnd().split('\n');
      return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) as { code?: string } };
    };
    expect(await curl(JSON.stringify({ channel: 'room-1', event: 'message', data: 'from curl' }))).toEqual({ status: 200, body: { published: 1, duplicates: 0 } });
    const huge = await curl(JSON.stringify({ channel: 'room-1', event: 'message', data: 'y'.repeat(1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('ERR_BODY_TOO_LARGE');
    expect(await settle(s.es, client, 'room-1')).toEqual(['"from curl"']);
  });
});

describe('HTTP publish handler', () => {
  it('serves fetch requests alike (.fetch)', async () => {
    const es = track(new EventStream());
    const handler = createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }) });
    const client = await connectSse(`${(await startHttp(es.route('news'))).url}`);
    const token = await publisherToken(['news']);
    const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
      handler.fetch(new Request('http://x/publish', { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers } }));
    const ok = await post(JSON.stringify({ channel: 'news', event: 'message', data: 1 }));
    expect([ok.status, await ok.json()]).toEqual([200, { published: 1, duplicates: 0 }]);
    const get = await handler.fetch(new Request('http://x/publish', { headers: { authorization: `Bearer ${token}` } }));
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const big = await createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }), maxBodyBytes: 10 }).fetch(
      new Request('http://x/publish', { method: 'POST', body: JSON.stringify({ channel: 'news', event: 'message' }), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }),
    );
    expect(big.status).toBe(413);
    expect(await settle(es, client, 'news')).toEqual(['1']);
  });

  it('stops reading a chunked body (no Content-Length) at the limit and answers 413', async () => {
    const s = await setup({ maxBodyBytes: 1024 });
    const token = await publisherToken();
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(s.publishUrl, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.write(`{"channel":"room-1","event":"message","data":"`);
      for (let i = 0; i < 8; i++) req.write('z'.repeat(512));
      req.end('"}');
    });
    expect(status).toBe(413);
    expect((JSON.parse(body) as { code: string }).code).toBe('ERR_BODY_TOO_LARGE');
    expect(s.es.stats().eventsPublished).toBe(0);
  });

  it('takes a body express.json() already parsed', async () => {
    const es = track(new EventStream());
    const app = express();
    app.post('/publish', express.json(), createPublishHandler(es, { verifier: new TokenVerifier({ secret: SECRET }) }));
    app.get('/events', es('news'));
    const { url } = await startApp(app);
    const client = await connectSse(`${url}/events`);
    const res = await fetch(`${url}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await publisherToken(['news'])}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ channel: 'news', event: 'message', data: 'parsed' }] }),
    });
    expect([res.status, await res.json()]).toEqual([200, { published: 1, duplicates: 0 }]);
    expect(await settle(es, client, 'news')).toEqual(['"parsed"']);
  });

  it('answers 409 while a publish with the same id is still running, and frees the id when it fails', async () => {
    let release: (() => void) | undefined;
    let fail = false;
    const slow = {
      async publishEvents(): Promise<void> {
        await new Promise<void>((resolve) => (release = resolve));
        release = undefined;
        if (fail) throw new (await import('../../src/index.js')).HistoryError('store down', undefined);
      },
    };
    const handler = createPublishHandler(slow, { verifier: new TokenVerifier({ secret: SECRET }) });
    const token = await publisherToken();
    const post = (): Promise<Response> =>
      handler.fetch(new Request('http://x/p', { method: 'POST', body: JSON.stringify({ channel: 'room-1', event: 'm', id: 'k' }), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }));
    fail = true;
    const first = post();
    await until(() => release !== undefined);
    const second = await post();
    expect([second.status, ((await second.json()) as { code: string }).code]).toEqual([409, 'ERR_PUBLISH_IN_PROGRESS']);
    release!();
    const failed = await first;
    expect([failed.status, ((await failed.json()) as { code: string }).code]).toEqual([503, 'ERR_HISTORY']);
    // The id was released: a retry publishes.
    fail = false;
    const retry = post();
    await until(() => release !== undefined);
    release!();
    expect(await (await retry).json()).toEqual({ published: 1, duplicates: 0 });
  });

  it('refuses to be built without a verifier', () => {
    const es = track(new EventStream());
    expect(() => createPublishHandler(es, {} as PublishHandlerOptions)).toThrow(/needs \{ verifier/);
  });
});

async function expiredToken(): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({ gripstream: { publish: ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
    .sign(new TextEncoder().encode(SECRET));
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
