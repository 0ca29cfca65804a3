import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  GripstreamError,
  InvalidChannelError,
  InvalidConfigError,
  InvalidEventError,
  type ServerSentEvent,
} from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { FRAMEWORKS } from '../support/frameworks.js';
import { RawClient } from '../support/raw.js';
import { getOnce, startApp, startHttp } from '../support/server.js';

// Typed errors: what is refused, with which class and code, and that a refused publish
// writes nothing at all.

afterEach(runCleanups);

async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got none');
}

function expectTyped(err: unknown, cls: abstract new (...a: never[]) => GripstreamError, code: string): void {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(GripstreamError);
  expect(err).toBeInstanceOf(Error);
  expect((err as GripstreamError).code).toBe(code);
  expect((err as GripstreamError).name).toBe(cls.name);
}

/** An EventStream with one raw client subscribed to 'ch' (through Express 5). */
async function subscribed(): Promise<{ es: EventStream; raw: RawClient }> {
  const es = track(new EventStream());
  const [{ create }] = FRAMEWORKS as [(typeof FRAMEWORKS)[number]];
  const app = create();
  app.get('/e', es('ch'));
  const { port } = await startApp(app);
  const raw = await RawClient.get(port, { path: '/e' });
  await raw.waitForEvents(1);
  return { es, raw };
}

/** Publishes a marker and waits for it: everything published before it has arrived by then. */
async function bodyAfterMarker(es: EventStream, raw: RawClient): Promise<string> {
  await es.publishEvent('ch', { event: 'marker', data: 'end' });
  await raw.waitFor((c) => c.events.some((e) => e.event === 'marker'), 'the marker');
  return raw.bodyText;
}

const circular: Record<string, unknown> = {};
circular.self = circular;

describe('InvalidEventError', () => {
  it.each<[string, ServerSentEvent]>([
    ['event with LF', { event: 'a\nb', data: 1 }],
    ['event with CR', { event: 'a\rb', data: 1 }],
    ['event with CRLF', { event: 'a\r\nevent: injected', data: 1 }],
    ['event with NUL', { event: 'a\0b', data: 1 }],
    ['id with LF', { event: 'm', data: 1, id: 'a\nb' }],
    ['id with CR', { event: 'm', data: 1, id: 'a\rb' }],
    ['id with NUL', { event: 'm', data: 1, id: 'a\0b' }],
    ['data JSON cannot encode (BigInt)', { event: 'm', data: 10n }],
    ['data JSON cannot encode (circular)', { event: 'm', data: circular }],
    ['event that is not a string', { event: 42 as unknown as string, data: 1 }],
  ])('publishEvent with %s rejects and writes nothing', async (_what, event) => {
    const { es, raw } = await subscribed();
    const before = raw.bodyText;
    expectTyped(await caught(() => es.publishEvent('ch', event)), InvalidEventError, 'ERR_INVALID_EVENT');
    expectTyped(
      await caught(() => es.getChannelPublisher('ch').publishEvent(event)),
      InvalidEventError,
      'ERR_INVALID_EVENT',
    );
    const body = await bodyAfterMarker(es, raw);
    expect(body.slice(before.length)).toMatch(/^id: [^\n]+\nevent: marker\ndata: "end"\n\n$/);
    expect(es.stats().eventsPublished).toBe(1);
  });

  it('a batch with one bad event is refused whole: not even the good ones before it are sent', async () => {
    const { es, raw } = await subscribed();
    const before = raw.bodyText;
    const err = await caught(() =>
      es.publishEvents('ch', [
        { event: 'good', data: 1 },
        { event: 'good', data: 2 },
        { event: 'bad\n', data: 3 },
      ]),
    );
    expectTyped(err, InvalidEventError, 'ERR_INVALID_EVENT');
    const body = await bodyAfterMarker(es, raw);
    expect(body.slice(before.length)).not.toContain('good');
    expect(es.stats().eventsPublished).toBe(1);
  });

  it('the Writable reports it through its callback / error event', async () => {
    const { es } = await subscribed();
    const writable = es.createChannelWritable('ch');
    const err = await new Promise<unknown>((resolve) => {
      writable.on('error', () => {}); // the callback is what we check
      writable.write({ event: 'x\ny', data: 1 }, resolve);
    });
    expectTyped(err, InvalidEventError, 'ERR_INVALID_EVENT');
  });
});

