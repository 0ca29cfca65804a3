/**
 * Issue 16, request side and GRIP: each numbered item as found by hostile testing, over real
 * servers and raw sockets. Item numbers are the issue's.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http, { type RequestListener } from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { Auth } from '@fanoutio/grip';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  HISTORY_TRUNCATED_EVENT,
  InvalidConfigError,
  InvalidEventError,
  type EventStreamOptions,
} from '../src/index.js';
import { MAX_EVENT_ID_LENGTH } from '../src/sse/eventId.js';
import { requireRedis, startRedis } from './support/redis.js';
import { dechunk, listen, rawGet, rawRequest, SseClient, until, within, type TestServer } from './support/resume-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(options?: EventStreamOptions): EventStream {
  const es = new EventStream(options);
  cleanups.push(() => es.close());
  return es;
}

async function serve(handler: RequestListener): Promise<TestServer> {
  const srv = await listen(handler);
  cleanups.push(() => srv.close());
  return srv;
}

/** A stand-in GRIP proxy's publish endpoint: accepts every publish. */
async function acceptingProxy(): Promise<string> {
  const srv = await serve((req, res) => {
    req.resume();
    req.on('end', () => res.end('Published\n'));
  });
  return srv.url;
}

const KEY = 'trust-key';
const ISS = 'pushpin';

async function gripSig(key = KEY): Promise<string> {
  const header = await new Auth.Jwt({ iss: ISS }, new TextEncoder().encode(key)).buildHeader();
  return header.replace(/^Bearer /, '');
}

/** A one-shot request on its own connection; resolves with the whole (dechunked) answer. */
async function oneShot(port: number, path: string, headers: Record<string, string | Buffer> = {}, method = 'GET') {
  const request = Buffer.from(rawGet(path, { Connection: 'close', ...headers }).toString('latin1').replace(/^GET /, `${method} `), 'latin1');
  const reply = await rawRequest(port, request, { ms: 5000 });
  const body = /transfer-encoding: chunked/i.test(reply.head) ? dechunk(Buffer.from(reply.body, 'utf8')).toString('utf8') : reply.body;
  return { ...reply, body };
}

function header(head: string, name: string): string | undefined {
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

describe('item 1: a recovery request replays only the route\'s channels, after authorize', () => {
  it('gripReliable without a key to verify Grip-Sig is refused at construction', async () => {
    const proxy = await acceptingProxy();
    expect(() => new EventStream({ grip: proxy, gripReliable: true })).toThrow(InvalidConfigError);
    expect(() => new EventStream({ grip: proxy, gripReliable: true })).toThrow(/key to verify Grip-Sig/);
    // With a key it is accepted.
    track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
  });

  it('Grip-Last naming a channel that is not on the route replays nothing of it', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
    await es.publishEvent('secret', { event: 'm', data: 'classified', id: 's1' });
    await es.publishEvent('public', { event: 'm', data: 'hello', id: 'p1' });
    await es.publishEvent('public', { event: 'm', data: 'again', id: 'p2' });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', {
      'Grip-Sig': await gripSig(),
      'Grip-Last': 'events-secret; last-id=0, events-public; last-id=p1',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).not.toContain('classified');
    expect(reply.body).toBe('id: p2\nevent: m\ndata: "again"\n\n');
  });

  it('authorize still decides for a signed recovery request', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true, authorize: () => false });
    await es.publishEvent('public', { event: 'm', data: 'x' });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig(), 'Grip-Last': 'events-public; last-id=-' });
    expect(reply.status).toBe(403);
  });

  it('a Grip-Sig signed with another key is refused, Grip-Last or not', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig('other'), 'Grip-Last': 'events-public; last-id=-' });
    expect(reply.status).toBe(403);
  });
});

