import http from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/koa/app.js';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { startExampleProcess } from '../support/example-process.js';
import { cleanups, openStream, serveOnLoopback, track, type Recorded } from '../support/recorded-stream.js';
import { WAIT_MS } from '../support/waiter.js';

// The Koa adapter (`eventStream.koa(...)`) through a real Koa 3 + @koa/router server on an
// ephemeral loopback port, read by fetch() streams; plus the example started as its own process.

interface Started extends Recorded {
  base: string;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Koa app on an ephemeral port, with hooks recorded; everything is undone in afterEach. */
async function start(build: (es: EventStream) => Koa = createApp, options: EventStreamOptions = {}): Promise<Started> {
  const recorded = track(options);
  // What Koa's app.listen() does, on the harness's loopback listener.
  const base = await serveOnLoopback(http.createServer(build(recorded.eventStream).callback()));
  return { ...recorded, base };
}

async function publish(base: string, channel: string, body: unknown): Promise<Response> {
  return fetch(`${base}/publish/${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

describe('Koa adapter (examples/koa)', () => {
  it('fills {id} from the router param and streams events published through the POST route', async () => {
    const { base, eventStream } = await start();
    const client = await openStream(`${base}/events/room-42`);
    expect(client.response.status).toBe(200);
    expect(client.response.headers.get('content-type')).toBe('text/event-stream');
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ 'room-42': 1 });

    // Another channel's event must not arrive; the second one on ours must.
    expect((await publish(base, 'room-43', { event: 'greeting', data: { n: 0 } })).status).toBe(202);
    const published = await publish(base, 'room-42', { event: 'greeting', data: { n: 1 } });
    expect(published.status).toBe(202);
    expect(await published.json()).toEqual({ ok: true });

    const greeting = await client.next((e) => e.event === 'greeting', 'greeting');
    expect(JSON.parse(greeting.data)).toEqual({ n: 1 });
    expect(greeting.id).toMatch(/^\d+$/);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'greeting']);
    expect(eventStream.stats().eventsPublished).toBe(2);
  });

  it('keeps headers set by earlier Koa middleware (CORS) on the stream and on refusals', async () => {
    const { base } = await start();
    const client = await openStream(`${base}/events/cors`);
    expect(client.response.status).toBe(200);
    expect(client.response.headers.get('access-control-allow-origin')).toBe('*');
    expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform');

    const refused = await fetch(`${base}/events/cors`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(refused.status).toBe(406);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('lets upstream middleware finish while the stream stays open (await next() does not wait for the stream)', async () => {
    let upstreamDone = false;
    const { base, eventStream } = await start((es) => {
      const app = new Koa();
      app.use(async (_ctx, next) => {
        await next();
        upstreamDone = true;
      });
      const router = new Router();
      router.get('/events/:id', es.koa('{id}'));
      app.use(router.routes());
      return app;
    });
    const client = await openStream(`${base}/events/open`);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(upstreamDone).toBe(true);
    await eventStream.publishEvent('open', { event: 'still-here', data: 1 });
    await client.next((e) => e.event === 'still-here', 'an event after upstream middleware returned');
    expect(client.ended).toBe(false);
  });

  it("routes a channel builder's error with a status to the app's error middleware (401 JSON)", async () => {
    const { base, eventStream, connects } = await start();
    const refused = await fetch(`${base}/me/events`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await refused.json()).toEqual({ error: 'send X-User to listen to your channel', code: 'ERR_HTTP' });
    expect(connects).toHaveLength(0);
    expect(eventStream.stats().connections).toBe(0);

    // The same route with the header streams the builder's channels.
    const client = await openStream(`${base}/me/events`, { 'x-user': 'ann' });
    expect(client.response.status).toBe(200);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ 'user-ann': 1, news: 1 });
  });

  it("hands builder errors to Koa's default error handling: 500 + app 'error', or the error's own status", async () => {
    const appErrors: unknown[] = [];
    const boom = new Error('builder exploded');
    const { base, connects, eventStream } = await start((es) => {
      const app = new Koa();
      app.on('error', (err: unknown) => appErrors.push(err));
      const router = new Router();
      router.get(
        '/boom',
        es.koa(() => {
          throw boom;
        }),
      );
      // ctx.throw() from inside a builder: an http-errors error with its status.
      router.get('/teapot', (ctx) => es.koa(() => ctx.throw(418, 'short and stout'))(ctx));
      app.use(router.routes());
      return app;
    });

    const failed = await fetch(`${base}/boom`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(failed.status).toBe(500);
    expect(await failed.text()).toBe('Internal Server Error');
    expect(appErrors).toEqual([boom]);

    const teapot = await fetch(`${base}/teapot`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(teapot.status).toBe(418);
    expect(await teapot.text()).toBe('short and stout');

    expect(connects).toHaveLength(0);
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
  });

  it('still answers 406 (not acceptable) and 400 (invalid channel from the param)', async () => {
    const { base, eventStream, connects } = await start();
    const notAcceptable = await fetch(`${base}/events/x`, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(notAcceptable.status).toBe(406);
    expect(notAcceptable.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await notAcceptable.text()).toBe('this endpoint only serves text/event-stream\n');

    // @koa/router decodes %2C to ',' which channel names may not contain.
    const invalid = await fetch(`${base}/events/a%2Cb`, { headers: { accept: 'text/event-stream' }, signal: AbortSignal.timeout(WAIT_MS) });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toMatch(/contains CR, LF, NUL, ',', ';' or '"'/);

    expect(connects).toHaveLength(0);
    expect(eventStream.stats().connections).toBe(0);
  });

  it('answers bad publishes with 400 from the error middleware', async () => {
    const { base, eventStream } = await start();
    const badChannel = await publish(base, 'a;b', { event: 'x', data: 1 });
    expect(badChannel.status).toBe(400);
    expect(await badChannel.json()).toMatchObject({ code: 'ERR_INVALID_CHANNEL' });
    const badEvent = await publish(base, 'ok', { event: 'two\nlines', data: 1 });
    expect(badEvent.status).toBe(400);
    expect(await badEvent.json()).toMatchObject({ code: 'ERR_INVALID_EVENT' });
    expect(eventStream.stats().eventsPublished).toBe(0);
  });

  it('removes the subscriber when the client disconnects', async () => {
    const { base, eventStream, connects, disconnects, hooks } = await start();
    const a = await openStream(`${base}/events/shared`);
    const b = await openStream(`${base}/events/shared`);
    await a.next((e) => e.event === 'stream-open', 'a open');
    await b.next((e) => e.event === 'stream-open', 'b open');
    expect(eventStream.stats()).toMatchObject({ connections: 2, subscribers: 2, channels: { shared: 2 } });

    a.close();
    await hooks.until(() => disconnects.length === 1, 'onDisconnect of a');
    expect(eventStream.stats()).toMatchObject({ connections: 1, subscribers: 1, channels: { shared: 1 } });
    expect(disconnects[0]).toBe(connects[0]);

    // The one left still gets events.
    await eventStream.publishEvent('shared', { event: 'after', data: null });
    await b.next((e) => e.event === 'after', 'event to b');

    b.close();
    await hooks.until(() => disconnects.length === 2, 'onDisconnect of b');
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
  });
});

describe('examples/koa/server.ts as a process', () => {
  it('starts with PORT, streams and publishes, and exits cleanly on SIGTERM', async () => {
    const { base, terminate } = await startExampleProcess('examples/koa/server.ts');

    const client = await openStream(`${base}/events/proc`);
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect((await publish(base, 'proc', { event: 'hello', data: 'from a process' })).status).toBe(202);
    const hello = await client.next((e) => e.event === 'hello', 'hello');
    expect(JSON.parse(hello.data)).toBe('from a process');

    expect(await terminate()).toBe(0);
    // The server ended the stream on shutdown.
    await client.whenEnded();
  });
});
