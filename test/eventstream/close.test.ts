import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ClosedError, EventStream, GripstreamError, type ConnectionInfo } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { getOnce, startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { LibraryTimers, activeTimeoutCount } from '../support/timers.js';
import { turn, Waiters } from '../support/wait.js';

// eventStream.close(): every stream ends, publishing is refused, new requests get 503, and the
// library leaves no timer behind.

afterEach(runCleanups);

async function serve(es: EventStream): Promise<{ url: string; port: number }> {
  const app = express();
  app.get('/e/:ch', es('{ch}'));
  return startApp(app);
}

async function expectClosedError(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClosedError);
  expect(err).toBeInstanceOf(GripstreamError);
  expect(err).toBeInstanceOf(Error);
  expect((err as ClosedError).code).toBe('ERR_CLOSED');
}

describe('close()', () => {
  it('ends every open stream politely, after what was already published', async () => {
    const es = track(new EventStream());
    const { port } = await serve(es);
    const clients = await Promise.all(['a', 'b', 'a'].map((ch) => RawClient.get(port, { path: `/e/${ch}` })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    await es.publishEvent('a', { event: 'last', data: 'before close' });
    await es.close();
    await Promise.all(clients.map((c) => c.waitForComplete()));
    expect(clients[0]!.events.map((e) => e.event)).toEqual(['stream-open', 'last']);
    expect(clients[1]!.events.map((e) => e.event)).toEqual(['stream-open']);
    expect(clients[2]!.events.map((e) => e.event)).toEqual(['stream-open', 'last']);
    expect(es.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
  });

  it('an EventSource client sees its stream end, then 503 when it reconnects, and stops', async () => {
    const es = track(new EventStream({ retry: 20 }));
    const { url } = await serve(es);
    const client = await connectSse(`${url}/e/a`);
    await es.close();
    await client.waitFor((c) => c.errors.some((e) => e.code === 503), 'a 503 on reconnect');
    await client.waitFor((c) => c.source.readyState === c.source.CLOSED, 'the client to give up');
    expect(client.opens).toBe(1);
  });

  it('publishing afterwards rejects with ClosedError (ERR_CLOSED) on every path', async () => {
    const es = track(new EventStream());
    const publisher = es.getChannelPublisher('a');
    await es.close();
    await expectClosedError(es.publishEvent('a', { event: 'm', data: 1 }));
    await expectClosedError(es.publishEvents('a', [{ event: 'm', data: 1 }]));
    await expectClosedError(publisher.publishEvent({ event: 'm', data: 1 }));
    await expectClosedError(pipeline(Readable.from([{ event: 'm', data: 1 }]), es.createChannelWritable('a')));
    expect(es.stats().eventsPublished).toBe(0);
  });

  it('new requests get 503 with a one-line plain-text reason', async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    await es.close();
    const reply = await getOnce(`${url}/e/a`, { Accept: 'text/event-stream' });
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toMatch(/^text\/plain\b/);
    expect(reply.body).toMatch(/^[^\r\n]+\n$/);
    expect(es.stats().connections).toBe(0);
  });

  it('is idempotent', async () => {
    const es = track(new EventStream());
    await es.close();
    await expect(es.close()).resolves.toBeUndefined();
  });

  it('leaves no library timer behind (keep-alive and history sweep included)', async () => {
    const baseline = activeTimeoutCount();
    const timers = LibraryTimers.start();
    try {
      const es = track(new EventStream({ keepAliveInterval: 100 }));
      const { port } = await serve(es);
      const clients = await Promise.all([1, 2, 3].map(() => RawClient.get(port, { path: '/e/a' })));
      await Promise.all(clients.map((c) => c.waitForEvents(1)));
      await es.publishEvent('a', { event: 'm', data: 1 });
      await Promise.all(clients.map((c) => c.waitFor((x) => x.comments.length >= 1, 'a keep-alive')));
      expect(timers.live.size).toBeGreaterThanOrEqual(1);
      await es.close();
      await Promise.all(clients.map((c) => c.waitForComplete()));
      expect([...timers.live]).toHaveLength(0);
      for (const c of clients) c.destroy();
      await turn();
      // The library's timers are unref'd, so this cannot see them; it does show nothing ref'd leaked.
      expect(activeTimeoutCount()).toBeLessThanOrEqual(baseline + 1); // +1: the HTTP server's own check timer
    } finally {
      timers.stop();
    }
  });

  it('onDisconnect fires once for each stream ended by close() ("once per stream")', async () => {
    const connected: ConnectionInfo[] = [];
    const disconnected: ConnectionInfo[] = [];
    const hooks = new Waiters();
    const es = track(
      new EventStream({
        onConnect: (i) => connected.push(i),
        onDisconnect: (i) => {
          disconnected.push(i);
          hooks.notify();
        },
      }),
    );
    const { port } = await serve(es);
    const clients = await Promise.all(['a', 'b'].map((ch) => RawClient.get(port, { path: `/e/${ch}` })));
    await Promise.all(clients.map((c) => c.waitForEvents(1)));
    expect(connected).toHaveLength(2);
    await es.close();
    // The clients keep their (keep-alive) sockets open: the hook must not wait for them.
    await hooks.wait(() => disconnected.length >= 2, 2000, 'onDisconnect for both streams');
    expect(disconnected.map((i) => i.channels.join()).sort()).toEqual(['a', 'b']);
    for (const c of clients) c.destroy();
    await Promise.all(clients.map((c) => c.waitForClose()));
    await turn();
    expect(disconnected).toHaveLength(2);
  });
});