describe('InvalidChannelError on publish', () => {
  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['with a comma', 'a,b'],
    ['with a semicolon', 'a;b'],
    ['with a double quote', 'a"b'],
    ['with LF', 'a\nb'],
    ['with CR', 'a\rb'],
    ['with NUL', 'a\0b'],
    ['over 255 bytes', 'é'.repeat(128)],
  ])('publishEvent to a channel %s rejects with ERR_INVALID_CHANNEL', async (_what, channel) => {
    const { es, raw } = await subscribed();
    const before = raw.bodyText;
    expectTyped(
      await caught(() => es.publishEvent(channel, { event: 'm', data: 1 })),
      InvalidChannelError,
      'ERR_INVALID_CHANNEL',
    );
    expectTyped(await caught(() => es.getChannelPublisher(channel)), InvalidChannelError, 'ERR_INVALID_CHANNEL');
    expectTyped(await caught(() => es.createChannelWritable(channel)), InvalidChannelError, 'ERR_INVALID_CHANNEL');
    const body = await bodyAfterMarker(es, raw);
    expect(body.slice(before.length)).toMatch(/^id: [^\n]+\nevent: marker\n/);
  });

  it('a non-string channel argument to the route is refused when the route is made', async () => {
    const es = track(new EventStream());
    expectTyped(await caught(() => es(42 as unknown as string)), InvalidChannelError, 'ERR_INVALID_CHANNEL');
    expectTyped(await caught(() => es(['a', null as unknown as string])), InvalidChannelError, 'ERR_INVALID_CHANNEL');
  });
});

describe('InvalidConfigError', () => {
  it.each<[string, ConstructorParameters<typeof EventStream>[0]]>([
    ['keepAliveInterval: -1', { keepAliveInterval: -1 }],
    ['keepAliveInterval: 0', { keepAliveInterval: 0 }],
    ['keepAliveInterval: NaN', { keepAliveInterval: Number.NaN }],
    ['keepAliveInterval: "1000"', { keepAliveInterval: '1000' as unknown as number }],
    ['maxBufferedBytes: 0', { maxBufferedBytes: 0 }],
    ['maxBufferedBytes: -1', { maxBufferedBytes: -1 }],
    ['retry: -1', { retry: -1 }],
    ['retry: 1.5', { retry: 1.5 }],
  ])('new EventStream({ %s }) throws', async (_what, config) => {
    expectTyped(await caught(() => new EventStream(config)), InvalidConfigError, 'ERR_INVALID_CONFIG');
  });

  it('valid configurations construct (null, {}, nothing)', async () => {
    for (const config of [undefined, null, {}, { keepAliveInterval: 1, maxBufferedBytes: 1, retry: 0 }]) {
      await track(new EventStream(config)).close();
    }
  });
});

describe.each(FRAMEWORKS)('a throwing channel builder on $name', ({ create }) => {
  it('goes to next(err): the Express error handler answers', async () => {
    const es = track(new EventStream());
    const app = create();
    const boom = new Error('builder exploded');
    app.get(
      '/e',
      es(() => {
        throw boom;
      }),
    );
    const seen: unknown[] = [];
    app.use(((err: unknown, _req: unknown, res: http.ServerResponse, _next: unknown) => {
      seen.push(err);
      res.statusCode = 599;
      res.end('handled by the app');
    }) as never);
    const { url } = await startApp(app);
    const reply = await getOnce(`${url}/e`, { Accept: 'text/event-stream' });
    expect(seen).toEqual([boom]);
    expect(reply.status).toBe(599);
    expect(reply.body).toBe('handled by the app');
    expect(es.stats().connections).toBe(0);
  });
});

describe('a throwing channel builder without next', () => {
  it('answers 500 with a plain-text body', async () => {
    const es = track(new EventStream());
    const handler = es(() => {
      throw new Error('nope');
    });
    const { url } = await startHttp((req, res) => void handler(req, res));
    const reply = await getOnce(url, { Accept: 'text/event-stream' });
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toMatch(/^text\/plain\b/);
    expect(reply.body).not.toContain('nope');
  });
});
