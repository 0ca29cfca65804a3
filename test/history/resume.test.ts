/**
 * Last-Event-ID resume against a real Express 5 server: header and query forms, the
 * `eventsource` package's own reconnect, multi-channel ordering with one id, publisher ids.
 */
import { EventSource } from 'eventsource';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT, InvalidEventError, type EventStreamOptions } from '../../src/index.js';
import { listen, rawGet, rawRequest, SseClient, until, within, type SseEvent, type TestServer } from '../support/resume-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  es: EventStream;
  srv: TestServer;
  connects: () => number;
  disconnects: () => number;
}

async function setup(options: EventStreamOptions = {}, routes?: (app: express.Express, es: EventStream) => void): Promise<Setup> {
  let connects = 0;
  let disconnects = 0;
  const es = new EventStream({
    keepAliveInterval: 60_000,
    ...options,
    onConnect: (info) => {
      connects++;
      options.onConnect?.(info);
    },
    onDisconnect: (info) => {
      disconnects++;
      options.onDisconnect?.(info);
    },
  });
  const app = express();
  if (routes) routes(app, es);
  else {
    app.get('/a', es('a'));
    app.get('/ab', es('a', 'b'));
    app.get('/abc', es('a', 'b', 'c'));
  }
  const srv = await listen(app);
  cleanups.push(() => srv.close(), () => es.close());
  return { es, srv, connects: () => connects, disconnects: () => disconnects };
}

const numbersOf = (events: SseEvent[]): number[] => events.map((e) => JSON.parse(e.data) as number);

async function publishRange(es: EventStream, channel: string, from: number, to: number): Promise<void> {
  for (let n = from; n < to; n++) await es.publishEvent(channel, { event: 'm', data: n });
}

/** Opens a client on `path`, lets it collect `count` data events, and returns it (still open). */
async function collect(srv: TestServer, path: string, count: number, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(srv.url + path, { headers });
  await client.waitForOpen();
  if (count > 0) await client.waitForData(count);
  return client;
}

