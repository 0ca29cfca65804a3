import type { EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { cleanups, fetchRequest as request, track } from '../support/recorded-stream.js';
import { readEvents } from '../support/sse-response.js';
import { Waiter } from '../support/waiter.js';

// `eventStream.fetch(request, channels, params?)` with hand-made WHATWG Requests and the
// Response read directly. (Served by Hono to real clients: test/frameworks/hono.test.ts.)

/** Reads an event-stream Response body with its reader, parsing events as they arrive. */
class BodyReader {
  readonly events: EventSourceMessage[] = [];
  text = '';
  /** 'done' when the body ended normally, the error when it errored. */
  outcome: 'done' | Error | undefined;
  private readonly waiter = new Waiter();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(readonly response: Response) {
    this.reader = response.body!.getReader();
    void this.pump();
  }

  next(match: (e: EventSourceMessage) => boolean, label: string): Promise<EventSourceMessage> {
    return this.waiter.until(() => {
      const found = this.events.find(match);
      if (found === undefined && this.outcome !== undefined) throw new Error(`body ended before ${label}`);
      return found;
    }, label);
  }

  ended(): Promise<'done' | Error> {
    return this.waiter.until(() => this.outcome, 'the body to end');
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }

  private async pump(): Promise<void> {
    try {
      await readEvents(
        this.reader,
        (event) => {
          this.events.push(event);
          this.waiter.notify();
        },
        (chunk) => (this.text += chunk),
      );
      this.outcome = 'done';
    } catch (err) {
      this.outcome = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.waiter.notify();
    }
  }
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
});

