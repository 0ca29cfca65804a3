import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HistoryError, RedisHistory, type HistoryRecord } from '../../src/index.js';
import { RedisTimeoutError } from '../../src/errors.js';
import { requireRedis, useRedis } from '../support/redis.js';

// The Redis store's own guarantees, against a real redis-server: exact truncation although
// trimming is approximate, bounded keys, epochs across a wipe, a bounded wait on a frozen Redis.

const hasRedis = requireRedis();

describe.runIf(hasRedis)('RedisHistory against a real Redis', () => {
  const redis = useRedis({ persistent: true });

  const store = (options: { maxEvents?: number; maxAge?: number; commandTimeout?: number; keyPrefix?: string } = {}) =>
    new RedisHistory({ redis: redis.url, keyPrefix: `t-${randomUUID()}:`, ...options });
  const batch = (from: number, n: number, ids = false) =>
    Array.from({ length: n }, (_, i) => ({ event: 'm', data: String(from + i), ...(ids ? { id: `c${from + i}` } : {}) }));

  it('reports truncation exactly at the edge of maxEvents, whatever approximate trimming left', async () => {
    const history = store({ maxEvents: 150 });
    const records = [];
    for (let i = 0; i < 1000; i += 10) records.push(...(await history.append('a', batch(i, 10))));
    const edge = await history.readAfter(['a'], records[849]!.id);
    expect(edge.complete).toBe(true);
    expect(edge.records.map((r) => r.data)).toEqual(records.slice(850).map((r) => r.data));
    const before = await history.readAfter(['a'], records[848]!.id);
    expect(before.complete).toBe(false);
    expect(before.records).toHaveLength(150);
    await history.close();
  });

  it('keeps the stream and the custom-id index bounded', async () => {
    const prefix = `t-${randomUUID()}:`;
    const history = store({ maxEvents: 20, keyPrefix: prefix });
    const records = [];
    for (let i = 0; i < 2000; i += 100) records.push(...(await history.append('a', batch(i, 100, true))));
    expect(Number(redis.cli('XLEN', `${prefix}{a}:s`))).toBeLessThanOrEqual(20 + 200);
    const indexed = Number(redis.cli('HLEN', `${prefix}{a}:i`)) + Number(redis.cli('HLEN', `${prefix}{a}:j`));
    expect(indexed).toBeLessThanOrEqual(2 * (20 + 128) + 100);
    expect(await history.readAfter(['a'], 'c1990')).toMatchObject({ complete: true });
    expect((await history.readAfter(['a'], 'c5')).complete).toBe(false);
    await history.close();
  });

  it('expires a quiet channel as a whole and still says what was lost', async () => {
    const prefix = `t-${randomUUID()}:`;
    const history = store({ maxAge: 100, keyPrefix: prefix });
    const [first] = await history.append('a', batch(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 250)); // age is the point here
    expect(redis.cli('EXISTS', `${prefix}{a}:s`)).toBe('0');
    const replay = await history.readAfter(['a'], first!.id);
    expect(replay).toMatchObject({ complete: false, records: [] });
    await history.close();
  });

  it('gathers concurrent publishes to a channel into few script calls, each call whole and in call order', async () => {
    // A generous budget: 2,000 calls on a loaded CI machine must not turn into timeouts.
    const history = store({ commandTimeout: 15_000 });
    await history.append('a', batch(0, 1));
    redis.cli('CONFIG', 'RESETSTAT');
    const calls = Array.from({ length: 2000 }, (_, i) => history.append('a', i % 10 === 0 ? batch(i * 10, 3) : batch(i * 10, 1)));
    const results = await Promise.all(calls);
    const seqs = results.flat().map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    for (const records of results) expect(records.map((r) => r.seq - records[0]!.seq)).toEqual(records.map((_, k) => k));
    for (const [i, records] of results.entries()) expect(records.map((r) => r.data)).toEqual(batch(i * 10, i % 10 === 0 ? 3 : 1).map((e) => e.data));
    const stats = redis.cli('INFO', 'commandstats');
    const scripts = Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    expect(scripts).toBeGreaterThan(0);
    expect(scripts).toBeLessThanOrEqual(5);
    await history.close();
  });

  it('rejects a publish to a frozen Redis within commandTimeout, and it never takes effect later', async () => {
    const history = store({ commandTimeout: 1000 });
    // Warm up (connection, script load) until one append is answered in time, however busy
    // the machine: the timeout under test is the frozen one below.
    let before: HistoryRecord | undefined;
    for (let attempt = 0; before === undefined && attempt < 10; attempt++) {
      before = (await history.append('a', batch(0, 1)).catch(() => []))[0];
    }
    expect(before).toBeDefined();
    redis.freeze();
    const started = Date.now();
    try {
      const error = await history.append('a', batch(1, 5)).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RedisTimeoutError);
      expect((error as RedisTimeoutError).code).toBe('ERR_REDIS_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(1000 + 3000);
      // The script still waits in the frozen Redis's socket; let its deadline pass for sure.
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      redis.thaw();
    }
    // Commands run in order per connection: once this append is answered, the late one has run.
    const [after] = await history.append('a', batch(9, 1));
    const replay = await history.readAfter(['a'], before!.id);
    expect(replay.complete).toBe(true);
    expect(replay.records.map((r) => r.data)).toEqual(['9']);
    expect(after!.prevId).toBe(before!.id);
    await history.close();
  });

  it('rejects typed at once when Redis is down', async () => {
    const down = new RedisHistory({ redis: 'redis://127.0.0.1:1', commandTimeout: 500 });
    const error = await down.append('a', batch(0, 1)).catch((err: unknown) => err);
    expect(error instanceof HistoryError || error instanceof RedisTimeoutError).toBe(true);
    await down.close();
  });

  it('restarted with its data: resume is exact; restarted empty: truncated, never an old event twice', async () => {
    const prefix = `t-${randomUUID()}:`;
    const history = store({ keyPrefix: prefix });
    const old = await history.append('a', batch(0, 5));
    await redis.restart({ keepData: true });
    const kept = await history.readAfter(['a'], old[1]!.id);
    expect(kept.complete).toBe(true);
    expect(kept.records.map((r) => r.data)).toEqual(['2', '3', '4']);

    await redis.restart({ keepData: false });
    const wiped = await history.readAfter(['a'], old[1]!.id);
    expect(wiped).toMatchObject({ complete: false, records: [] });
    const fresh = await history.append('a', batch(100, 2));
    expect(fresh[0]!.seq).toBeGreaterThan(old[4]!.seq);
    const after = await history.readAfter(['a'], old[4]!.id);
    expect(after.complete).toBe(false);
    expect(after.records.map((r) => r.data)).toEqual(['100', '101']);
    await history.close();
  });
});
