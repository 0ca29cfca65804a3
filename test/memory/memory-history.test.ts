/**
 * History retention and truncation: MemoryHistory as a unit (injected clock, no waiting), and
 * the `history-truncated` notice end to end on a real server.
 */
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  EventStream,
  FROM_START,
  HISTORY_TRUNCATED_EVENT,
  InvalidConfigError,
  InvalidEventError,
  MemoryHistory,
  type EventStreamOptions,
  type HistoryRecord,
} from '../../src/index.js';
import { channelBytes, EVENT_OVERHEAD_BYTES } from '../../src/memory/RecordArena.js';
import { listen, SseClient, type SseEvent, type TestServer } from '../support/resume-helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function fill(store: MemoryHistory, channel: string, count: number, from = 0): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  for (let i = 0; i < count; i++) records.push(store.append(channel, [{ event: 'm', data: String(from + i) }])[0]!);
  return records;
}

// What the byte bounds count per event: UTF-8 of event name, id and data, plus fixed bookkeeping.
const sizeOf = (event: string, data: string, id = ''): number =>
  Buffer.byteLength(event) + Buffer.byteLength(id) + Buffer.byteLength(data) + EVENT_OVERHEAD_BYTES;
const dataOf = (records: readonly { data: string }[]): string[] => records.map((r) => r.data);

