import { Writable } from 'node:stream';
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/fastify/app.js';
import { EventStream, InvalidConfigError, type EventStreamOptions } from '../../src/index.js';
import { cleanups, openStream } from '../support/recorded-stream.js';
import { WAIT_MS } from '../support/waiter.js';

// `eventStream.fastify(...)` on a real Fastify 5 server (loopback, ephemeral port), read by
// fetch() streams: route params and query, @fastify/cors headers, Fastify's error handler,
// hooks, resume, app.close() with streams open, and nothing logged as a warning or error.

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LogRecord {
  level: number;
  msg: string;
}

/** A pino destination that keeps every record Fastify logs at warn (40) or above. */
function logSink(): { records: LogRecord[]; stream: Writable } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') records.push(JSON.parse(line) as LogRecord);
      done();
    },
  });
  return { records, stream };
}

async function listen(app: FastifyInstance): Promise<string> {
  cleanups.push(() => app.close());
  return app.listen({ port: 0, host: '127.0.0.1' });
}

function track(eventStream: EventStream): EventStream {
  cleanups.push(() => eventStream.close());
  return eventStream;
}

function publish(base: string, channel: string, body: unknown): Promise<Response> {
  return fetch(`${base}/publish/${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS),
  });
}

async function startExample(options: EventStreamOptions = {}): Promise<{ base: string; eventStream: EventStream }> {
  const eventStream = track(new EventStream(options));
  const base = await listen(await createApp(eventStream));
  return { base, eventStream };
}

describe('Fastify 5 handler (examples/fastify)', () => {
  it('fills {room} from the route param and streams events published through the POST route', async () => {
    const { base, eventStream } = await startExample();
    const client = await openStream(`${base}/rooms/42/events`);
    expect(client.response.status).toBe(200);
    expect(client.response.headers.get('content-type')).toBe('text/event-stream');
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ 'room-42': 1, news: 1 });

    expect((await publish(base, 'room-43', { event: 'greeting', data: 0 })).status).toBe(202);
    const published = await publish(base, 'room-42', { event: 'greeting', data: 1 });
    expect(published.status).toBe(202);
    expect(await published.json()).toEqual({ ok: true });
    const greeting = await client.next((e) => e.event === 'greeting', 'greeting');
    expect(greeting.data).toBe('1');
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'greeting']);

    // Resume: a new stream with the first id gets only what came after it.
    await publish(base, 'room-42', { event: 'greeting', data: 2 });
    await client.next((e) => e.data === '2', 'the second greeting');
    const resumed = await openStream(`${base}/rooms/42/events`, { 'last-event-id': greeting.id! });
    const replayed = await resumed.next((e) => e.event === 'greeting', 'the replay');
    expect(replayed.data).toBe('2');
  });

  it('keeps @fastify/cors headers on the stream and on refusals; a bad publish is a 400 from the error handler', async () => {
    const { base } = await startExample();
    const client = await openStream(`${base}/events`, { origin: 'https://app.example' });
    expect(client.response.status).toBe(200);
    expect(client.response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(client.response.headers.get('cache-control')).toBe('no-cache, no-transform');

    const refused = await fetch(`${base}/events`, { headers: { accept: 'text/html', origin: 'https://app.example' } });
    expect(refused.status).toBe(406);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(await refused.text()).toMatch(/^[^\n]+\n$/);

    const badChannel = await publish(base, 'has,comma', { event: 'x' });
    expect(badChannel.status).toBe(400);
    expect(((await badChannel.json()) as { code: string }).code).toBe('ERR_INVALID_CHANNEL');
  });

  it("hands a channel builder's error to Fastify's error handler (custom and default), with the hook headers", async () => {
    const eventStream = track(new EventStream());
    const app = Fastify();
    await app.register(cors, { origin: '*' });
    const handled: unknown[] = [];
    await app.register(async (scoped) => {
      scoped.setErrorHandler((err, _request, reply) => {
        handled.push(err);
        return reply.code(418).send({ teapot: (err as Error).message });
      });
      scoped.get(
        '/custom',
        eventStream.fastify(() => {
          throw new InvalidConfigError('no channels for you');
        }),
      );
    });
    app.get(
      '/default',
      eventStream.fastify(() => {
        throw new Error('builder broke');
      }),
    );
    const base = await listen(app);

    const custom = await fetch(`${base}/custom`, { headers: { accept: 'text/event-stream' } });
    expect(custom.status).toBe(418);
    expect(await custom.json()).toEqual({ teapot: 'no channels for you' });
    expect(custom.headers.get('access-control-allow-origin')).toBe('*');
    expect(handled).toHaveLength(1);
    expect(handled[0]).toBeInstanceOf(InvalidConfigError);

    const fallback = await fetch(`${base}/default`, { headers: { accept: 'text/event-stream' } });
    expect(fallback.status).toBe(500);
    expect(((await fallback.json()) as { message: string }).message).toBe('builder broke');
    expect(fallback.headers.get('access-control-allow-origin')).toBe('*');
    expect(eventStream.stats().connections).toBe(0);
  });

  it('runs onRequest/preHandler hooks before the stream (a preHandler may refuse it); the query fills {topic}', async () => {
    const eventStream = track(new EventStream());
    const app = Fastify();
    const seen: string[] = [];
    app.addHook('onRequest', async (request, reply) => {
      seen.push(`onRequest ${request.url}`);
      reply.header('x-request-hook', 'ran');
    });
    app.addHook('preHandler', async (request, reply) => {
      if (request.headers.authorization !== 'Bearer ok') return reply.code(401).send({ error: 'login first' });
    });
    const sentThroughFastify: number[] = [];
    app.addHook('onSend', async (_request, reply, payload) => {
      sentThroughFastify.push(reply.statusCode);
      return payload;
    });
    app.get('/topics', eventStream.fastify('topic-{topic}'));
    const base = await listen(app);

    const unauthorized = await fetch(`${base}/topics?topic=a`, { headers: { accept: 'text/event-stream' } });
    expect(unauthorized.status).toBe(401);
    expect(eventStream.stats().connections).toBe(0);

    const client = await openStream(`${base}/topics?topic=a`, { authorization: 'Bearer ok' });
    expect(client.response.headers.get('x-request-hook')).toBe('ran');
    await client.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats().channels).toEqual({ 'topic-a': 1 });
    expect(seen).toEqual(['onRequest /topics?topic=a', 'onRequest /topics?topic=a']);
    // Only the 401 went through reply.send(); the stream (hijacked) did not.
    expect(sentThroughFastify).toEqual([401]);

    const missing = await fetch(`${base}/topics`, { headers: { accept: 'text/event-stream', authorization: 'Bearer ok' } });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('missing parameter "topic" for channel "topic-{topic}"\n');
  });

  it('logs nothing at warn or above for a stream, a client leaving, a refusal; app.close() ends open streams', async () => {
    const { records, stream } = logSink();
    const disconnected: string[] = [];
    let wake: (() => void) | undefined;
    const eventStream = new EventStream({
      onDisconnect: (info) => {
        disconnected.push(info.channels.join());
        wake?.();
      },
    });
    const app = Fastify({ logger: { level: 'warn', stream } });
    app.addHook('preClose', () => eventStream.close());
    app.get('/events', eventStream.fastify('news'));
    const base = await listen(app);

    const leaving = await openStream(`${base}/events`);
    await leaving.next((e) => e.event === 'stream-open', 'stream-open');
    const gone = new Promise<void>((resolve) => (wake = resolve));
    leaving.close();
    await gone;
    expect(eventStream.stats().connections).toBe(0);

    expect((await fetch(`${base}/events`, { headers: { accept: 'text/html' } })).status).toBe(406);
    const staying = await openStream(`${base}/events`);
    await staying.next((e) => e.event === 'stream-open', 'stream-open');
    await eventStream.publishEvent('news', { event: 'message', data: 'bye' });
    await staying.next((e) => e.event === 'message', 'message');

    await app.close();
    await staying.whenEnded();
    expect(disconnected).toEqual(['news', 'news']);
    expect(records).toEqual([]);
  });
});
