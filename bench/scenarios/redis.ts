/**
 * Redis scenario: the Redis store and engine against the floor of plain pipelined `XADD`,
 * measured in the same run on one private redis-server (ratios, so the machine cancels out).
 *
 * Store (RedisHistory.append, what every publish with `redis` does first):
 *   - awaited one by one: N single-event publishes, each awaited before the next;
 *   - concurrent: 10,000 single-event publishes started together (auto-pipelined);
 *   - batch: publishEvents-sized batches of 1,000 events, each one script call.
 * Floor: the same number of events as `XADD` (same fields) in ioredis pipelines of 1,000.
 *
 * Cross-instance delivery: instance A serves C SSE clients (loopback sockets, counted as
 * they arrive), instance B (another EventStream with its own Redis connections) publishes;
 * delivered events/s and p99 publish→receive, against the same with one process (no Redis).
 *
 * One node against a Redis Cluster of 3 masters + 3 replicas (test/support/redisCluster.ts, same
 * machine, so sharding shows as spread work, not as more hardware):
 *   - spread publish: concurrent single-event publishes over 64 channels, events/s;
 *   - cross-instance delivery as above, through the Cluster (SPUBLISH, sharded subscribers);
 *   - cost of one publish as the number of channels grows: awaited publishes (µs each) with
 *     1, 1,000 and 10,000 channels already holding events (it must stay flat).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { redisAvailable, startRedis } from '../../test/support/redis.ts';
import { startRedisCluster } from '../../test/support/redisCluster.ts';
import type { ScenarioResult } from './types.ts';

interface Sizes {
  awaited: number;
  concurrent: number;
  batches: number;
  clients: number;
  deliveries: number;
}

export function redisSizes(quick: boolean): Sizes {
  return quick
    ? { awaited: 500, concurrent: 2000, batches: 5, clients: 20, deliveries: 500 }
    : { awaited: 3000, concurrent: 10_000, batches: 20, clients: 100, deliveries: 2000 };
}

const event = (i: number) => ({ event: 'm', data: JSON.stringify({ i, pad: 'x'.repeat(64) }) });

export async function runRedis(quick: boolean): Promise<Omit<ScenarioResult, 'implementation'>> {
  if (!redisAvailable()) return { scenario: 'redis', status: 'skipped', metrics: {}, note: 'redis-server not installed' };
  const sizes = redisSizes(quick);
  const redis = await startRedis();
  try {
    const { Redis } = await import('ioredis');
    const { RedisHistory, EventStream } = await import('../../src/index.ts');
    const raw = new Redis(redis.url);
    const batchEvents = sizes.batches * 1000;

    // Floor: plain XADD, pipelined 1,000 at a time.
    const xaddStart = performance.now();
    for (let done = 0; done < batchEvents; done += 1000) {
      const pipeline = raw.pipeline();
      for (let i = 0; i < 1000; i++) {
        const e = event(done + i);
        pipeline.xadd('bench:xadd', 'MAXLEN', '~', '1000', '*', 'p', '0', 'i', String(i), 'e', e.event, 'd', e.data);
      }
      await pipeline.exec();
    }
    const xadd = batchEvents / ((performance.now() - xaddStart) / 1000);

    const store = new RedisHistory({ redis: redis.url, keyPrefix: `bench-${randomUUID()}:` });
    await store.append('warm', [event(0)]);
    const awaitedStart = performance.now();
    for (let i = 0; i < sizes.awaited; i++) await store.append('a', [event(i)]);
    const awaited = sizes.awaited / ((performance.now() - awaitedStart) / 1000);

    const concurrentStart = performance.now();
    await Promise.all(Array.from({ length: sizes.concurrent }, (_, i) => store.append('c', [event(i)])));
    const concurrent = sizes.concurrent / ((performance.now() - concurrentStart) / 1000);

    const batch = Array.from({ length: 1000 }, (_, i) => event(i));
    const batchStart = performance.now();
    for (let i = 0; i < sizes.batches; i++) await store.append('b', batch);
    const batched = batchEvents / ((performance.now() - batchStart) / 1000);
    await store.close();
    raw.disconnect();

    const local = await delivery(sizes, () => {
      const es = new EventStream();
      return { serving: es, publishing: es };
    });
    const prefix = `bench-${randomUUID()}:`;
    const cross = await delivery(sizes, () => ({
      serving: new EventStream({ redis: { url: redis.url, keyPrefix: prefix } }),
      publishing: new EventStream({ redis: { url: redis.url, keyPrefix: prefix } }),
    }));

    const oneNode = await shardingMetrics(sizes, redis.url);
    const cluster = await startRedisCluster();
    let sharded: Awaited<ReturnType<typeof shardingMetrics>>;
    try {
      sharded = await shardingMetrics(sizes, cluster.urls);
    } finally {
      await cluster.stop();
    }

    const metrics = {
      nodeSpread: oneNode.spread,
      clusterSpread: sharded.spread,
      nodeCrossDelivered: oneNode.cross.delivered,
      clusterCrossDelivered: sharded.cross.delivered,
      clusterCrossP99: sharded.cross.p99,
      ...Object.fromEntries(oneNode.perPublish.map(([channels, us]) => [`nodePublishUs${channels}`, us])),
      ...Object.fromEntries(sharded.perPublish.map(([channels, us]) => [`clusterPublishUs${channels}`, us])),
      redisXadd: xadd,
      redisAwaited: awaited,
      redisConcurrent: concurrent,
      redisBatch: batched,
      localDelivered: local.delivered,
      localP99: local.p99,
      crossDelivered: cross.delivered,
      crossP99: cross.p99,
    };
    const complete = local.complete && cross.complete && oneNode.cross.complete && sharded.cross.complete;
    return {
      scenario: 'redis',
      status: complete ? 'ok' : 'incomplete',
      metrics,
      ...(complete ? {} : { note: 'a client missed events' }),
      details: { sizes },
    };
  } finally {
    await redis.stop();
  }
}

/** Spread publish, cross-instance delivery and per-publish cost vs channel count, on one target. */
async function shardingMetrics(
  sizes: Sizes,
  target: string | string[],
): Promise<{ spread: number; cross: { delivered: number; p99: number; complete: boolean }; perPublish: Array<[number, number]> }> {
  const { RedisHistory, EventStream } = await import('../../src/index.ts');
  const redisOption = typeof target === 'string' ? { url: target } : { nodes: target };
  const store = new RedisHistory({ redis: target, keyPrefix: `bench-${randomUUID()}:`, commandTimeout: 10_000 });
  try {
    for (let i = 0; i < 64; i++) await store.append(`s${i}`, [event(0)]);
    const spreadStart = performance.now();
    await Promise.all(Array.from({ length: sizes.concurrent }, (_, i) => store.append(`s${i % 64}`, [event(i)])));
    const spread = sizes.concurrent / ((performance.now() - spreadStart) / 1000);

    const perPublish: Array<[number, number]> = [];
    let existing = 0;
    for (const channels of [1, 1000, 10_000]) {
      for (let from = existing; from < channels; from += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, channels - from) }, (_, i) => store.append(`k${from + i}`, [event(i)])));
      }
      existing = channels;
      const rounds = Math.min(sizes.awaited, 1000);
      const started = performance.now();
      for (let i = 0; i < rounds; i++) await store.append(`k${(i * 7919) % channels}`, [event(i)]);
      perPublish.push([channels, ((performance.now() - started) * 1000) / rounds]);
    }

    const prefix = `bench-${randomUUID()}:`;
    const cross = await delivery(sizes, () => ({
      serving: new EventStream({ redis: { ...redisOption, keyPrefix: prefix } }),
      publishing: new EventStream({ redis: { ...redisOption, keyPrefix: prefix } }),
    }));
    return { spread, cross, perPublish };
  } finally {
    await store.close();
  }
}