describe('eventStream.fetch() with plain Request objects', () => {
  it('answers a Response whose ReadableStream body carries stream-open, then published events', async () => {
    const { eventStream, connects } = track();
    const { request: req } = request('http://localhost/x');
    const response = await eventStream.fetch(req, 'x');
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.body).toBeInstanceOf(ReadableStream);
    expect(connects).toEqual([{ req, channels: ['x'], proxied: false }]);

    const body = new BodyReader(response);
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await eventStream.publishEvent('other', { event: 'elsewhere', data: 0 });
    await eventStream.publishEvent('x', { event: 'update', data: { n: 1 } });
    await eventStream.publishEvent('x', { event: 'update', data: 'two\nlines' });
    await body.next((e) => e.data === '"two\\nlines"', 'second update');
    expect(body.events.map((e) => [e.event, e.data])).toEqual([
      ['stream-open', ''],
      ['update', '{"n":1}'],
      ['update', '"two\\nlines"'],
    ]);
  });

  it('sends the retry field first when configured', async () => {
    const { eventStream } = track({ retry: 1234 });
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    expect(body.text.startsWith('retry: 1234\n\n')).toBe(true);
  });

  it('fills {name} from params, else from the URL query; a builder gets the Request itself', async () => {
    const { eventStream } = track();
    await eventStream.fetch(request('http://localhost/rooms/7').request, 'room-{id}', { id: '7' });
    await eventStream.fetch(request('http://localhost/rooms?id=9').request, ['room-{id}', 'lobby']);
    let seen: unknown;
    const built = request('http://localhost/me', { accept: 'text/event-stream', 'x-user': 'ann' });
    await eventStream.fetch(built.request, (r) => {
      seen = r;
      return `user-${r.headers.get('x-user')}`;
    });
    expect(seen).toBe(built.request);
    expect(eventStream.stats().channels).toEqual({ 'room-7': 1, 'room-9': 1, lobby: 1, 'user-ann': 1 });
  });

  it('removes the subscriber when the request signal aborts, and ends the body without an error', async () => {
    const { eventStream, connects, disconnects, hooks } = track();
    const { request: req, controller } = request('http://localhost/x');
    const body = new BodyReader(await eventStream.fetch(req, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    expect(eventStream.stats()).toMatchObject({ connections: 1, channels: { x: 1 } });

    controller.abort();
    await hooks.until(() => disconnects.length === 1, 'onDisconnect');
    expect(disconnects).toEqual(connects);
    expect(eventStream.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
    expect(await body.ended()).toBe('done');
    // Publishing afterwards reaches nobody and breaks nothing.
    await eventStream.publishEvent('x', { event: 'late', data: 1 });
    expect(body.events.some((e) => e.event === 'late')).toBe(false);
  });

  it('removes the subscriber when the reader cancels', async () => {
    const { eventStream, disconnects } = track();
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await body.cancel();
    expect(disconnects).toHaveLength(1);
    expect(eventStream.stats().connections).toBe(0);
  });

  it('does not subscribe a request whose signal is already aborted', async () => {
    const { eventStream, disconnects } = track();
    const { request: req, controller } = request('http://localhost/x');
    controller.abort();
    const response = await eventStream.fetch(req, 'x');
    expect(await new BodyReader(response).ended()).toBe('done');
    expect(disconnects).toHaveLength(1);
    expect(eventStream.stats().connections).toBe(0);
  });

  it('answers 406 and 400 as Responses, without subscribing', async () => {
    const { eventStream, connects } = track();
    const notAcceptable = await eventStream.fetch(request('http://localhost/x', { accept: 'text/html' }).request, 'x');
    expect(notAcceptable.status).toBe(406);
    expect(notAcceptable.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await notAcceptable.text()).toBe('this endpoint only serves text/event-stream\n');

    const missing = await eventStream.fetch(request('http://localhost/x').request, 'room-{id}');
    expect(missing.status).toBe(400);
    expect(await missing.text()).toMatch(/missing parameter "id"/);

    const invalid = await eventStream.fetch(request('http://localhost/x').request, 'room-{id}', { id: 'a,b' });
    expect(invalid.status).toBe(400);

    expect(connects).toHaveLength(0);
    expect(eventStream.stats().connections).toBe(0);
  });

  it("rejects with a channel builder's or authorize's own error, for the framework to answer", async () => {
    const boom = new Error('builder exploded');
    const { eventStream, connects } = track();
    await expect(
      eventStream.fetch(request('http://localhost/x').request, () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const denied = new Error('auth service down');
    const strict = track({ authorize: () => Promise.reject(denied) });
    await expect(strict.eventStream.fetch(request('http://localhost/x').request, 'x')).rejects.toBe(denied);
    expect(connects).toHaveLength(0);
    expect(strict.connects).toHaveLength(0);
    expect(eventStream.stats().connections + strict.eventStream.stats().connections).toBe(0);
  });

  it('replays history after Last-Event-ID (header or query), then streams live', async () => {
    const { eventStream } = track();
    for (const n of [1, 2, 3]) await eventStream.publishEvent('r', { event: 'tick', data: n, id: `e${n}` });

    const fromHeader = new BodyReader(
      await eventStream.fetch(request('http://localhost/r', { accept: 'text/event-stream', 'last-event-id': 'e1' }).request, 'r'),
    );
    const fromQuery = new BodyReader(await eventStream.fetch(request('http://localhost/r?lastEventId=e2').request, 'r'));
    await fromHeader.next((e) => e.id === 'e3', 'replayed e3 (header)');
    await fromQuery.next((e) => e.id === 'e3', 'replayed e3 (query)');
    await eventStream.publishEvent('r', { event: 'tick', data: 4, id: 'e4' });
    await fromHeader.next((e) => e.id === 'e4', 'live e4 (header)');
    await fromQuery.next((e) => e.id === 'e4', 'live e4 (query)');

    expect(fromHeader.events.map((e) => e.id ?? e.event)).toEqual(['stream-open', 'e2', 'e3', 'e4']);
    expect(fromQuery.events.map((e) => e.id ?? e.event)).toEqual(['stream-open', 'e3', 'e4']);

    // An id this history never made: the client is told it may have missed events.
    const unknown = new BodyReader(
      await eventStream.fetch(request('http://localhost/r', { accept: 'text/event-stream', 'last-event-id': 'nope' }).request, 'r'),
    );
    const notice = await unknown.next((e) => e.event === HISTORY_TRUNCATED_EVENT, 'history-truncated');
    expect(JSON.parse(notice.data)).toEqual({ lastEventId: 'nope' });
  });

  it('ends every body on eventStream.close()', async () => {
    const { eventStream, disconnects } = track();
    const body = new BodyReader(await eventStream.fetch(request('http://localhost/x').request, 'x'));
    await body.next((e) => e.event === 'stream-open', 'stream-open');
    await eventStream.close();
    expect(await body.ended()).toBe('done');
    expect(eventStream.stats().connections).toBe(0);
    expect(disconnects).toHaveLength(1);
  });
});
