import { once } from 'node:events';
import http, { type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Auth } from '@fanoutio/grip';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, GripstreamError } from '../../src/index.js';

// Direct requests to an origin that has GRIP configured: no proxy is needed to check
// how Grip-Sig is judged and what hold instructions look like.

const servers: http.Server[] = [];
const streams: EventStream[] = [];

afterEach(async () => {
  await Promise.all(streams.splice(0).map((es) => es.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function listen(handler: RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function track(es: EventStream): EventStream {
  streams.push(es);
  return es;
}

async function signedToken(key: string, iss: string): Promise<string> {
  const header = await new Auth.Jwt({ iss }, new TextEncoder().encode(key)).buildHeader();
  return header.replace(/^Bearer /, '');
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  ended: boolean;
}

/** GET that reads until the response ends or `untilText` shows up (then aborts). */
function get(url: string, headers: Record<string, string>, untilText = '\n\n'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      const timer = setTimeout(() => reject(new Error(`no complete reply from ${url}: ${body}`)), 5000);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (res.statusCode === 200 && body.includes(untilText) && !res.complete) {
          // Give 'end' a chance in the same read; otherwise it is an open stream.
          setImmediate(() => {
            clearTimeout(timer);
            resolve({ status: res.statusCode!, headers: res.headers, body, ended: res.complete });
            req.destroy();
          });
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, body, ended: true });
      });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
  });
}

// `key` with `control_iss` also verifies Grip-Sig (grip 4.3); the issuer is checked only
// when `verify_iss` is given, as in @fanoutio/grip.
const GRIP_CONFIG = { control_uri: 'http://127.0.0.1:9/', control_iss: 'pushpin', key: 's3cret', verify_iss: 'pushpin' };

describe('GRIP request side', () => {
  it('answers a validly signed request with hold instructions and ends it', async () => {
    const es = track(new EventStream({ grip: GRIP_CONFIG }));
    const url = await listen((req, res) => void es.run(req, res, ['a', 'b']));
    const reply = await get(url, { 'Grip-Sig': await signedToken('s3cret', 'pushpin') });
    expect(reply.status).toBe(200);
    expect(reply.ended).toBe(true);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['grip-hold']).toBe('stream');
    expect(reply.headers['grip-channel']).toBe('events-a, events-b');
    expect(reply.headers['grip-keep-alive']).toBe(': keep-alive\\n\\n; format=cstring; timeout=20');
    expect(reply.body).toBe('event: stream-open\ndata: \n\n');
    expect(es.stats().connections).toBe(0);
  });

  it('uses gripPrefix and the keep-alive interval', async () => {
    const es = track(new EventStream({ grip: GRIP_CONFIG, gripPrefix: 'app.', keepAliveInterval: 7000 }));
    const url = await listen((req, res) => void es.run(req, res, 'x'));
    const reply = await get(url, { 'Grip-Sig': await signedToken('s3cret', 'pushpin') });
    expect(reply.headers['grip-channel']).toBe('app.x');
    expect(reply.headers['grip-keep-alive']).toMatch(/timeout=7$/);
  });

  it.each([
    ['garbage', async () => 'forged.garbage'],
    ['a JWT signed with another key', () => signedToken('wrong', 'pushpin')],
    ['a JWT from another issuer', () => signedToken('s3cret', 'someone-else')],
  ])('refuses %s with 403 and a reason', async (_what, token) => {
    const es = track(new EventStream({ grip: GRIP_CONFIG }));
    const url = await listen((req, res) => void es.run(req, res, 'a'));
    const reply = await get(url, { 'Grip-Sig': await token() });
    expect(reply.status).toBe(403);
    expect(reply.headers['grip-hold']).toBeUndefined();
    expect(reply.body).toMatch(/^Grip-Sig is not valid[^\n]*\n$/);
  });

  it('streams directly when there is no Grip-Sig', async () => {
    const es = track(new EventStream({ grip: GRIP_CONFIG }));
    const url = await listen((req, res) => void es.run(req, res, 'a'));
    const reply = await get(url, {});
    expect(reply.status).toBe(200);
    expect(reply.ended).toBe(false);
    expect(reply.headers['grip-hold']).toBeUndefined();
    expect(reply.body).toBe('event: stream-open\ndata: \n\n');
  });

  it('treats any Grip-Sig as proxied when no key is configured (GRIP URL without key)', async () => {
    const es = track(new EventStream({ grip: 'http://127.0.0.1:9/' }));
    const url = await listen((req, res) => void es.run(req, res, 'a'));
    const reply = await get(url, { 'Grip-Sig': 'anything' });
    expect(reply.headers['grip-hold']).toBe('stream');
  });

  it('replays history after a Last-Event-ID inside the hold body', async () => {
    const proxy = await listen((_req, res) => res.end('Published\n'));
    const es = track(new EventStream({ grip: proxy }));
    const url = await listen((req, res) => void es.run(req, res, 'a'));
    await es.publishEvent('a', { event: 'm', data: 1, id: 'one' });
    await es.publishEvent('a', { event: 'm', data: 2, id: 'two' });
    const reply = await get(url, { 'Grip-Sig': 'x', 'Last-Event-ID': 'one' });
    expect(reply.body).toBe('event: stream-open\ndata: \n\nid: two\nevent: m\ndata: 2\n\n');
  });
});

describe('GRIP publish side', () => {
  it('rejects with a typed error when the proxy is down, after local delivery', async () => {
    const es = track(new EventStream({ grip: 'http://127.0.0.1:9/' }));
    const url = await listen((req, res) => void es.run(req, res, 'a'));
    const local = get(url, {}, 'data: 42');
    await waitFor(() => es.stats().connections === 1);
    const failure = await es.publishEvent('a', { event: 'm', data: 42 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(GripPublishError);
    expect(failure).toBeInstanceOf(GripstreamError);
    expect((failure as GripPublishError).code).toBe('ERR_GRIP_PUBLISH');
    expect((await local).body).toContain('event: m\ndata: 42\n\n');
  });

  it('carries the proxy status and body when it refuses', async () => {
    const proxy = await listen((_req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end('Invalid format\n');
    });
    const es = track(new EventStream({ grip: proxy }));
    const failure = (await es.publishEvent('a', { event: 'm', data: 1 }).catch((err: unknown) => err)) as GripPublishError;
    expect(failure.statusCode).toBe(400);
    expect(failure.message).toContain('Invalid format');
    expect(failure.cause).toEqual({ statusCode: 400, body: 'Invalid format\n' });
  });

  it('sends a batch as one request with the items in order, ids included', async () => {
    const bodies: unknown[] = [];
    const proxy = await listen((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.end('Published\n');
      });
    });
    const es = track(new EventStream({ grip: proxy, history: false }));
    await es.publishEvents('c', [
      { event: 'm', data: 1, id: 'a1' },
      { event: 'm', data: 2 },
      { event: 'n', data: { x: 'y' } },
    ]);
    expect(bodies).toEqual([
      {
        items: [
          { channel: 'events-c', id: 'a1', formats: { 'http-stream': { content: 'id: a1\nevent: m\ndata: 1\n\n' } } },
          { channel: 'events-c', formats: { 'http-stream': { content: 'event: m\ndata: 2\n\n' } } },
          { channel: 'events-c', formats: { 'http-stream': { content: 'event: n\ndata: {"x":"y"}\n\n' } } },
        ],
      },
    ]);
  });

  it('refuses a grip config it cannot parse at construction', () => {
    expect(() => new EventStream({ grip: 'not a url' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
