import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { requireRedisCluster, useRedisCluster } from '../support/redisCluster.js';
import { startHttp } from '../support/server.js';
import { connectSse } from '../support/sse.js';

// Presence on a real Redis Cluster: its scripts touch one key each and every channel's count
// lives under the channel's hash tag, so channels on different masters count alike.

describe.runIf(requireRedisCluster())('presence on a Redis Cluster', () => {
  const cluster = useRedisCluster();
  afterEach(runCleanups);

  it('sums the instances\' subscribers of channels held by different masters', async () => {
    const prefix = `pc-${randomUUID()}:`;
    const instance = async (): Promise<{ es: EventStream; url: string }> => {
      const es = track(new EventStream({ redis: { nodes: cluster.urls, keyPrefix: prefix, commandTimeout: 5000 }, presence: { heartbeatMs: 200, ttlMs: 1000 } }));
      const { url } = await startHttp((req, res) => void es(new URL(req.url!, 'http://x').pathname.slice(1))(req, res));
      return { es, url };
    };
    const [one, two] = await Promise.all([instance(), instance()]);
    const masters = new Map<string, string>();
    for (let i = 0; masters.size < 3 && i < 500; i++) {
      const name = `room-${i}`;
      const master = cluster.masterOf(`${prefix}{${name}}:w`);
      if (![...masters.values()].includes(String(master.port))) masters.set(name, String(master.port));
    }
    const channels = [...masters.keys()];
    expect(channels).toHaveLength(3);
    for (const [i, channel] of channels.entries()) {
      for (let n = 0; n <= i; n++) await connectSse(`${one.url}/${channel}`);
      await connectSse(`${two.url}/${channel}`);
    }
    const expected = Object.fromEntries(channels.map((channel, i) => [channel, i + 2]));
    const deadline = Date.now() + 10_000;
    let seen: Record<string, number> = {};
    while (Date.now() < deadline) {
      seen = await two.es.presence(channels);
      if (JSON.stringify(seen) === JSON.stringify(expected)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(seen).toEqual(expected);
  });
});
