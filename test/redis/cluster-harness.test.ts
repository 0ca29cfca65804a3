import { describe, expect, it } from 'vitest';
import { requireRedisCluster, useRedisCluster } from '../support/redisCluster.js';

// The harness itself: six real redis-server processes form 3 masters + 3 replicas, and a
// killed master is replaced by its replica. test/redis/cluster.test.ts builds on it.

const hasCluster = requireRedisCluster();

describe.runIf(hasCluster)('Redis Cluster harness', () => {
  const cluster = useRedisCluster();

  it('starts three masters covering all 16384 slots, each with a synced replica', () => {
    const masters = cluster.masters();
    expect(masters).toHaveLength(3);
    const covered = masters.flatMap(({ slots }) => slots).reduce((sum, [from, to]) => sum + to - from + 1, 0);
    expect(covered).toBe(16384);
    const replicas = cluster.nodes.filter((node) => cluster.masters().every((m) => m.node !== node));
    expect(replicas).toHaveLength(3);
    for (const replica of replicas) expect(replica.cli('INFO', 'replication')).toContain('master_link_status:up');
  });

  it('promotes the replica of a killed master, which then serves its keys', async () => {
    const master = cluster.masterOf('{probe}');
    expect(master.cli('SET', '{probe}', 'kept')).toBe('OK');
    const replica = cluster.nodes.find((node) => node !== master && node.cli('INFO', 'replication').includes(`master_port:${master.port}`))!;
    // Replication is asynchronous: WAIT until the replica acknowledged the write.
    expect(master.cli('WAIT', '1', '5000')).toBe('1');
    const promoted = await cluster.killMaster(master);
    expect(promoted.port).toBe(replica.port);
    expect(master.alive).toBe(false);
    expect(cluster.masterOf('{probe}')).toBe(promoted);
    // Polled: right after its promotion a loaded node may not answer within the cli's 5 s
    // budget (an unanswered call reads as ''), so the poll leaves room for several calls.
    await expect.poll(() => promoted.cli('GET', '{probe}'), { timeout: 30_000, interval: 200 }).toBe('kept');
    expect(cluster.masters()).toHaveLength(3);
  }, 60_000);
});
