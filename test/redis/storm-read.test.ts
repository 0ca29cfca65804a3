import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisHistory } from '../../src/index.js';
import { requireRedis, useRedis, type RedisInstance } from '../support/redis.js';

// A reconnect storm asks the Redis store for the same replay thousands of times in a few turns
// of the event loop. One read per turn and per (channels, id) keeps Redis, and the replies the
// commandTimeout waits for, to a handful; before, every stream sent its own script, and under
// load the last of them outlasted the timeout: those streams were told history-truncated falsely.

const hasRedis = requireRedis();

/** Script calls Redis has run since the last CONFIG RESETSTAT. */
function scriptCalls(redis: RedisInstance): number {
  const stats = redis.cli('INFO', 'commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval|fcall):calls=(\d+)/gm)) calls += Number(match[1]);
  return calls;
}

describe.runIf(hasRedis)('RedisHistory: the reads of a reconnect storm', () => {
  const redis = useRedis();

  it('reads asked for in one turn after the same id share one read, and each caller gets the whole replay', async () => {
    const history = new RedisHistory({ redis: redis.url, keyPrefix: `s-${randomUUID()}:` });
    const records = await history.append('a', Array.from({ length: 6 }, (_, i) => ({ event: 'm', data: String(i) })));
    await history.readAfter(['a'], records[0]!.id); // the script is loaded
    redis.cli('CONFIG', 'RESETSTAT');

    const storm = await Promise.all(Array.from({ length: 2_000 }, () => history.readAfter(['a'], records[0]!.id)));
    expect(scriptCalls(redis)).toBe(1);
    for (const replay of storm) {
      expect(replay.complete).toBe(true);
      expect(replay.records.map((r) => r.data)).toEqual(['1', '2', '3', '4', '5']);
    }
    await history.close();
  });

  it('a different id, other channels, or a later turn is a read of its own, made after it was asked for', async () => {
    const history = new RedisHistory({ redis: redis.url, keyPrefix: `s-${randomUUID()}:` });
    const records = await history.append('a', [{ event: 'm', data: '0' }, { event: 'm', data: '1' }]);
    await history.append('b', [{ event: 'm', data: 'b0' }]);
    await history.readAfter(['a'], records[0]!.id);
    redis.cli('CONFIG', 'RESETSTAT');

    const [fromFirst, fromSecond, both] = await Promise.all([
      history.readAfter(['a'], records[0]!.id),
      history.readAfter(['a'], records[1]!.id),
      history.readAfter(['a', 'b'], records[0]!.id),
    ]);
    expect(scriptCalls(redis)).toBe(3);
    expect(fromFirst.records.map((r) => r.data)).toEqual(['1']);
    expect(fromSecond.records).toEqual([]);
    expect(both.records.map((r) => r.data)).toEqual(['1', 'b0']);

    // Asked for after an append: the read must see it (it is made after it was asked for).
    const late = await history.append('a', [{ event: 'm', data: '2' }]);
    const after = await history.readAfter(['a'], records[0]!.id);
    expect(after.records.map((r) => r.data)).toEqual(['1', '2']);
    expect(late).toHaveLength(1);
    await history.close();
  });

  it('callers that come while a read is out gather into one next read: one read per key in Redis at a time', async () => {
    const history = new RedisHistory({ redis: redis.url, keyPrefix: `s-${randomUUID()}:` });
    const records = await history.append('a', Array.from({ length: 4 }, (_, i) => ({ event: 'm', data: String(i) })));
    await history.readAfter(['a'], records[0]!.id); // the script is loaded
    redis.cli('CONFIG', 'RESETSTAT');
    // Redis holds every command for a while: the first read stays out while the storm goes on.
    redis.cli('CLIENT', 'PAUSE', '400', 'ALL');
    const asked: Array<Promise<Awaited<ReturnType<RedisHistory['readAfter']>>>> = [];
    for (let turn = 0; turn < 30; turn++) {
      asked.push(history.readAfter(['a'], records[0]!.id));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const storm = await Promise.all(asked);
    // The first read, and one more for everyone who asked while it was out.
    expect(scriptCalls(redis)).toBe(2);
    for (const replay of storm) {
      expect(replay.complete).toBe(true);
      expect(replay.records.map((r) => r.data)).toEqual(['1', '2', '3']);
    }
    await history.close();
  });
});
