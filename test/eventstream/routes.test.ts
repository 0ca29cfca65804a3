import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, type StreamRequest } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { FRAMEWORKS, type MiniApp } from '../support/frameworks.js';
import { RawClient } from '../support/raw.js';
import { getOnce, startApp, startHttp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// How routes pick their channels, on Express 5 and Express 4 alike, plus plain node:http
// handlers as Next.js calls them. Each test checks both what the bus registered
// (stats().channels) and that a publish on those channels actually reaches the client.

afterEach(runCleanups);

describe.each(FRAMEWORKS)('routes on $name', ({ create }) => {
  async function serve(mount: (app: MiniApp, es: EventStream) => void): Promise<{ es: EventStream; url: string }> {
    const es = track(new EventStream());
    const app = create();
    mount(app, es);
    const { url } = await startApp(app);
    return { es, url };
  }

  it("es('ch') listens on that channel", async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es('ch')));
    const client = await connectSse(`${url}/e`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ ch: 1 });
    await es.publishEvent('ch', { event: 'm', data: 'hello' });
    expect((await client.nextEvent('m')).data).toBe('"hello"');
  });

  it("es('a', 'b') listens on both channels", async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es('a', 'b')));
    const client = await connectSse(`${url}/e`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ a: 1, b: 1 });
    await es.publishEvent('a', { event: 'm', data: 'from a' });
    await es.publishEvent('b', { event: 'm', data: 'from b' });
    expect((await client.nextEvent('m')).data).toBe('"from a"');
    expect((await client.nextEvent('m')).data).toBe('"from b"');
  });

  it("es(['a', 'b']) listens on both channels", async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es(['a', 'b'])));
    const client = await connectSse(`${url}/e`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ a: 1, b: 1 });
    await es.publishEvent('b', { event: 'm', data: 1 });
    await es.publishEvent('a', { event: 'm', data: 2 });
    expect((await client.nextEvent('m')).data).toBe('1');
    expect((await client.nextEvent('m')).data).toBe('2');
  });

  it('es(req => string) calls the builder with the request', async () => {
    const seen: string[] = [];
    const { es, url } = await serve((app, es) =>
      app.get(
        '/e',
        es((req: StreamRequest) => {
          seen.push(req.url ?? '');
          return `room-${String(req.headers['x-room'])}`;
        }),
      ),
    );
    const client = await connectSse(`${url}/e?k=1`, { types: ['m'], headers: { 'X-Room': 'blue' } });
    expect(seen).toEqual(['/e?k=1']);
    expect(es.stats().channels).toEqual({ 'room-blue': 1 });
    await es.publishEvent('room-blue', { event: 'm', data: 'x' });
    expect((await client.nextEvent('m')).data).toBe('"x"');
  });

  it('es(req => [x, y]) listens on every returned channel', async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es(() => ['x', 'y'])));
    const client = await connectSse(`${url}/e`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ x: 1, y: 1 });
    await es.publishEvent('y', { event: 'm', data: 'y' });
    await es.publishEvent('x', { event: 'm', data: 'x' });
    expect((await client.nextEvent('m')).data).toBe('"y"');
    expect((await client.nextEvent('m')).data).toBe('"x"');
  });

  it("es('{id}') takes the channel from the route parameter", async () => {
    const { es, url } = await serve((app, es) => app.get('/e/:id', es('{id}')));
    const one = await connectSse(`${url}/e/one`, { types: ['m'] });
    const two = await connectSse(`${url}/e/two`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ one: 1, two: 1 });
    await es.publishEvent('two', { event: 'm', data: 2 });
    await es.publishEvent('one', { event: 'm', data: 1 });
    expect((await one.nextEvent('m')).data).toBe('1');
    expect((await two.nextEvent('m')).data).toBe('2');
    expect(one.of('m')).toHaveLength(1);
    expect(two.of('m')).toHaveLength(1);
  });

  it("es('user-{id}') fills a token inside literal text", async () => {
    const { es, url } = await serve((app, es) => app.get('/users/:id/events', es('user-{id}')));
    const client = await connectSse(`${url}/users/42/events`, { types: ['m'] });
    expect(es.stats().channels).toEqual({ 'user-42': 1 });
    await es.publishEvent('user-42', { event: 'm', data: { n: 42 } });
    expect((await client.nextEvent('m')).data).toBe('{"n":42}');
  });

  it('fills several tokens and mixes templates with literal channels', async () => {
    const { es, url } = await serve((app, es) => app.get('/o/:org/r/:room', es('{org}/{room}', 'all')));
    await connectSse(`${url}/o/acme/r/lobby`);
    expect(es.stats().channels).toEqual({ 'acme/lobby': 1, all: 1 });
  });

  it('fills a token from the query when the route has no such parameter', async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es('{id}')));
    await connectSse(`${url}/e?id=from-query`);
    expect(es.stats().channels).toEqual({ 'from-query': 1 });
  });

  it('answers 400 when a token has no value', async () => {
    const { es, url } = await serve((app, es) => app.get('/e', es('{nope}')));
    const reply = await getOnce(`${url}/e`, { Accept: 'text/event-stream' });
    expect(reply.status).toBe(400);
    expect(es.stats().connections).toBe(0);
  });

  it('run(req, res, channels) inside a handler: direct invocation with a next() fallback', async () => {
    const es = track(new EventStream());
    const app = create();
    // The reference README's "Direct invocation" example, verbatim in shape.
    app.get('/', (async (req: IncomingMessage, res: Parameters<EventStream['run']>[1], next: (err?: unknown) => void) => {
      if (req.headers['foo'] === 'bar') {
        try {
          await es.run(req, res, ['test']);
        } catch (ex) {
          next(ex instanceof Error ? ex : new Error(String(ex)));
        }
      } else {
        next();
      }
    }) as never);
    app.get('/', ((_req: unknown, res: { send(body: string): void }) => res.send('fallback')) as never);
    const { url } = await startApp(app);

    const client = await connectSse(`${url}/`, { types: ['message'], headers: { foo: 'bar' } });
    expect(es.stats().channels).toEqual({ test: 1 });
    await es.publishEvent('test', { event: 'message', data: { name: 'John' } });
    expect((await client.nextEvent('message')).data).toBe('{"name":"John"}');

    const fallback = await getOnce(`${url}/`, { foo: 'baz' });
    expect(fallback.status).toBe(200);
    expect(fallback.body).toBe('fallback');
    expect(es.stats().connections).toBe(1);
  });

  it('run() accepts a single channel name as a string', async () => {
    const es = track(new EventStream());
    const app = create();
    app.get('/', ((req: StreamRequest, res: Parameters<EventStream['run']>[1]) => void es.run(req, res, 'solo')) as never);
    const { url } = await startApp(app);
    await connectSse(`${url}/`);
    expect(es.stats().channels).toEqual({ solo: 1 });
  });
});