interface Pair {
  serving: import('../../src/index.ts').EventStream;
  publishing: import('../../src/index.ts').EventStream;
}

/** C clients on `serving`; `publishing` sends events in windows of 50; all clients count. */
async function delivery(sizes: Sizes, make: () => Pair): Promise<{ delivered: number; p99: number; complete: boolean }> {
  const { serving, publishing } = make();
  const server = http.createServer(serving('bench'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const latencies: number[] = [];
  let received = 0;
  const expected = sizes.clients * sizes.deliveries;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  const sockets: http.ClientRequest[] = [];
  await Promise.all(
    Array.from({ length: sizes.clients }, () =>
      new Promise<void>((resolve) => {
        const req = http.get({ port, host: '127.0.0.1', path: '/', headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
          res.setEncoding('utf8');
          let opened = false;
          let tail = '';
          res.on('data', (chunk: string) => {
            if (!opened && chunk.includes('stream-open')) {
              opened = true;
              resolve();
            }
            const text = tail + chunk;
            const parts = text.split('\n\n');
            tail = parts.pop()!;
            const now = performance.now();
            for (const part of parts) {
              const at = /"t":([\d.]+)/.exec(part);
              if (at === null) continue;
              latencies.push(now - Number(at[1]));
              if (++received === expected) allReceived();
            }
          });
        });
        sockets.push(req);
      }),
    ),
  );
  // Let the serving instance's subscription settle before measuring.
  await publishing.publishEvent('bench', { event: 'warm', data: 0 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const started = performance.now();
  for (let sent = 0; sent < sizes.deliveries; sent += 50) {
    const window = [];
    for (let i = sent; i < Math.min(sent + 50, sizes.deliveries); i++) {
      window.push(publishing.publishEvent('bench', { event: 'm', data: { i, t: performance.now() } }));
    }
    await Promise.all(window);
  }
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 30_000).unref());
  await Promise.race([done, timeout]);
  const elapsed = (performance.now() - started) / 1000;
  for (const req of sockets) req.destroy();
  server.closeAllConnections();
  server.close();
  await serving.close();
  if (publishing !== serving) await publishing.close();
  latencies.sort((a, b) => a - b);
  return {
    delivered: received / elapsed,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    complete: received === expected,
  };
}