describe('resume on one channel', () => {
  it('assigns increasing decimal ids and resumes exactly after the Last-Event-ID header', async () => {
    const { es, srv, disconnects } = await setup();
    const first = await collect(srv, '/a', 0);
    await publishRange(es, 'a', 0, 5);
    await first.waitForData(5);
    expect(numbersOf(first.data)).toEqual([0, 1, 2, 3, 4]);
    const ids = first.data.map((e) => e.id!);
    for (const id of ids) expect(id).toMatch(/^\d+$/);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!)).toBeGreaterThan(BigInt(ids[i - 1]!));

    await first.close();
    await until(() => disconnects() === 1, 2000, 'server saw the disconnect');
    await publishRange(es, 'a', 5, 10);

    const second = await collect(srv, '/a', 5, { 'last-event-id': first.lastId! });
    await publishRange(es, 'a', 10, 12);
    await second.waitForData(7);
    expect(second.status).toBe(200);
    expect(second.events[0]!.event).toBe('stream-open');
    expect(second.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
    expect(numbersOf(second.data)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    // The replayed events carry the very ids live clients saw.
    const all = [...first.data, ...second.data].map((e) => e.id);
    expect(new Set(all).size).toBe(all.length);
  });

  it.each([
    ['lastEventId', (id: string) => `?lastEventId=${encodeURIComponent(id)}`],
    ['last_event_id', (id: string) => `?last_event_id=${encodeURIComponent(id)}`],
  ])('resumes from the ?%s= query parameter', async (_name, query) => {
    const { es, srv } = await setup();
    const first = await collect(srv, '/a', 0);
    await publishRange(es, 'a', 0, 6);
    await first.waitForData(6);
    const resumeFrom = first.data[2]!.id!;
    await first.close();

    const second = await collect(srv, `/a${query(resumeFrom)}`, 3);
    await publishRange(es, 'a', 6, 7);
    await second.waitForData(4);
    expect(second.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
    expect(numbersOf(second.data)).toEqual([3, 4, 5, 6]);
  });

  it('prefers the Last-Event-ID header over the query parameters', async () => {
    const { es, srv } = await setup();
    const first = await collect(srv, '/a', 0);
    await publishRange(es, 'a', 0, 10);
    await first.waitForData(10);
    const ids = first.data.map((e) => e.id!);
    await first.close();

    const second = await collect(srv, `/a?lastEventId=${ids[2]}&last_event_id=${ids[4]}`, 2, { 'last-event-id': ids[7]! });
    expect(numbersOf(second.data)).toEqual([8, 9]);
    // And between the two query names, `lastEventId` wins.
    const third = await collect(srv, `/a?last_event_id=${ids[4]}&lastEventId=${ids[2]}`, 7);
    expect(numbersOf(third.data)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('a client with no Last-Event-ID gets no replay, only live events', async () => {
    const { es, srv } = await setup();
    await publishRange(es, 'a', 0, 3);
    const client = await collect(srv, '/a', 0);
    await publishRange(es, 'a', 3, 5);
    await client.waitForData(2);
    expect(numbersOf(client.data)).toEqual([3, 4]);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'm', 'm']);
  });

  it("the eventsource package reconnects by itself with Last-Event-ID and ends with every event exactly once", async () => {
    // The reconnect is held in `authorize` until the outage publishes are done, so they are
    // guaranteed to happen while the client is away (no timing luck involved).
    let gate: Promise<void> | undefined;
    let openGate: () => void = () => {};
    const { es, srv, connects, disconnects } = await setup({
      retry: 20,
      authorize: async () => {
        if (gate !== undefined) await gate;
        return true;
      },
    });
    const sentLastEventIds: Array<string | null> = [];
    const recordingFetch: typeof fetch = (input, init) => {
      sentLastEventIds.push(new Headers(init?.headers).get('last-event-id'));
      return fetch(input, init);
    };
    const source = new EventSource(`${srv.url}/a`, { fetch: recordingFetch });
    cleanups.push(() => source.close());
    const got: Array<{ id: string; n: number }> = [];
    let notify = (): void => {};
    source.addEventListener('m', (e) => {
      got.push({ id: e.lastEventId, n: JSON.parse(e.data) as number });
      notify();
    });
    const receivedAtLeast = (count: number): Promise<void> =>
      within(
        new Promise<void>((resolve) => {
          notify = () => got.length >= count && resolve();
          notify();
        }),
        5000,
        `eventsource received ${count} events (has ${got.length})`,
      );
    await until(() => connects() === 1, 5000, 'first connection');
    await publishRange(es, 'a', 0, 5);
    await receivedAtLeast(5);

    gate = new Promise((resolve) => (openGate = resolve));
    srv.server.closeAllConnections(); // the server cuts the stream; it keeps listening
    await until(() => disconnects() === 1, 2000, 'server saw the cut');
    await until(() => sentLastEventIds.length === 2, 5000, 'eventsource tried to reconnect');
    await publishRange(es, 'a', 5, 10); // during the outage
    openGate();
    await until(() => connects() === 2, 5000, 'reconnected');
    await publishRange(es, 'a', 10, 15);
    await receivedAtLeast(15);

    expect(sentLastEventIds[0]).toBeNull();
    expect(sentLastEventIds[1]).toBe(got[4]!.id);
    expect(got.map((e) => e.n)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(new Set(got.map((e) => e.id)).size).toBe(15);
  });
});

describe('resume across channels with one Last-Event-ID', () => {
  it('replays exactly the missed events of the client’s channels, in publish order', async () => {
    const { es, srv } = await setup();
    const plan = 'abcabbacbcaacbbbacab'.split('');
    let n = 0;
    const publishPlan = async (): Promise<Array<{ channel: string; n: number }>> => {
      const done: Array<{ channel: string; n: number }> = [];
      for (const channel of plan) {
        await es.publishEvent(channel, { event: 'm', data: n });
        done.push({ channel, n: n++ });
      }
      return done;
    };
    const first = await collect(srv, '/ab', 0);
    const before = await publishPlan();
    const expectedBefore = before.filter((p) => p.channel !== 'c').map((p) => p.n);
    await first.waitForData(expectedBefore.length);
    expect(numbersOf(first.data)).toEqual(expectedBefore);
    await first.close();

    const missed = await publishPlan();
    const expectedMissed = missed.filter((p) => p.channel !== 'c').map((p) => p.n);
    const second = await collect(srv, '/ab', expectedMissed.length, { 'last-event-id': first.lastId! });
    expect(second.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
    expect(numbersOf(second.data)).toEqual(expectedMissed);
    const ids = second.data.map((e) => BigInt(e.id!));
    for (let i = 1; i < ids.length; i++) expect(ids[i]!).toBeGreaterThan(ids[i - 1]!);
  });

  it('an id from a channel the client does not listen to still orders the replay', async () => {
    const { es, srv } = await setup();
    const everything = await collect(srv, '/abc', 0);
    for (const [i, channel] of ['a', 'c', 'b', 'c', 'a', 'b'].entries()) await es.publishEvent(channel, { event: 'm', data: i });
    await everything.waitForData(6);
    const idOfFirstC = everything.data[1]!.id!;
    const resumed = await collect(srv, '/ab', 3, { 'last-event-id': idOfFirstC });
    expect(numbersOf(resumed.data)).toEqual([2, 4, 5]);
    expect(resumed.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
  });
});

describe('publisher-provided ids', () => {
  it('sends the publisher’s id and resumes from it, mixed with generated ids', async () => {
    const { es, srv } = await setup();
    const client = await collect(srv, '/ab', 0);
    await es.publishEvent('a', { event: 'm', data: 0, id: 'order-0' });
    await es.publishEvent('b', { event: 'm', data: 1 });
    await es.publishEvent('a', { event: 'm', data: 2, id: 'order-2' });
    await es.publishEvent('b', { event: 'm', data: 3, id: 'x:y/z=é' });
    await es.publishEvent('a', { event: 'm', data: 4 });
    await client.waitForData(5);
    expect(client.data[0]!.id).toBe('order-0');
    expect(client.data[1]!.id).toMatch(/^\d+$/);
    expect(client.data[3]!.id).toBe('x:y/z=é');
    await client.close();

    const fromCustom = await collect(srv, '/ab', 3, { 'last-event-id': 'order-0' });
    expect(numbersOf(fromCustom.data)).toEqual([1, 2, 3, 4]);
    expect(fromCustom.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
    const fromGenerated = await collect(srv, '/ab', 2, { 'last-event-id': client.data[1]!.id! });
    expect(numbersOf(fromGenerated.data)).toEqual([2, 3, 4]);
    const fromQuery = await collect(srv, `/ab?lastEventId=${encodeURIComponent('x:y/z=é')}`, 1);
    expect(numbersOf(fromQuery.data)).toEqual([4]);
    expect(fromQuery.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
  });

  it.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['CRLF', 'a\r\nb'],
    ['NUL', 'a\u0000b'],
    ['trailing LF', 'abc\n'],
  ])('rejects an id with %s with InvalidEventError and delivers nothing', async (_name, id) => {
    const { es, srv } = await setup();
    const client = await collect(srv, '/a', 0);
    const before = es.stats().eventsPublished;
    await expect(es.publishEvent('a', { event: 'm', data: 1, id })).rejects.toBeInstanceOf(InvalidEventError);
    await expect(es.publishEvent('a', { event: 'm', data: 1, id })).rejects.toMatchObject({ code: 'ERR_INVALID_EVENT' });
    // A batch with one bad id writes none of its events.
    await expect(
      es.publishEvents('a', [
        { event: 'm', data: 'ok' },
        { event: 'm', data: 'bad', id },
      ]),
    ).rejects.toBeInstanceOf(InvalidEventError);
    await expect(es.getChannelPublisher('a').publishEvent({ event: 'm', data: 1, id })).rejects.toBeInstanceOf(InvalidEventError);
    expect(es.stats().eventsPublished).toBe(before);
    await es.publishEvent('a', { event: 'm', data: 'after' });
    await client.waitForData(1);
    expect(client.data.map((e) => e.data)).toEqual(['"after"']);
    // Nothing of the rejected events made it into history either.
    const resumed = await collect(srv, '/a?lastEventId=nope', 1);
    expect(resumed.data.map((e) => e.data)).toEqual(['"after"']);
  });

  it.each([
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
  ])('rejects an event name with %s', async (_name, event) => {
    const { es } = await setup();
    await expect(es.publishEvent('a', { event, data: 1 })).rejects.toBeInstanceOf(InvalidEventError);
  });

  // BUG (see report): the HTML spec has browsers send Last-Event-ID as the id "encoded as UTF-8";
  // Node (and fetch's Headers) hand header values over byte-per-char (latin1), so readLastEventId
  // (src/request/lastEventId.ts) looks up "cafÃ©-1" and the resume is reported truncated.
  it('resumes from a non-ASCII publisher id sent UTF-8-encoded in the header, as browsers send it', async () => {
    const { es, srv } = await setup();
    for (const [i, id] of ['café-1', '事件-2', 'ok-3'].entries()) await es.publishEvent('a', { event: 'm', data: i, id });
    const reply = await rawRequest(srv.port, rawGet('/a', { 'Last-Event-ID': Buffer.from('café-1', 'utf8') }), {
      until: (text) => text.includes('ok-3') || text.includes(HISTORY_TRUNCATED_EVENT),
      ms: 3000,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).not.toContain(HISTORY_TRUNCATED_EVENT);
    expect(reply.body).toContain('id: 事件-2');
  });

  // BUG (minor, see report): an id with leading/trailing blanks passes assertFieldValue and is
  // sent as-is, but HTTP strips the blanks (OWS) from the Last-Event-ID header the client sends
  // back, so the lookup misses and the client gets history-truncated plus a full replay.
  it('a publisher id with leading/trailing spaces is either refused or resumable from the header', async () => {
    const { es, srv } = await setup();
    let accepted = true;
    try {
      await es.publishEvent('a', { event: 'm', data: 0, id: ' spaced ' });
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidEventError);
      accepted = false;
    }
    if (!accepted) return;
    await es.publishEvent('a', { event: 'm', data: 1 });
    const resumed = await collect(srv, '/a', 1, { 'last-event-id': ' spaced ' });
    expect(resumed.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
    expect(numbersOf(resumed.data)).toEqual([1]);
  });
});
