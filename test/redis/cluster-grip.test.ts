import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError } from '../../src/index.js';
import { Listener } from '../support/pushpin/origin.js';
import { startReliablePair } from '../support/pushpin/reliable-pair.js';
import { requirePushpin } from '../support/pushpin.js';
import { requireRedisCluster, useRedisCluster } from '../support/redisCluster.js';

// GRIP reliable mode with the shared history on a real Redis Cluster: per-channel ids
// (`prev-id`, `Grip-Last`) work as with one Redis. Pushpin's message_wait is cut to 300 ms.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.runIf(requirePushpin() && requireRedisCluster())('reliable GRIP with history on a Redis Cluster', () => {
  const cluster = useRedisCluster();

  it('Pushpin recovers a gap from the Cluster history, per channel, through any instance', async () => {
    const { a, b, options, httpPort } = await startReliablePair(
      { redis: cluster.urls, keyPrefix: `gc-${randomUUID()}:` },
      (...steps) => cleanups.push(...steps),
    );

    // `a` and `b` (the /multi route) hash to different slots: two masters, two id sequences.
    expect(cluster.masterOf(`${'x'}{a}`)).not.toBe(cluster.masterOf(`${'x'}{b}`));
    const single = new Listener(`http://127.0.0.1:${httpPort}/events/r`);
    const multi = new Listener(`http://127.0.0.1:${httpPort}/multi`);
    cleanups.push(() => single.close(), () => multi.close());
    const opened = (events: { type: string }[]): boolean => events.some((e) => e.type === 'stream-open');
    await single.until(opened, 5000, 'open');
    await multi.until(opened, 5000, 'open');
    await a.eventStream.publishEvent('r', { event: 'm', data: 1 });
    await a.eventStream.publishEvent('a', { event: 'm', data: 'a1' });
    await b.eventStream.publishEvent('b', { event: 'm', data: 'b1' });
    await single.until((e) => e.some((x) => x.type === 'm'), 5000, 'first event');
    await multi.until((e) => e.filter((x) => x.type === 'm').length >= 2, 5000, 'a1 b1');

    // Publishes that never reached the proxy: in the Cluster history only.
    const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
    cleanups.push(() => lost.close());
    await expect(lost.publishEvent('r', { event: 'm', data: 2 })).rejects.toBeInstanceOf(GripPublishError);
    await expect(lost.publishEvent('a', { event: 'm', data: 'a2' })).rejects.toBeInstanceOf(GripPublishError);

    // The next publish names the lost one as its prev-id: Pushpin fetches the gap (Grip-Last).
    await b.eventStream.publishEvent('r', { event: 'm', data: 3 });
    await b.eventStream.publishEvent('a', { event: 'm', data: 'a3' });
    await single.until((e) => e.filter((x) => x.type === 'm').length >= 3, 8000, 'gap recovered');
    await multi.until((e) => e.filter((x) => x.type === 'm').length >= 4, 8000, 'gap on a recovered');
    expect(single.of('m').map((e) => JSON.parse(e.data))).toEqual([1, 2, 3]);
    expect(multi.of('m').map((e) => JSON.parse(e.data))).toEqual(['a1', 'b1', 'a2', 'a3']);
    expect(single.of('history-truncated')).toEqual([]);
    expect(multi.of('history-truncated')).toEqual([]);
  }, 60_000);
});