describe('MemoryHistory (unit, injected clock)', () => {
  it('numbers events from the clock in microseconds, one sequence for all channels', () => {
    const c = clock();
    const store = new MemoryHistory({}, c.now);
    const a = store.append('a', [{ event: 'm', data: '1' }])[0]!;
    const b = store.append('b', [{ event: 'm', data: '2' }])[0]!;
    const a2 = store.append('a', [{ event: 'm', data: '3' }])[0]!;
    expect(a.seq).toBe(c.now() * 1000 + 1);
    expect([a.id, b.id, a2.id]).toEqual([String(a.seq), String(a.seq + 1), String(a.seq + 2)]);
    expect(a2.prevId).toBe(a.id);
    expect(b.prevId).toBeUndefined();
  });

  it('keep() keeps a batch like append() and gives its first position; append() after it links to it', () => {
    const c = clock();
    const store = new MemoryHistory({}, c.now);
    const first = store.keep('a', [
      { event: 'm', data: '1' },
      { event: 'm', data: '2', id: 'own' },
      { event: 'm', data: '3' },
    ]);
    expect(first).toBe(c.now() * 1000 + 1);
    const [next] = store.append('a', [{ event: 'm', data: '4' }]);
    expect(next!.seq).toBe(first + 3);
    expect(next!.prevId).toBe(String(first + 2));
    const replay = store.readAfter(['a'], FROM_START);
    expect(replay.records.map((r) => [r.seq, r.id, r.data])).toEqual([
      [first, String(first), '1'],
      [first + 1, 'own', '2'],
      [first + 2, String(first + 2), '3'],
      [first + 3, String(first + 3), '4'],
    ]);
    // All or nothing, like append: a bad event keeps none of its batch.
    expect(() => store.keep('a', [{ event: 'm', data: '5' }, { event: 'm', data: 6 as unknown as string }])).toThrow(InvalidEventError);
    expect(store.size).toBe(4);
  });

  it('maxEvents: a resume from before the retained window is incomplete and gets the retained events', () => {
    const store = new MemoryHistory({ maxEvents: 5 }, clock().now);
    const records = fill(store, 'a', 20);
    expect(store.size).toBe(5);
    const fromFirst = store.readAfter(['a'], records[0]!.id);
    expect(fromFirst.complete).toBe(false);
    expect(dataOf(fromFirst.records)).toEqual(['15', '16', '17', '18', '19']);
    // Resuming from the last evicted event loses nothing.
    const fromEdge = store.readAfter(['a'], records[14]!.id);
    expect(fromEdge.complete).toBe(true);
    expect(dataOf(fromEdge.records)).toEqual(['15', '16', '17', '18', '19']);
    const fromLast = store.readAfter(['a'], records[19]!.id);
    expect(fromLast).toMatchObject({ records: [], complete: true });
  });

  it.each(['nope', '', '-1', '1e99', '99999999999999999999', '12abc', ' 1'])(
    'an unknown or malformed id (%j) is incomplete and gets everything retained',
    (id) => {
      const store = new MemoryHistory({ maxEvents: 5 }, clock().now);
      fill(store, 'a', 7);
      const replay = store.readAfter(['a'], id);
      expect(replay.complete).toBe(false);
      expect(dataOf(replay.records)).toEqual(['2', '3', '4', '5', '6']);
    },
  );

  it('an id from the future (never handed out) is unknown', () => {
    const store = new MemoryHistory({}, clock().now);
    const [last] = fill(store, 'a', 3).slice(-1);
    const replay = store.readAfter(['a'], String(last!.seq + 1));
    expect(replay.complete).toBe(false);
    expect(replay.records).toHaveLength(3);
  });

  it('an id from before a restart (a previous store) is incomplete', () => {
    const c = clock();
    const before = new MemoryHistory({}, c.now);
    const old = fill(before, 'a', 3);
    c.advance(5_000); // the restart
    const after = new MemoryHistory({}, c.now);
    fill(after, 'a', 4, 100);
    const replay = after.readAfter(['a'], old[2]!.id);
    expect(replay.complete).toBe(false);
    expect(dataOf(replay.records)).toEqual(['100', '101', '102', '103']);
  });

  it('maxAge: expired events are evicted on read and a resume from before them is incomplete', () => {
    const c = clock();
    const store = new MemoryHistory({ maxAge: 50 }, c.now);
    const early = fill(store, 'a', 3);
    c.advance(30);
    const late = fill(store, 'a', 2, 3);
    expect(store.readAfter(['a'], early[0]!.id)).toMatchObject({ complete: true });
    c.advance(21); // the first three are now 51 ms old
    const replay = store.readAfter(['a'], early[0]!.id);
    expect(replay.complete).toBe(false);
    expect(dataOf(replay.records)).toEqual(['3', '4']);
    expect(store.readAfter(['a'], early[2]!.id).complete).toBe(true);
    c.advance(30);
    const empty = store.readAfter(['a'], late[1]!.id);
    expect(empty).toMatchObject({ records: [], complete: true });
    expect(store.readAfter(['a'], late[0]!.id).complete).toBe(false);
  });

  it('custom ids resume until evicted, then count as unknown', () => {
    const store = new MemoryHistory({ maxEvents: 3 }, clock().now);
    store.append('a', [{ event: 'm', data: '0', id: 'first' }])[0]!;
    store.append('a', [{ event: 'm', data: '1', id: 'second' }])[0]!;
    store.append('a', [{ event: 'm', data: '2' }])[0]!;
    expect(store.readAfter(['a'], 'first')).toMatchObject({ complete: true });
    expect(dataOf(store.readAfter(['a'], 'first').records)).toEqual(['1', '2']);
    store.append('a', [{ event: 'm', data: '3' }])[0]!;
    const replay = store.readAfter(['a'], 'first');
    expect(replay.complete).toBe(false);
    expect(dataOf(replay.records)).toEqual(['1', '2', '3']);
    expect(store.readAfter(['a'], 'second').complete).toBe(true);
  });

  it('an id the publisher reused within a channel is ambiguous: incomplete, from the earliest', () => {
    const store = new MemoryHistory({}, clock().now);
    for (const [data, id] of [['0', 'x'], ['1', 'y'], ['2', 'x'], ['3', undefined]] as const) {
      store.append('a', [{ event: 'm', data, id }]);
    }
    const replay = store.readAfter(['a'], 'x');
    expect(replay.complete).toBe(false);
    expect(dataOf(replay.records)).toEqual(['1', '2', '3']);
    expect(store.readAfter(['a'], 'y')).toMatchObject({ complete: true });
  });

  it('ids are compared as whole strings, non-ASCII included', () => {
    const store = new MemoryHistory({}, clock().now);
    store.append('a', [{ event: 'm', data: '0', id: 'café-1' }]);
    store.append('a', [{ event: 'm', data: '1', id: 'café-12' }]);
    store.append('a', [{ event: 'é', data: 'ü€😀', id: 'café' }]);
    expect(dataOf(store.readAfter(['a'], 'café-1').records)).toEqual(['1', 'ü€😀']);
    expect(store.readAfter(['a'], 'café-12').records).toMatchObject([{ id: 'café', event: 'é', data: 'ü€😀' }]);
    expect(store.readAfter(['a'], 'cafe-1').complete).toBe(false);
  });

  it('merges channels in global publish order and reports truncation per channel', () => {
    const store = new MemoryHistory({ maxEvents: 4 }, clock().now);
    const order = 'abbaabbbbbab'.split('');
    const records = order.map((ch, i) => store.append(ch, [{ event: 'm', data: String(i) }])[0]!);
    // b keeps its last 4 (7, 8, 9, 11): 6 and before are gone from b.
    const replay = store.readAfter(['a', 'b'], records[5]!.id);
    expect(replay.complete).toBe(false);
    expect(dataOf(replay.records)).toEqual(['7', '8', '9', '10', '11']);
    expect(replay.records.map((r) => r.seq)).toEqual([...replay.records.map((r) => r.seq)].sort((x, y) => x - y));
    // a alone lost nothing after 5.
    expect(store.readAfter(['a'], records[5]!.id)).toMatchObject({ complete: true });
    // A channel that never had an event loses nothing.
    expect(store.readAfter(['zzz'], records[5]!.id)).toMatchObject({ records: [], complete: true });
  });

  /** A store whose channel `a` had 10 events, all expired and swept (the empty channel dropped). */
  function sweptStore(): { store: MemoryHistory; records: HistoryRecord[] } {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const c = clock();
    const store = new MemoryHistory({ maxAge: 50 }, c.now);
    cleanups.push(() => store.close());
    const records = fill(store, 'a', 10);
    c.advance(100);
    vi.advanceTimersByTime(1_000); // the sweep drops the empty channel
    return { store, records };
  }

  it('a channel whose events all expired and were swept reports truncation to an old id', () => {
    const { store, records } = sweptStore();
    expect(store.size).toBe(0);
    expect(store.readAfter(['a'], records[4]!.id)).toMatchObject({ records: [], complete: false });
  });

  // BUG (see report): sweep() → dropEmpty() folds the channel's evictedUpTo into the store-wide
  // `droppedUpTo`, but once the channel gets a new event logFor() creates a fresh log with
  // evictedUpTo = 0, and readAfter() only consults `droppedUpTo` for channels with no log.
  // The resume is reported complete although events 5..9 were lost. Fix: start new logs at
  // `evictedUpTo: this.droppedUpTo` (checked: this test then passes, the others still do).
  it('still reports truncation after the swept channel receives a new event', () => {
    const { store, records } = sweptStore();
    store.append('a', [{ event: 'm', data: 'new' }])[0]!;
    const replay = store.readAfter(['a'], records[4]!.id); // events 5..9 expired unseen
    expect(dataOf(replay.records)).toEqual(['new']);
    expect(replay.complete).toBe(false);
  });

  it('keeps its bounds under sustained load (compaction keeps order and content)', () => {
    const store = new MemoryHistory({ maxEvents: 100 }, clock().now);
    let last: HistoryRecord | undefined;
    for (let i = 0; i < 10_000; i++) last = store.append(i % 2 ? 'a' : 'b', [{ event: 'm', data: String(i) }])[0]!;
    expect(store.size).toBe(200);
    const replay = store.readAfter(['a', 'b'], String(last!.seq - 150));
    expect(replay.complete).toBe(true);
    expect(dataOf(replay.records)).toEqual(Array.from({ length: 150 }, (_, i) => String(9_850 + i)));
  });
});

