import { once } from 'node:events';
import net from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../examples/hono/app.js';
import type { EventStreamOptions } from '../../src/index.js';
import { startExampleProcess } from '../support/example-process.js';
import { cleanups, track, type Recorded } from '../support/recorded-stream.js';
import { WAIT_MS, Waiter } from '../support/waiter.js';

// `eventStream.fetch()` served by Hono (examples/hono) on @hono/node-server to real clients,
// and the example started as a process. (Plain Requests: test/transport/fetch.test.ts.)

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

/** The Hono example on @hono/node-server, on an ephemeral loopback port. */
async function startHono(options: EventStreamOptions = {}): Promise<Recorded & { base: string; server: ServerType }> {
  const recorded = track(options);
  let server!: ServerType;
  const listening = new Promise<number>((resolve) => {
    server = serve({ fetch: createApp(recorded.eventStream).fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(info.port),
    );
  });
  cleanups.push(async () => {
    if ('closeAllConnections' in server) server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });
  const port = await listening;
  return { ...recorded, base: `http://127.0.0.1:${port}`, server };
}

interface Received {
  type: string;
  data: string;
  lastEventId: string;
}

/** An `eventsource` client recording the named events it is told to listen for. */
function listen(url: string, types: string[]) {
  const source = new EventSource(url);
  cleanups.push(() => source.close());
  const received: Received[] = [];
  const waiter = new Waiter();
  for (const type of types) {
    source.addEventListener(type, (e) => {
      received.push({ type, data: e.data, lastEventId: e.lastEventId });
      waiter.notify();
    });
  }
  const next = (match: (e: Received) => boolean, label: string, timeoutMs?: number) =>
    waiter.until(() => received.find(match), label, timeoutMs);
  return { source, received, next };
}

async function publish(base: string, channel: string, body: unknown): Promise<number> {
  const res = await fetch(`${base}/publish/${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('eventStream.fetch() through Hono (examples/hono)', () => {
  it('delivers events to an EventSource client on the channel named by the route param', async () => {
    const { base, eventStream, connects } = await startHono();
    const client = listen(`${base}/events/h1`, ['stream-open', 'message', 'custom']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ h1: 1 });
    expect(connects[0]).toMatchObject({ channels: ['h1'], proxied: false });
    // The example serves the route with eventStream.hono(): hooks receive Hono's context.
    expect((connects[0]!.req as { req: { raw: unknown } }).req.raw).toBeInstanceOf(Request);

    expect(await publish(base, 'h2', { event: 'message', data: 'not for h1' })).toBe(202);
    expect(await publish(base, 'h1', { event: 'message', data: { hello: 'hono' } })).toBe(202);
    expect(await publish(base, 'h1', { event: 'custom', data: [1, 2] })).toBe(202);
    const custom = await client.next((e) => e.type === 'custom', 'custom event');
    expect(custom.data).toBe('[1,2]');
    expect(client.received.map((e) => [e.type, e.data])).toEqual([
      ['stream-open', ''],
      ['message', '{"hello":"hono"}'],
      ['custom', '[1,2]'],
    ]);
    expect(client.received[1]!.lastEventId).toMatch(/^\d+$/);
  });

  it('answers 406 through Hono as a plain Response', async () => {
    const { base, eventStream } = await startHono();
    const res = await fetch(`${base}/events/h1`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(res.status).toBe(406);
    expect(await res.text()).toBe('this endpoint only serves text/event-stream\n');
    expect(eventStream.stats().connections).toBe(0);
  });

  it('brings stats().connections back to 0 when the client closes, quietly', async () => {
    const logged = [vi.spyOn(console, 'error').mockImplementation(() => {}), vi.spyOn(console, 'info').mockImplementation(() => {})];
    const { base, eventStream, disconnects, hooks } = await startHono();
    const client = listen(`${base}/events/bye`, ['stream-open']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(eventStream.stats().connections).toBe(1);

    client.source.close();
    await hooks.until(() => disconnects.length === 1, 'onDisconnect');
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
    // An ordinary disconnect is not an error: @hono/node-server logs a stream that errors.
    for (const spy of logged) expect(spy).not.toHaveBeenCalled();
  });

  it('replays what was missed, exactly once, when EventSource reconnects with Last-Event-ID', async () => {
    const { base, eventStream, server, connects, disconnects, hooks } = await startHono({ retry: 50 });
    const client = listen(`${base}/events/resume`, ['stream-open', 'message']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    await eventStream.publishEvent('resume', { event: 'message', data: 1 });
    await client.next((e) => e.data === '1', 'event 1');

    // Cut the connection under the client; it comes back by itself after `retry`.
    if ('closeAllConnections' in server) server.closeAllConnections();
    await hooks.until(() => disconnects.length === 1, 'the server to see the disconnect');
    await eventStream.publishEvent('resume', { event: 'message', data: 2 });
    await hooks.until(() => connects.length === 2, 'the reconnect');
    await eventStream.publishEvent('resume', { event: 'message', data: 3 });
    await client.next((e) => e.data === '3', 'event 3');

    expect(client.received.filter((e) => e.type === 'message').map((e) => e.data)).toEqual(['1', '2', '3']);
    expect(client.received.filter((e) => e.type === 'stream-open')).toHaveLength(2);
  });

  it('drops a client that stops reading once its ReadableStream passes maxBufferedBytes; others keep streaming', async () => {
    // @hono/node-server reports the errored body of a dropped client; keep the output clean.
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const maxBufferedBytes = 64 * 1024;
    const { eventStream, base, hooks, connects } = await startHono({ maxBufferedBytes });
    const fast = listen(`${base}/events/flood`, ['stream-open', 'big']);
    await fast.next((e) => e.type === 'stream-open', 'fast stream-open');

    // A raw client that sends its request and then never reads.
    const { port } = new URL(base);
    const slow = net.connect(Number(port), '127.0.0.1');
    cleanups.push(() => slow.destroy());
    slow.pause();
    await once(slow, 'connect');
    slow.write(`GET /events/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    await hooks.until(() => connects.length === 2, 'the slow client to subscribe');

    const payload = 'x'.repeat(16 * 1024);
    const maxEvents = 4000; // 64 MiB: far past socket buffers plus the bound
    let sent = 0;
    while (eventStream.stats().clientsDropped === 0 && sent < maxEvents) {
      await eventStream.publishEvent('flood', { event: 'big', data: `${sent}:${payload}` });
      sent++;
      // Let sockets drain and the fast client read.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(eventStream.stats().clientsDropped).toBe(1);
    expect(sent).toBeLessThan(maxEvents);
    expect(eventStream.stats()).toMatchObject({ connections: 1, channels: { flood: 1 } });

    // The fast client is still there and gets everything, including what comes next.
    await eventStream.publishEvent('flood', { event: 'big', data: 'last' });
    await fast.next((e) => e.data === '"last"', 'the event after the drop', 15_000);
    expect(fast.received.filter((e) => e.type === 'big')).toHaveLength(sent + 1);

    // The server closed the slow client's connection (not just forgot it).
    const closed = once(slow, 'close');
    slow.on('error', () => {});
    slow.resume();
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('slow socket was not closed')), WAIT_MS)),
    ]);
  });
});

describe('examples/hono/server.ts as a process', () => {
  it('starts with PORT, streams and publishes, and exits cleanly on SIGTERM', async () => {
    const { base, terminate } = await startExampleProcess('examples/hono/server.ts');
    const client = listen(`${base}/events/proc`, ['stream-open', 'hello']);
    await client.next((e) => e.type === 'stream-open', 'stream-open');
    expect(await publish(base, 'proc', { event: 'hello', data: 'from a process' })).toBe(202);
    const hello = await client.next((e) => e.type === 'hello', 'hello');
    expect(JSON.parse(hello.data)).toBe('from a process');
    client.source.close();
    expect(await terminate()).toBe(0);
  });
});