describe('item 2: pipelined requests behind a stream', () => {
  it('100 pipelined stream requests on one socket: one stream, and 0 connections once the socket is gone', async () => {
    const es = track({ keepAliveInterval: 60_000 });
    let decided = 0;
    const handler = es('p');
    const srv = await serve((req, res) => {
      res.on('finish', () => decided++);
      void handler(req, res).then(() => decided++);
    });
    const socket = net.connect(srv.port, '127.0.0.1');
    await once(socket, 'connect');
    let head = '';
    socket.on('data', (chunk: Buffer) => (head += chunk.toString('latin1')));
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    socket.write(request.repeat(100));
    // Every request has been handled (the first one streams; 99 were answered or subscribed).
    await until(() => decided >= 100, 5000, () => `handled ${decided} of 100`);
    await until(() => head.includes('stream-open'), 5000, 'first stream open');
    expect(es.stats().connections).toBe(1);
    socket.destroy();
    await until(() => es.stats().connections === 0, 3000, () => JSON.stringify(es.stats()));
    expect(es.stats().subscribers).toBe(0);
  });

  it('a pipelined request behind a stream gets its refusal once the stream ends (close())', async () => {
    const es = track({ keepAliveInterval: 60_000 });
    const handler = es('p');
    const srv = await serve((req, res) => void handler(req, res));
    const request = 'GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    const reply = rawRequest(srv.port, request + request, { ms: 5000, until: (t) => /\r\n\r\n[^]*HTTP\/1\.1 400[^]*\r\n\r\n.*pipelined/.test(t) });
    await until(() => es.stats().connections === 1, 3000, 'stream open');
    await es.close();
    const text = (await reply).head + (await reply).body;
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/HTTP\/1\.1 400/);
    expect(text).toMatch(/pipelined/);
  });
});

describe('item 6: one id rule for publish and Last-Event-ID', () => {
  it.each([
    ['a TAB', 'a\tb'],
    ['an ESC', '\u001b[2J'],
    ['a DEL', 'a\u007fb'],
    ['a leading space', ' a'],
    ['a trailing tab', 'a\t'],
    ['a lone surrogate', 'a\ud800b'],
    [`${MAX_EVENT_ID_LENGTH + 1} characters`, 'x'.repeat(MAX_EVENT_ID_LENGTH + 1)],
    ['the empty id (it would reset the browser\'s last id)', ''],
  ])('publishEvent refuses an id with %s (InvalidEventError), and delivers nothing', async (_what, id) => {
    const es = track();
    await expect(es.publishEvent('a', { event: 'm', data: 1, id })).rejects.toBeInstanceOf(InvalidEventError);
    expect(es.stats().eventsPublished).toBe(0);
  });

  it.each([
    ['the longest id', 'L'.repeat(MAX_EVENT_ID_LENGTH)],
    ['UTF-8 text', 'café-日本-😀'],
    ['inner spaces', 'a b c'],
  ])('an id that publish accepts comes back exactly as Last-Event-ID: %s', async (_what, id) => {
    const es = track();
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    await es.publishEvent('a', { event: 'm', data: 1, id });
    await es.publishEvent('a', { event: 'm', data: 2 });
    // As a browser sends it: the id's UTF-8 bytes.
    const reply = await rawRequest(srv.port, rawGet('/', { 'Last-Event-ID': Buffer.from(id, 'utf8') }), {
      ms: 5000,
      until: (text) => text.includes('data: 2\n'),
    });
    expect(reply.status).toBe(200);
    const body = dechunk(Buffer.from(reply.body, 'utf8')).toString('utf8');
    expect(body).not.toContain(HISTORY_TRUNCATED_EVENT);
    expect(body).toContain('event: m\ndata: 2\n');
    expect(body).not.toContain('data: 1\n');
  });
});

describe('item 7: Grip-Last last-id=- is the channel\'s start', () => {
  const stores: Array<[string, () => Promise<EventStreamOptions['history']>]> = [
    ['memory', async () => ({ maxEvents: 2 })],
  ];
  if (requireRedis()) {
    stores.push([
      'redis',
      async () => {
        const redis = await startRedis();
        cleanups.push(() => redis.stop());
        return { redis: redis.url, keyPrefix: `t-${randomUUID()}:`, maxEvents: 2 };
      },
    ]);
  }

  it.each(stores)('%s: replays the channel from its start, complete; truncated only once events were evicted', async (_name, history) => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true, history: await history() });
    const srv = await serve((req, res) => void es.run(req, res, ['q', 'quiet']));
    const recover = async (): Promise<string> =>
      (await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig(), 'Grip-Last': 'events-q; last-id=-, events-quiet; last-id=-' })).body;

    await es.publishEvent('q', { event: 'm', data: 1 });
    await es.publishEvent('q', { event: 'm', data: 2 });
    const complete = await recover();
    expect(complete).not.toContain(HISTORY_TRUNCATED_EVENT);
    expect(complete).not.toContain('stream-open');
    expect(complete.match(/data: \d/g)).toEqual(['data: 1', 'data: 2']);

    await es.publishEvent('q', { event: 'm', data: 3 }); // maxEvents 2: event 1 is evicted
    const evicted = await recover();
    expect(evicted).toContain(HISTORY_TRUNCATED_EVENT);
    expect(evicted.match(/data: \d/g)).toEqual(['data: 2', 'data: 3']);
  });
});