describe('MemoryHistory byte bounds (unit)', () => {
  const kb = (n: number, fill = 'x'): string => fill.repeat(n * 1024);

  it('counts what it keeps in bytes', () => {
    const store = new MemoryHistory({}, clock().now);
    store.append('a', [{ event: 'm', data: 'é1' }, { event: 'm', data: 'x', id: 'ü' }]);
    expect(store.bytes).toBe(sizeOf('m', 'é1') + sizeOf('m', 'x', 'ü') + channelBytes('a'));
  });

  it('maxBytes per channel: the oldest go first, a resume from before them is incomplete', () => {
    const each = sizeOf('m', kb(10));
    const store = new MemoryHistory({ maxBytes: each * 3 }, clock().now);
    const records = Array.from({ length: 6 }, (_, i) => store.append('a', [{ event: 'm', data: kb(10, String(i)) }])[0]!);
    const other = store.append('b', [{ event: 'm', data: kb(10) }])[0]!;
    expect(store.size).toBe(4);
    expect(store.bytes).toBe(each * 4 + channelBytes('a') + channelBytes('b'));
    const fromStart = store.readAfter(['a'], records[0]!.id);
    expect(fromStart.complete).toBe(false);
    expect(fromStart.records.map((r) => r.data[0])).toEqual(['3', '4', '5']);
    expect(store.readAfter(['a'], records[2]!.id).complete).toBe(true);
    expect(store.readAfter(['b'], records[0]!.id)).toMatchObject({ records: [other], complete: true });
  });

  it('an event larger than maxBytes is handed out but not kept: a resume from before it is incomplete', () => {
    const store = new MemoryHistory({ maxBytes: 64 * 1024 }, clock().now);
    const small = store.append('a', [{ event: 'm', data: 'small' }])[0]!;
    const [big] = store.append('a', [{ event: 'm', data: kb(100) }]);
    expect(big).toMatchObject({ data: kb(100), prevId: small.id });
    expect(store.readAfter(['a'], small.id)).toMatchObject({ records: [], complete: false });
    const after = store.append('a', [{ event: 'm', data: 'next' }])[0]!;
    expect(after.prevId).toBeUndefined(); // the channel kept nothing to chain to
    expect(store.readAfter(['a'], big!.id)).toMatchObject({ records: [after], complete: true });
  });

  it('maxTotalBytes evicts the oldest events of the whole store, whatever their channel', () => {
    const each = sizeOf('m', kb(1));
    // Each channel with events counts too (issue 21): a, b and c all keep some.
    const store = new MemoryHistory({ maxTotalBytes: each * 4 + 3 * channelBytes('a') }, clock().now);
    const order = 'aabcacb'.split('');
    const records = order.map((ch, i) => store.append(ch, [{ event: 'm', data: kb(1, String(i)) }])[0]!);
    expect(store.size).toBe(4);
    expect(store.bytes).toBe(each * 4 + 3 * channelBytes('a'));
    // Kept: 3 (c), 4 (a), 5 (c), 6 (b); the three oldest (a, a, b) went first.
    const all = store.readAfter(['a', 'b', 'c'], String(records[0]!.seq - 1));
    expect(all.records.map((r) => r.data[0])).toEqual(['3', '4', '5', '6']);
    expect(all.complete).toBe(false);
    expect(store.readAfter(['c'], records[0]!.id)).toMatchObject({ complete: true });
    expect(store.readAfter(['a'], records[1]!.id)).toMatchObject({ complete: true });
    expect(store.readAfter(['a'], records[0]!.id)).toMatchObject({ complete: false });
    expect(store.readAfter(['b'], records[1]!.id)).toMatchObject({ complete: false });
  });

  it('store-wide eviction stays bounded when channels mostly evict themselves (stale queue entries)', () => {
    const store = new MemoryHistory({ maxEvents: 2, maxTotalBytes: 1024 * 1024 }, clock().now);
    const quiet = store.append('quiet', [{ event: 'm', data: 'q' }])[0]!;
    for (let i = 0; i < 50_000; i++) store.append(`c${i % 3}`, [{ event: 'm', data: String(i) }]);
    expect(store.size).toBe(7);
    expect(store.readAfter(['quiet'], String(quiet.seq - 1))).toMatchObject({ records: [quiet], complete: true });
    // Now the total bound bites: the quiet channel's event is the oldest of the store.
    for (let i = 0; i < 20; i++) store.append(`big${i}`, [{ event: 'm', data: kb(60) }]);
    expect(store.readAfter(['quiet'], String(quiet.seq - 1))).toMatchObject({ records: [], complete: false });
    expect(store.bytes).toBeLessThanOrEqual(1024 * 1024);
  });

  it.each([0, -1, Number.NaN, '8' as unknown as number])('refuses maxBytes / maxTotalBytes %j', (bad) => {
    expect(() => new MemoryHistory({ maxBytes: bad })).toThrow(InvalidConfigError);
    expect(() => new MemoryHistory({ maxTotalBytes: bad })).toThrow(InvalidConfigError);
  });

  it('refuses a batch with a non-string field before keeping any of it', () => {
    const store = new MemoryHistory({}, clock().now);
    const bad = [{ event: 'm', data: 'ok' }, { event: 'm', data: 1 as unknown as string }];
    expect(() => store.append('a', bad)).toThrow(InvalidEventError);
    expect(store.size).toBe(0);
  });
});

