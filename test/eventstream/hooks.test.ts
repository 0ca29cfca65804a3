import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  type ChannelsBuilder,
  type EventStreamOptions,
  type StreamRequest,
} from '../../src/index.js';
import { SseResponse as SseClient } from '../support/sse-response.js';
import { cleanups, fetchRequest, openStream, serveOnLoopback, track, type Recorded } from '../support/recorded-stream.js';
import { WAIT_MS } from '../support/waiter.js';

// Request hooks (`authorize`, `onConnect`, `onDisconnect`) and `stats()`, on both transports:
// a node:http server running the connect-style handler, and `eventStream.fetch()`.

interface Harness extends Recorded {
  /** Requests the node server received, in order (what hooks must be handed). */
  requests: IncomingMessage[];
  base: string;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * An EventStream with recorded onConnect/onDisconnect (plus `options`), served by node:http:
 * `/node/<channel>` through the connect-style handler for `spec`, with `<channel>` as `{id}`.
 */
async function harness(options: EventStreamOptions = {}, spec: string | ChannelsBuilder = '{id}'): Promise<Harness> {
  const recorded = track(options);
  const { eventStream } = recorded;
  const handler = typeof spec === 'string' ? eventStream(spec) : eventStream(spec);
  const requests: IncomingMessage[] = [];
  const server = http.createServer((req: StreamRequest, res) => {
    requests.push(req as IncomingMessage);
    req.params = { id: decodeURIComponent(new URL(req.url!, 'http://x').pathname.split('/')[2] ?? '') };
    void handler(req, res);
  });
  const base = await serveOnLoopback(server);
  return { ...recorded, requests, base };
}

describe('authorize', () => {
  it('sync false: 403 before any stream opens (node handler)', async () => {
    const calls: Array<[unknown, readonly string[]]> = [];
    const h = await harness({
      authorize: (req, channels) => {
        calls.push([req, channels]);
        return false;
      },
    });
    const res = await fetch(`${h.base}/node/secret`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('not authorized for these channels\n');
    expect(calls).toEqual([[h.requests[0], ['secret']]]);
    expect(h.connects).toEqual([]);
    expect(h.disconnects).toEqual([]);
    expect(h.eventStream.stats()).toEqual({ connections: 0, heldStreams: 0, subscribers: 0, channels: {}, eventsPublished: 0, clientsDropped: 0 });
  });

  it('async false: 403, and nothing was subscribed while it was deciding (node handler)', async () => {
    let statsWhileDeciding: unknown;
    const h = await harness({
      authorize: async () => {
        statsWhileDeciding = h.eventStream.stats();
        await new Promise((resolve) => setImmediate(resolve));
        return false;
      },
    });
    const res = await fetch(`${h.base}/node/secret`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('not authorized for these channels\n');
    expect(statsWhileDeciding).toMatchObject({ connections: 0, subscribers: 0 });
    expect(h.connects).toEqual([]);
    expect(h.eventStream.stats().connections).toBe(0);
  });

  it('sync and async false: 403 Responses from eventStream.fetch(), nothing subscribed', async () => {
    for (const authorize of [() => false, async () => false]) {
      const h = await harness({ authorize });
      const { request } = fetchRequest('http://localhost/x');
      const res = await h.eventStream.fetch(request, 'x');
      expect(res.status).toBe(403);
      expect(await res.text()).toBe('not authorized for these channels\n');
      expect(h.connects).toEqual([]);
      expect(h.eventStream.stats().connections).toBe(0);
    }
  });

  it('true (sync or async): the stream opens, and authorize saw the resolved channels and the request', async () => {
    const seen: Array<[unknown, readonly string[]]> = [];
    const h = await harness(
      {
        authorize: (req, channels) => {
          seen.push([req, channels]);
          return seen.length === 1 ? true : Promise.resolve(true);
        },
      },
      (req) => [`room-${String(req.params?.id)}`, 'news'],
    );
    const client = await openStream(`${h.base}/node/7`);
    expect(client.response.status).toBe(200);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(seen).toEqual([[h.requests[0], ['room-7', 'news']]]);

    const { request } = fetchRequest('http://localhost/x?id=8');
    const res = await h.eventStream.fetch(request, ['room-{id}']);
    expect(res.status).toBe(200);
    expect(seen[1]).toEqual([request, ['room-8']]);
    expect(h.eventStream.stats().channels).toEqual({ 'room-7': 1, news: 1, 'room-8': 1 });
  });

  it('is not asked about requests refused earlier (406, 400)', async () => {
    let asked = 0;
    const h = await harness({
      authorize: () => {
        asked++;
        return true;
      },
    });
    const notAcceptable = await fetch(`${h.base}/node/x`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(notAcceptable.status).toBe(406);
    const invalid = await fetch(`${h.base}/node/a%3Bb`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(invalid.status).toBe(400);
    expect(asked).toBe(0);
  });

  it('that throws: the node handler answers 500 and subscribes nothing', async () => {
    const h = await harness({
      authorize: async () => {
        throw new Error('auth service down');
      },
    });
    const res = await fetch(`${h.base}/node/x`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(res.status).toBe(500);
    expect(h.connects).toEqual([]);
    expect(h.eventStream.stats().connections).toBe(0);
  });
});

describe('onConnect / onDisconnect', () => {
  it('node handler: once each, with { req, channels, proxied: false }', async () => {
    const h = await harness({}, (req) => [`room-${String(req.params?.id)}`, 'news', 'news']);
    const client = await openStream(`${h.base}/node/1`);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(h.connects).toEqual([{ req: h.requests[0], channels: ['room-1', 'news'], proxied: false }]);
    expect(h.connects[0]!.req).toBe(h.requests[0]);
    expect(h.disconnects).toEqual([]);

    client.close();
    await h.hooks.until(() => h.disconnects.length === 1, 'onDisconnect');
    expect(h.disconnects[0]).toEqual({ req: h.requests[0], channels: ['room-1', 'news'], proxied: false });
    expect(h.disconnects[0]!.req).toBe(h.requests[0]);
    // Nothing more arrives later (a second 'close', a keep-alive round, shutdown).
    await h.eventStream.close();
    expect(h.connects).toHaveLength(1);
    expect(h.disconnects).toHaveLength(1);
  });

  it('eventStream.fetch(): once each, with { req: the Request, channels, proxied: false }', async () => {
    const h = await harness();
    const { request, controller } = fetchRequest('http://localhost/x');
    await h.eventStream.fetch(request, ['a', 'b']);
    expect(h.connects).toEqual([{ req: request, channels: ['a', 'b'], proxied: false }]);
    expect(h.connects[0]!.req).toBe(request);
    expect(h.disconnects).toEqual([]);

    controller.abort();
    await h.hooks.until(() => h.disconnects.length === 1, 'onDisconnect');
    expect(h.disconnects[0]).toEqual({ req: request, channels: ['a', 'b'], proxied: false });
    await h.eventStream.close();
    expect(h.connects).toHaveLength(1);
    expect(h.disconnects).toHaveLength(1);
  });

  // Regression guard: onDisconnect must fire whichever path removes the subscriber first
  // (the client's close, EventStream.close(), or the slow-client drop), exactly once.
  it('node handler: onDisconnect also fires when eventStream.close() ends the stream', async () => {
    const h = await harness();
    const client = await openStream(`${h.base}/node/x`);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    await h.eventStream.close();
    await h.hooks.until(() => h.disconnects.length === 1, 'onDisconnect after close()', 1000);
  });

  it('onDisconnect also fires for a client dropped for not reading', async () => {
    const h = await harness({ maxBufferedBytes: 64 * 1024 });
    const slow = await slowClient(h.base, '/node/x');
    await h.hooks.until(() => h.connects.length === 1, 'the slow client to subscribe');
    await floodUntilDropped(h.eventStream, 'x');
    slow.destroy();
    await h.hooks.until(() => h.disconnects.length === 1, 'onDisconnect of the dropped client', 1000);
  });
});

/** A raw client that sends its request and then never reads. */
async function slowClient(base: string, path: string): Promise<net.Socket> {
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  cleanups.push(() => socket.destroy());
  socket.on('error', () => {});
  socket.pause();
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  return socket;
}

/** Publishes 16 KiB events until a client is dropped; bounded. Returns how many were published. */
async function floodUntilDropped(eventStream: EventStream, channel: string, maxEvents = 4000): Promise<number> {
  const payload = 'x'.repeat(16 * 1024);
  const before = eventStream.stats().clientsDropped;
  let sent = 0;
  while (eventStream.stats().clientsDropped === before && sent < maxEvents) {
    await eventStream.publishEvent(channel, { event: 'big', data: payload });
    sent++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(eventStream.stats().clientsDropped).toBe(before + 1);
  return sent;
}

describe('stats()', () => {
  it('counts connections, per-channel subscribers, events and dropped clients through a scenario', async () => {
    const h = await harness({ maxBufferedBytes: 64 * 1024 }, (req) =>
      String(req.params?.id).split('+'),
    );
    const { eventStream } = h;
    expect(eventStream.stats()).toEqual({ connections: 0, heldStreams: 0, subscribers: 0, channels: {}, eventsPublished: 0, clientsDropped: 0 });

    // A (node) listens to a and b; B (fetch) to b.
    const a = await openStream(`${h.base}/node/a+b`);
    await a.next((e) => e.event === 'stream-open', 'A open');
    const b = fetchRequest('http://localhost/x');
    const bBody = new SseClient(await eventStream.fetch(b.request, 'b'), b.controller);
    await bBody.next((e) => e.event === 'stream-open', 'B open');
    expect(eventStream.stats()).toEqual({ connections: 2, heldStreams: 0, subscribers: 3, channels: { a: 1, b: 2 }, eventsPublished: 0, clientsDropped: 0 });

    // Every accepted event counts, whether or not anyone listens.
    await eventStream.publishEvent('a', { event: 'one', data: 1 });
    await eventStream.publishEvents('b', [
      { event: 'two', data: 2 },
      { event: 'three', data: 3 },
    ]);
    await eventStream.publishEvent('nobody', { event: 'four', data: 4 });
    await eventStream.getChannelPublisher('b').publishEvent({ event: 'five', data: 5 });
    await expect(eventStream.publishEvent('a', { event: 'bad\nname', data: 0 })).rejects.toThrow();
    await a.next((e) => e.event === 'five', 'A gets five');
    await bBody.next((e) => e.event === 'five', 'B gets five');
    expect(a.events.map((e) => e.event)).toEqual(['stream-open', 'one', 'two', 'three', 'five']);
    expect(bBody.events.map((e) => e.event)).toEqual(['stream-open', 'two', 'three', 'five']);
    expect(eventStream.stats()).toMatchObject({ connections: 2, subscribers: 3, eventsPublished: 5, clientsDropped: 0 });

    // C stops reading on c: dropped, and only C.
    await slowClient(h.base, '/node/c');
    await h.hooks.until(() => h.connects.length === 3, 'C to subscribe');
    expect(eventStream.stats()).toMatchObject({ connections: 3, subscribers: 4, channels: { a: 1, b: 2, c: 1 } });
    const flood = await floodUntilDropped(eventStream, 'c');
    expect(eventStream.stats()).toEqual({
      connections: 2,
      heldStreams: 0,
      subscribers: 3,
      channels: { a: 1, b: 2 },
      eventsPublished: 5 + flood,
      clientsDropped: 1,
    });

    // A leaves: its two subscriptions go; channel a disappears.
    a.close();
    await h.hooks.until(() => h.disconnects.some((d) => d.req === h.requests[0]), 'A to leave');
    expect(eventStream.stats()).toEqual({
      connections: 1,
      heldStreams: 0,
      subscribers: 1,
      channels: { b: 1 },
      eventsPublished: 5 + flood,
      clientsDropped: 1,
    });

    b.controller.abort();
    await h.hooks.until(() => h.disconnects.some((d) => d.req === b.request), 'B to leave');
    expect(eventStream.stats()).toEqual({
      connections: 0,
      heldStreams: 0,
      subscribers: 0,
      channels: {},
      eventsPublished: 5 + flood,
      clientsDropped: 1,
    });
  });
});