describe('item 8: close() while a request is being decided', () => {
  it('a request whose async authorize resolves after close() gets 503, and server.close() completes', async () => {
    let release!: (ok: boolean) => void;
    let asked!: () => void;
    const authorizing = new Promise<void>((resolve) => (asked = resolve));
    const es = track({ authorize: () => new Promise<boolean>((resolve) => ((release = resolve), asked())) });
    const server = http.createServer((req, res) => void es.run(req, res, 'a'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const reply = oneShot(port, '/');
    await within(authorizing, 3000, 'authorize called');
    await es.close();
    release(true);
    const { status, body } = await reply;
    expect(status).toBe(503);
    expect(body).toMatch(/closed/);
    expect(es.stats().connections).toBe(0);
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 3000, 'server.close()');
  });
});

describe('item 12: smaller defects', () => {
  it.each([
    ['café', 'caf%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
  ])('a GRIP hold on the channel %s names it in UTF-8', async (name, param) => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}` });
    const app = express();
    app.get('/e/:ch', es('{ch}'));
    const srv = await serve(app);
    const reply = await rawRequest(srv.port, rawGet(`/e/${param}`, { Connection: 'close', 'Grip-Sig': await gripSig() }), { ms: 5000 });
    expect(reply.status).toBe(200);
    // rawRequest reads the head as latin1: one character per byte.
    expect(header(reply.head, 'Grip-Channel')).toBe(Buffer.from(`events-${name}`, 'utf8').toString('latin1'));
  });

  it.each([
    ['DEL', '%7F'],
    ['LF', '%0A'],
    ['TAB', '%09'],
    ['CR', '%0D'],
    ['a space', '%20'],
  ])('a parameter of only %s is refused with 400, never trimmed into another channel', async (_what, param) => {
    const es = track();
    await es.publishEvent('news', { event: 'm', data: 1 });
    const app = express();
    app.get('/t/:suffix', es('news{suffix}'));
    app.get('/g/:ch', es('{ch}'));
    const srv = await serve(app);
    for (const path of [`/t/${param}`, `/g/news${param}`]) {
      const reply = await oneShot(srv.port, path);
      expect(reply.status, path).toBe(400);
      expect(reply.body).toMatch(/^[^\n]+\n$/);
    }
    expect(es.stats().connections).toBe(0);
  });

  it('HEAD on a stream route gets the stream headers and ends; it is no connection', async () => {
    const es = track();
    const app = express();
    app.get('/e', es('a'));
    const srv = await serve(app);
    const reply = await oneShot(srv.port, '/e', {}, 'HEAD');
    expect(reply.status).toBe(200);
    expect(reply.closedByServer).toBe(true);
    expect(header(reply.head, 'Content-Type')).toBe('text/event-stream');
    expect(reply.body).toBe('');
    expect(es.stats().connections).toBe(0);
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s gets 405 with Allow: GET, HEAD', async (method) => {
    const es = track();
    const app = express();
    app.all('/e', es('a'));
    const srv = await serve(app);
    const reply = await oneShot(srv.port, '/e', { 'Content-Length': '0' }, method);
    expect(reply.status).toBe(405);
    expect(header(reply.head, 'Allow')).toBe('GET, HEAD');
    expect(reply.body).toMatch(/^[^\n]+\n$/);
    expect(es.stats().connections).toBe(0);
  });

  it('through es.fetch too: HEAD gets the headers and no stream, POST gets 405 with Allow', async () => {
    const es = track();
    const head = await es.fetch(new Request('http://x/', { method: 'HEAD' }), 'a');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/event-stream');
    expect(head.body).toBeNull();
    const post = await es.fetch(new Request('http://x/', { method: 'POST', body: 'x' }), 'a');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(es.stats().connections).toBe(0);
  });

  it('a channel name that is not well-formed Unicode is refused (it cannot travel as UTF-8)', async () => {
    const es = track();
    await expect(es.publishEvent('a\ud800', { event: 'm' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHANNEL' });
    await expect(es.publishEvent('a\u007f', { event: 'm' })).rejects.toMatchObject({ code: 'ERR_INVALID_CHANNEL' });
  });

  it('an async channel builder is awaited (node and fetch); its rejection is the route\'s error, not a 400', async () => {
    const es = track();
    const app = express();
    app.get('/rooms', es(async () => ['room-1', 'room-2']));
    app.get('/broken', es(async () => Promise.reject(new Error('rooms lookup failed'))));
    const srv = await serve(app);
    const client = await SseClient.open(`${srv.url}/rooms`);
    await client.waitForOpen();
    expect(es.stats().channels).toEqual({ 'room-1': 1, 'room-2': 1 });
    await client.close();
    expect((await oneShot(srv.port, '/broken')).status).toBe(500);

    const response = await es.fetch(new Request('http://x/', { headers: { accept: 'text/event-stream' } }), async () => 'room-3');
    expect(response.status).toBe(200);
    expect(es.stats().channels['room-3']).toBe(1);
    await response.body!.cancel();
  });

  it.each([
    ['gripReliabe', 'gripReliable'],
    ['keepAliveIntervall', 'keepAliveInterval'],
    ['maxBufferBytes', 'maxBufferedBytes'],
    ['authorise', 'authorize'],
  ])('an unknown option %s is refused with InvalidConfigError naming %s', (typo, meant) => {
    const attempt = (): unknown => new EventStream({ [typo]: true } as EventStreamOptions);
    expect(attempt).toThrow(InvalidConfigError);
    expect(attempt).toThrow(`"${meant}"`);
  });

  it('an unknown history option and wrongly typed options are refused too', () => {
    expect(() => new EventStream({ history: { maxEvent: 10 } } as EventStreamOptions)).toThrow(/"maxEvents"/);
    expect(() => new EventStream({ gripReliable: 'yes' } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream({ authorize: true } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream({ gripPrefix: 7 } as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
    expect(() => new EventStream('http://grip' as unknown as EventStreamOptions)).toThrow(InvalidConfigError);
  });

  it('npm start on a busy port prints a one-line reason and exits non-zero', async () => {
    const busy = net.createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    cleanups.push(() => new Promise((resolve) => busy.close(resolve)));
    const { port } = busy.address() as net.AddressInfo;
    // tsx's shared transform cache (/tmp/tsx-*) can hand another checkout's compiled copy of the
    // same path; this test must run this checkout's script.
    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'examples/express/server.ts'], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', TSX_DISABLE_CACHE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await within(once(child, 'exit'), 20_000, 'example exits')) as [number | null];
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(new RegExp(`^cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use`));
    expect(stderr).not.toMatch(/TypeError/);
  }, 30_000);
});

describe('item 13: Last-Event-ID with history: false', () => {
  it('is answered with history-truncated: nothing missed can be vouched for', async () => {
    const es = track({ history: false });
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    const client = await SseClient.open(srv.url, { headers: { 'last-event-id': '42' } });
    await client.waitFor((c) => c.events.length >= 2, 3000, 'truncation notice');
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT]);
    expect(client.events[1]!.data).toBe('{"lastEventId":"42"}');
    await client.close();
  });

  it('a stream without Last-Event-ID gets no notice, and events carry no id', async () => {
    const es = track({ history: false });
    const srv = await serve((req, res) => void es.run(req, res, 'a'));
    const client = await SseClient.open(srv.url);
    await client.waitForOpen();
    await es.publishEvent('a', { event: 'm', data: 1 });
    await client.waitForData(1);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'm']);
    expect(client.events[1]!.id).toBeUndefined();
    await client.close();
  });
});