// The model-based property test of MemoryHistory is in history-arena.test.ts (both layouts).

describe('history-truncated on the wire', () => {
  async function serve(options: EventStreamOptions): Promise<{ es: EventStream; srv: TestServer }> {
    const es = new EventStream({ keepAliveInterval: 60_000, ...options });
    const app = express();
    app.get('/a', es('a'));
    app.get('/ab', es('a', 'b'));
    const srv = await listen(app);
    cleanups.push(() => srv.close(), () => es.close());
    return { es, srv };
  }

  /** Publishes `count` events on `a` and answers their ids, as a client watching `a` saw them. */
  async function idsOfPublished(es: EventStream, srv: TestServer, count = 20): Promise<string[]> {
    const watcher = await SseClient.open(`${srv.url}/a`);
    await watcher.waitForOpen();
    for (let i = 0; i < count; i++) await es.publishEvent('a', { event: 'm', data: i });
    await watcher.waitForData(count);
    await watcher.close();
    return watcher.data.map((e) => e.id!);
  }

  async function resume(srv: TestServer, path: string, lastEventId: string | undefined, expected: number): Promise<SseEvent[]> {
    const client = await SseClient.open(srv.url + path, { headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } });
    await client.waitFor((c) => c.data.length >= expected && c.events.length >= 1, 3000, `${expected} replayed`);
    await client.close();
    return client.events;
  }

  it('maxEvents 5, 20 published, resume from the first id: stream-open, history-truncated, the 5 retained', async () => {
    const { es, srv } = await serve({ history: { maxEvents: 5 } });
    const ids = await idsOfPublished(es, srv);
    const events = await resume(srv, '/a', ids[0], 5);
    expect(events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT, 'm', 'm', 'm', 'm', 'm']);
    expect(JSON.parse(events[1]!.data)).toEqual({ lastEventId: ids[0] });
    expect(events.slice(2).map((e) => e.data)).toEqual(['15', '16', '17', '18', '19']);
    expect(events.slice(2).map((e) => e.id)).toEqual(ids.slice(15));
  });

  it('resume from inside the retained window has no truncation notice', async () => {
    const { es, srv } = await serve({ history: { maxEvents: 5 } });
    const ids = await idsOfPublished(es, srv);
    const events = await resume(srv, '/a', ids[16], 3);
    expect(events.map((e) => e.event)).toEqual(['stream-open', 'm', 'm', 'm']);
    expect(events.slice(1).map((e) => e.data)).toEqual(['17', '18', '19']);
  });

  it('unknown id: history-truncated with that id, then everything retained', async () => {
    const { es, srv } = await serve({ history: { maxEvents: 5 } });
    await idsOfPublished(es, srv);
    const events = await resume(srv, '/a', 'no-such-id', 5);
    expect(events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId: 'no-such-id' }) });
    expect(events.slice(2).map((e) => e.data)).toEqual(['15', '16', '17', '18', '19']);
  });

  it('maxAge (injected clock): expired events are not replayed and the resume is flagged', async () => {
    const c = clock();
    const store = new MemoryHistory({ maxAge: 50 }, c.now);
    const { es, srv } = await serve({ history: store });
    for (let i = 0; i < 3; i++) await es.publishEvent('a', { event: 'm', data: i });
    c.advance(40);
    for (let i = 3; i < 5; i++) await es.publishEvent('a', { event: 'm', data: i });
    c.advance(20);
    const events = await resume(srv, '/a', 'unknown', 2);
    expect(events.map((e) => e.data).slice(2)).toEqual(['3', '4']);
    expect(events[1]!.event).toBe(HISTORY_TRUNCATED_EVENT);
  });

  it('maxAge (real clock, 50 ms): the same through the default store', async () => {
    const { es, srv } = await serve({ history: { maxAge: 50 } });
    const ids = await idsOfPublished(es, srv, 3);
    await new Promise((resolve) => setTimeout(resolve, 80)); // unavoidable: real expiry
    await es.publishEvent('a', { event: 'm', data: 3 });
    const events = await resume(srv, '/a', ids[0], 1);
    expect(events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT, 'm']);
    expect(events[2]!.data).toBe('3');
  });

  it('an id from before a restart gets history-truncated and what the new process kept', async () => {
    const c = clock();
    const first = await serve({ history: new MemoryHistory({}, c.now) });
    const oldIds = await idsOfPublished(first.es, first.srv);
    c.advance(2_000);
    const second = await serve({ history: new MemoryHistory({}, c.now) });
    for (let i = 100; i < 103; i++) await second.es.publishEvent('a', { event: 'm', data: i });
    const events = await resume(second.srv, '/a', oldIds[19], 3);
    expect(events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT, 'm', 'm', 'm']);
    expect(events.slice(2).map((e) => e.data)).toEqual(['100', '101', '102']);
  });

  it('multi-channel resume reports truncation when one of the channels lost events', async () => {
    const { es, srv } = await serve({ history: { maxEvents: 2 } });
    const w = await SseClient.open(`${srv.url}/ab`);
    await w.waitForOpen();
    await es.publishEvent('a', { event: 'm', data: 0 });
    for (let i = 1; i <= 4; i++) await es.publishEvent('b', { event: 'm', data: i });
    await es.publishEvent('a', { event: 'm', data: 5 });
    await w.waitForData(6);
    await w.close();
    const events = await resume(srv, '/ab', w.data[0]!.id, 3);
    expect(events[1]!.event).toBe(HISTORY_TRUNCATED_EVENT);
    expect(events.slice(2).map((e) => e.data)).toEqual(['3', '4', '5']);
  });

  it('per-room ids on two rooms: each room resumes exactly from its own id', async () => {
    const es = new EventStream({ keepAliveInterval: 60_000 });
    const app = express();
    app.get('/rooms/:room', es((req) => `room-${String(req.params!['room'])}`));
    app.get('/both', es('room-A', 'room-B'));
    const srv = await listen(app);
    cleanups.push(() => srv.close(), () => es.close());
    for (let i = 1; i <= 5; i++) await es.publishEvent('room-A', { event: 'm', data: `A${i}`, id: String(i) });
    for (let i = 1; i <= 3; i++) await es.publishEvent('room-B', { event: 'm', data: `B${i}`, id: String(i) });
    const a = await resume(srv, '/rooms/A', '3', 2);
    expect(a.map((e) => [e.event, e.id, e.data]).slice(1)).toEqual([['m', '4', '"A4"'], ['m', '5', '"A5"']]);
    const b = await resume(srv, '/rooms/B', '1', 2);
    expect(b.map((e) => e.data).slice(1)).toEqual(['"B2"', '"B3"']);
    // On a stream of both rooms '2' names two events: the client cannot be told it missed nothing.
    const both = await resume(srv, '/both', '2', 6);
    expect(both[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT });
    expect(both.slice(2).map((e) => e.data)).toEqual(['A3', 'A4', 'A5', 'B1', 'B2', 'B3'].map((d) => `"${d}"`));
  });

  it('history: false — a Last-Event-ID gets history-truncated (nothing can be vouched for), then live events', async () => {
    const { es, srv } = await serve({ history: false });
    const client = await SseClient.open(`${srv.url}/a`, { headers: { 'last-event-id': '123' } });
    await client.waitForOpen();
    await es.publishEvent('a', { event: 'm', data: 1, id: 'x' });
    await es.publishEvent('a', { event: 'm', data: 2 });
    await client.waitForData(2);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', 'history-truncated', 'm', 'm']);
    expect(client.data.map((e) => e.id)).toEqual(['x', undefined]);
  });
});