describe('routes as Next.js pages-router API handlers (plain node:http)', () => {
  it("es('{id}') takes the channel from req.query when there are no params", async () => {
    const es = track(new EventStream());
    const handler = es('{id}');
    const seen: unknown[] = [];
    const { url } = await startHttp((req, res) => {
      // What Next.js does for /api/events/[id]: the dynamic segment is in req.query.
      (req as StreamRequest).query = { id: 'x' };
      seen.push((req as StreamRequest).params);
      void handler(req, res);
    });
    const client = await connectSse(`${url}/api/events/x`, { types: ['m'] });
    expect(seen).toEqual([undefined]);
    expect(es.stats().channels).toEqual({ x: 1 });
    await es.publishEvent('x', { event: 'm', data: 'next' });
    expect((await client.nextEvent('m')).data).toBe('"next"');
  });

  it("es('user-{id}') with a query value from Next.js catch-all arrays uses the first", async () => {
    const es = track(new EventStream());
    const handler = es('user-{id}');
    const { url } = await startHttp((req, res) => {
      (req as StreamRequest).query = { id: ['7', '8'] };
      void handler(req, res);
    });
    await connectSse(`${url}/api/events/7/8`);
    expect(es.stats().channels).toEqual({ 'user-7': 1 });
  });

  it('serves a handler called without next (default-exported route)', async () => {
    const es = track(new EventStream());
    const handler = es('plain');
    const { port } = await startHttp((req, res) => void handler(req, res));
    const raw = await RawClient.get(port, { path: '/' });
    await raw.waitForEvents(1);
    expect(raw.head?.status).toBe(200);
    expect(raw.events[0]?.event).toBe('stream-open');
    expect(es.stats().channels).toEqual({ plain: 1 });
  });
});
