/**
 * Publisher ids need only be unique within a channel (docs/ids-history-resume.md): a
 * Last-Event-ID that a stream's other channel still keeps may be the one an evicted event of
 * this channel carried. The in-memory store cannot tell which the client saw, so the resume
 * must start with `history-truncated`, never skip what the client missed. A real node:http
 * server, the `eventsource` package as the live client, a raw client for the resume.
 */
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT, MemoryHistory, type EventStreamOptions } from '../../src/index.js';
import { listen, SseClient, within, type TestServer } from '../support/resume-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: EventStreamOptions): Promise<{ es: EventStream; srv: TestServer }> {
  const es = new EventStream({ keepAliveInterval: 60_000, ...options });
  const route = es('room-a', 'room-b');
  const srv = await listen((req, res) => void route(req, res));
  cleanups.push(() => srv.close(), () => es.close());
  return { es, srv };
}

/** A live `eventsource` client on both rooms that gets room-a's '1', then goes away. */
async function clientThatSawRoomA1(es: EventStream, srv: TestServer): Promise<string> {
  const source = new EventSource(`${srv.url}/`);
  try {
    const got = new Promise<MessageEvent>((resolve) => source.addEventListener('m', (e) => resolve(e)));
    await within(new Promise<void>((resolve) => source.addEventListener('stream-open', () => resolve())), 5000, 'stream-open');
    await es.publishEvent('room-a', { event: 'm', data: 'a1', id: '1' });
    const event = await within(got, 5000, "room-a's event 1");
    expect(event.data).toBe('"a1"');
    return event.lastEventId;
  } finally {
    source.close();
  }
}

/** Resumes with `lastEventId` and reads until a live marker, which bounds "everything replayed". */
async function resume(es: EventStream, srv: TestServer, lastEventId: string): Promise<{ truncated: boolean; data: string[] }> {
  const client = await SseClient.open(`${srv.url}/`, { headers: { 'last-event-id': lastEventId } });
  try {
    await client.waitForOpen();
    await es.publishEvent('room-b', { event: 'm', data: 'live' });
    await client.waitFor((c) => c.data.some((e) => e.data === '"live"'), 5000, 'the live marker');
    const data = client.data.map((e) => JSON.parse(e.data) as string);
    return { truncated: client.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT), data: data.slice(0, data.indexOf('live')) };
  } finally {
    await client.close();
  }
}

describe('per-channel publisher ids across a multi-channel stream (in-memory history)', () => {
  it("room-a's evicted '1' beside room-b's kept '1': the resume says history-truncated and replays all that is kept", async () => {
    const { es, srv } = await serve({ history: { maxEvents: 3 } });
    const seen = await clientThatSawRoomA1(es, srv);
    expect(seen).toBe('1');
    // room-a keeps 2..4 (its '1' is evicted), then room-b gets its own '1' and '2'.
    for (const n of ['2', '3', '4']) await es.publishEvent('room-a', { event: 'm', data: `a${n}`, id: n });
    for (const n of ['1', '2']) await es.publishEvent('room-b', { event: 'm', data: `b${n}`, id: n });

    const got = await resume(es, srv, seen);
    expect(got.truncated).toBe(true);
    // Everything the client missed is among what it gets (before the fix: only b2).
    expect(got.data).toEqual(['a2', 'a3', 'a4', 'b1', 'b2']);
  });

  it('the same when room-a\'s \'1\' left by age (maxAge)', async () => {
    let now = Date.now();
    const history = new MemoryHistory({ maxAge: 1000 }, () => now);
    const { es, srv } = await serve({ history });
    const seen = await clientThatSawRoomA1(es, srv);
    now += 600;
    for (const n of ['2', '3', '4']) await es.publishEvent('room-a', { event: 'm', data: `a${n}`, id: n });
    // room-a's '1' is now older than maxAge: the next publish evicts it.
    now += 600;
    for (const n of ['1', '2']) await es.publishEvent('room-b', { event: 'm', data: `b${n}`, id: n });
    await es.publishEvent('room-a', { event: 'm', data: 'a5', id: '5' });

    const got = await resume(es, srv, seen);
    expect(got.truncated).toBe(true);
    expect(got.data).toEqual(['a2', 'a3', 'a4', 'b1', 'b2', 'a5']);
  });

  it("room-b's kept '1' still resumes exactly while room-a evicted only ids the store made", async () => {
    const { es, srv } = await serve({ history: { maxEvents: 3 } });
    for (let n = 0; n < 5; n++) await es.publishEvent('room-a', { event: 'm', data: `a-default-${n}` });
    for (const n of ['1', '2']) await es.publishEvent('room-b', { event: 'm', data: `b${n}`, id: n });
    const got = await resume(es, srv, '1');
    expect(got.truncated).toBe(false);
    expect(got.data).toEqual(['b2']);
  });

  it('ids the store made stay exact on a stream whose channels evicted publisher ids', async () => {
    const { es, srv } = await serve({ history: { maxEvents: 3 } });
    for (const n of ['1', '2', '3', '4']) await es.publishEvent('room-a', { event: 'm', data: `a${n}`, id: n });
    const client = await SseClient.open(`${srv.url}/`);
    await client.waitForOpen();
    await es.publishEvent('room-b', { event: 'm', data: 'b-default' });
    await client.waitForData(1);
    const generated = client.data[0]!.id!;
    await client.close();
    await es.publishEvent('room-b', { event: 'm', data: 'b-next', id: 'x' });
    const got = await resume(es, srv, generated);
    expect(got.truncated).toBe(false);
    expect(got.data).toEqual(['b-next']);
  });
});
