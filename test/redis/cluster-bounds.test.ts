import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { requireRedisCluster, useRedisCluster, type ClusterNode } from '../support/redisCluster.js';
import { startHttp } from '../support/server.js';
import { pollUntil } from '../support/wait.js';

// Issue 21, item 8 (Cluster parts), on a real Redis Cluster: a channel whose name starts with
// `}` keeps its keys in one slot, and live frames gathered while a replay read is slow count
// against maxBufferedBytes.

const hasCluster = requireRedisCluster();
const WAIT = 15_000;

describe.runIf(hasCluster)('Redis Cluster: hash tags and the replay-read memory bound', () => {
  const cluster = useRedisCluster();
  afterEach(runCleanups);

  async function instance(prefix: string, maxBufferedBytes?: number): Promise<{ es: EventStream; port: number }> {
    const es = track(
      new EventStream({ redis: { nodes: cluster.urls, keyPrefix: prefix, commandTimeout: 5000 }, retry: 100, ...(maxBufferedBytes ? { maxBufferedBytes } : {}) }),
    );
    const server = await startHttp((req, res) => {
      const channels = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1)).split(',');
      void es(channels)(req, res);
    });
    return { es, port: Number(new URL(server.url).port) };
  }

  it('a channel whose name starts with } publishes, streams and resumes (its keys share one slot)', async () => {
    const prefix = `t-${randomUUID()}:`;
    const { es, port } = await instance(prefix);
    const channel = '}room';
    const client = await RawClient.get(port, { path: `/${encodeURIComponent(channel)}` });
    await client.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${client.rawText}`);
    });
    await es.publishEvent(channel, { event: 'message', data: 'one' });
    await client.waitFor((c) => c.events.some((e) => e.event === 'message'), 'the event', WAIT);
    const id = client.events.find((e) => e.event === 'message')!.id!;
    client.destroy();
    await es.publishEvent(channel, { event: 'message', data: 'two' });
    const resumed = await RawClient.get(port, { path: `/${encodeURIComponent(channel)}`, headers: { 'Last-Event-ID': id } });
    await resumed.waitFor((c) => c.events.some((e) => e.event === 'message'), 'the resume', WAIT);
    expect(resumed.events.filter((e) => e.event !== 'stream-open').map((e) => [e.event, e.data])).toEqual([['message', '"two"']]);
  });

  it('live frames that wait for a slow replay read (a frozen master) are within maxBufferedBytes: the client is dropped', async () => {
    const prefix = `b-${randomUUID()}:`;
    const bound = 256 * 1024;
    const { es, port } = await instance(prefix, bound);
    // Two channels on two masters; the first one's master is frozen while the stream starts.
    const byMaster = new Map<ClusterNode, string>();
    for (let i = 0; byMaster.size < 2 && i < 500; i++) {
      const name = `room-${i}`;
      const master = cluster.masterOf(`${prefix}{${name}}:s`);
      if (!byMaster.has(master)) byMaster.set(master, name);
    }
    const [[frozen, slow], [, busy]] = [...byMaster] as [[ClusterNode, string], [ClusterNode, string]];
    // The busy channel's feed is up before the freeze (another stream on it alone).
    const warm = await RawClient.get(port, { path: `/${busy}` });
    await warm.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
    warm.pause();
    await es.publishEvent(busy, { event: 'message', data: 'warm' });
    frozen.freeze();
    try {
      const client = await RawClient.get(port, { path: `/${slow},${busy}` });
      await client.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
      const big = 'x'.repeat(64 * 1024);
      // 2 MiB while the stream's replay read hangs on the frozen master (kept well under the
      // Cluster's node timeout, so no failover starts).
      for (let i = 0; i < 32; i++) await es.publishEvent(busy, { event: 'message', data: big });
      await pollUntil(() => es.stats().clientsDropped >= 1, 1000, 'the waiting client to be dropped');
    } finally {
      frozen.thaw();
    }
    expect(es.stats().clientsDropped).toBeGreaterThanOrEqual(1);
  });
});
