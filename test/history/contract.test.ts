import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FROM_START, MemoryHistory, RedisHistory, type HistoryOptions, type HistoryStore } from '../../src/index.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';

// One contract, every store: what the request and publish paths rely on must hold for the
// in-memory store and for the shared Redis store alike.

let redis: RedisInstance | undefined;
const hasRedis = requireRedis();
beforeAll(async () => {
  if (hasRedis) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

type Factory = (options?: HistoryOptions) => HistoryStore;
const stores: Array<[string, Factory]> = [['MemoryHistory', (options) => new MemoryHistory(options)]];
if (hasRedis) {
  stores.push([
    'RedisHistory',
    (options) => new RedisHistory({ ...options, redis: redis!.url, keyPrefix: `contract-${randomUUID()}:` }),
  ]);
}

async function appendAll(store: HistoryStore, items: Array<[string, string, string?]>) {
  const records = [];
  for (const [channel, data, id] of items) records.push((await store.append(channel, [{ event: 'm', data, id }]))[0]!);
  return records;
}

describe.each(stores)('%s honours the HistoryStore contract', (_name, make) => {
  it('orders every channel in one sequence and makes ids from it', async () => {
    const store = make();
    const records = await appendAll(store, [['a', '1'], ['b', '2'], ['a', '3']]);
    expect(records.map((r) => r.seq)).toEqual([...records.map((r) => r.seq)].sort((x, y) => x - y));
    expect(new Set(records.map((r) => r.seq)).size).toBe(3);
    expect(records.map((r) => r.id)).toEqual(records.map((r) => String(r.seq)));
    await store.close?.();
  });

  it('chains prev-ids per channel', async () => {
    const store = make();
    const [a1, b1, a2] = await appendAll(store, [['a', '1'], ['b', '2'], ['a', '3']]);
    expect(a1!.prevId).toBeUndefined();
    expect(b1!.prevId).toBeUndefined();
    expect(a2!.prevId).toBe(a1!.id);
    await store.close?.();
  });

  it('replays what came after an id, merged across channels in publish order', async () => {
    const store = make();
    const [first, ...rest] = await appendAll(store, [['a', '1'], ['b', '2'], ['c', 'x'], ['a', '3'], ['b', '4']]);
    const replay = await store.readAfter(['a', 'b'], first!.id);
    expect(replay.complete).toBe(true);
    expect(replay.records.map((r) => r.data)).toEqual(['2', '3', '4']);
    expect(replay.records.map((r) => r.seq)).toEqual(rest.filter((r) => r.channel !== 'c').map((r) => r.seq));
    await store.close?.();
  });

  it('resumes from a publisher id', async () => {
    const store = make();
    await appendAll(store, [['a', '1', 'order-1'], ['a', '2', 'order-2'], ['a', '3']]);
    const replay = await store.readAfter(['a'], 'order-1');
    expect(replay).toMatchObject({ complete: true });
    expect(replay.records.map((r) => [r.id, r.data])).toEqual([
      ['order-2', '2'],
      [expect.stringMatching(/^\d+$/), '3'],
    ]);
    await store.close?.();
  });

  it('keeps maxEvents per channel and says a resume from before them is incomplete', async () => {
    const store = make({ maxEvents: 3 });
    const records = await appendAll(store, Array.from({ length: 8 }, (_, i) => ['a', String(i)] as [string, string]));
    const fromStart = await store.readAfter(['a'], records[0]!.id);
    expect(fromStart.complete).toBe(false);
    expect(fromStart.records.map((r) => r.data)).toEqual(['5', '6', '7']);
    const fromEdge = await store.readAfter(['a'], records[4]!.id);
    expect(fromEdge.complete).toBe(true);
    expect(fromEdge.records.map((r) => r.data)).toEqual(['5', '6', '7']);
    await store.close?.();
  });

  it('forgets events older than maxAge', async () => {
    const store = make({ maxAge: 150 });
    const [old] = await appendAll(store, [['a', 'old'], ['a', 'older']]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // age is the point here
    await appendAll(store, [['a', 'new']]);
    const replay = await store.readAfter(['a'], old!.id);
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(['new']);
    await store.close?.();
  });

  it.each(['nope', '-1', '99999999999999999', '1e5'])('treats %j as unknown: everything kept, incomplete', async (id) => {
    const store = make();
    await appendAll(store, [['a', '1'], ['a', '2']]);
    const replay = await store.readAfter(['a'], id);
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(['1', '2']);
    await store.close?.();
  });

  // Per-room ids: each room counts its own events, so the same id names an event in each room.
  async function twoRooms(store: HistoryStore) {
    const a = [1, 2, 3, 4, 5].map((i): [string, string, string] => ['room-A', `A${i}`, String(i)]);
    const b = [1, 2, 3].map((i): [string, string, string] => ['room-B', `B${i}`, String(i)]);
    return appendAll(store, [...a, ...b]);
  }

  it('looks a publisher id up in the stream\'s own channels: per-room ids resume each room exactly', async () => {
    const store = make();
    await twoRooms(store);
    const a = await store.readAfter(['room-A'], '3');
    expect(a.complete).toBe(true);
    expect(a.records.map((r) => r.data)).toEqual(['A4', 'A5']);
    const b = await store.readAfter(['room-B'], '2');
    expect(b.complete).toBe(true);
    expect(b.records.map((r) => r.data)).toEqual(['B3']);
    expect(await store.readAfter(['room-B'], '3')).toMatchObject({ records: [], complete: true });
    await store.close?.();
  });

  it('an id found in several of the stream\'s channels is ambiguous: incomplete, from the earliest of them', async () => {
    const store = make();
    await twoRooms(store);
    const replay = await store.readAfter(['room-A', 'room-B'], '2');
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(['A3', 'A4', 'A5', 'B1', 'B2', 'B3']);
    // Found in only one of the stream's channels: exact, merged in publish order.
    const fromA4 = await store.readAfter(['room-A', 'room-B'], '4');
    expect(fromA4.complete).toBe(true);
    expect(fromA4.records.map((r) => r.data)).toEqual(['A5', 'B1', 'B2', 'B3']);
    await store.close?.();
  });

  it('an id kept only in another channel is unknown to this stream', async () => {
    const store = make();
    await twoRooms(store);
    const replay = await store.readAfter(['room-B'], '5');
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(['B1', 'B2', 'B3']);
    await store.close?.();
  });

  it('reads FROM_START (GRIP last-id=-) as the channel\'s start: everything, complete until something is evicted', async () => {
    const store = make();
    await appendAll(store, [['a', '1'], ['b', '2'], ['a', '3']]);
    const replay = await store.readAfter(['a', 'quiet'], FROM_START);
    expect(replay.complete).toBe(true);
    expect(replay.records.map((r) => r.data)).toEqual(['1', '3']);
    await store.close?.();
  });

  it('tells each channel newest id (for GRIP prev-id)', async () => {
    const store = make();
    const [, b1, a2] = await appendAll(store, [['a', '1'], ['b', '2'], ['a', '3', 'custom']]);
    const ids = await store.lastIds!(['a', 'b', 'empty']);
    expect(Object.fromEntries(ids)).toEqual({ a: a2!.id, b: b1!.id });
    expect(a2!.id).toBe('custom');
    await store.close?.();
  });

  // Custom ids belong to their channel: the same id on two channels is two ids.
  it('resumes a channel from its own custom id when another channel reuses it', async () => {
    const store = make();
    await appendAll(store, [
      ...['1', '2', '3', '4', '5'].map((id) => ['room-A', `a${id}`, id] as [string, string, string]),
      ...['1', '2', '3'].map((id) => ['room-B', `b${id}`, id] as [string, string, string]),
    ]);
    const a = await store.readAfter(['room-A'], '3');
    expect(a.complete).toBe(true);
    expect(a.records.map((r) => r.data)).toEqual(['a4', 'a5']);
    const b = await store.readAfter(['room-B'], '3');
    expect(b.complete).toBe(true);
    expect(b.records).toEqual([]);
    await store.close?.();
  });

  it('says truncated when a custom id is found on several of the stream channels', async () => {
    const store = make();
    await appendAll(store, [['room-A', 'a1', 'x'], ['room-B', 'b1', 'x'], ['room-A', 'a2'], ['room-B', 'b2']]);
    const replay = await store.readAfter(['room-A', 'room-B'], 'x');
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(expect.arrayContaining(['a2', 'b2']));
    await store.close?.();
  });

  it('treats a custom id of another channel as unknown', async () => {
    const store = make();
    await appendAll(store, [['room-A', 'a1'], ['room-B', 'b1', 'only-b'], ['room-A', 'a2']]);
    const replay = await store.readAfter(['room-A'], 'only-b');
    expect(replay.complete).toBe(false);
    expect(replay.records.map((r) => r.data)).toEqual(['a1', 'a2']);
    await store.close?.();
  });

  it('keeps a batch in one piece: consecutive positions, chained prev-ids', async () => {
    const store = make();
    await appendAll(store, [['a', 'before']]);
    const batch = await store.append('a', Array.from({ length: 50 }, (_, i) => ({ event: 'm', data: String(i) })));
    expect(batch.map((r) => r.seq)).toEqual(batch.map((_, i) => batch[0]!.seq + i));
    expect(batch.slice(1).map((r) => r.prevId)).toEqual(batch.slice(0, -1).map((r) => r.id));
    const replay = await store.readAfter(['a'], batch[9]!.id);
    expect(replay).toMatchObject({ complete: true });
    expect(replay.records.map((r) => r.data)).toEqual(batch.slice(10).map((r) => r.data));
    await store.close?.();
  });
});
