import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripstreamError, HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { MAX_EVENT_ID_LENGTH, isValidEventId } from '../../src/sse/eventId.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { requireRedisCluster, useRedisCluster, type ClusterNode } from '../support/redisCluster.js';
import { startHttp } from '../support/server.js';
import { connectSse, SseClient } from '../support/sse.js';
import { Waiters } from '../support/wait.js';

// The Redis engine on a real Redis Cluster (3 masters + 3 replicas, test/support/redisCluster.ts):
// several EventStreams (instances) given the node URLs, real HTTP servers and EventSource
// clients. The failover test kills a master for real; it runs last (the cluster then has two
// of its original masters and a promoted replica).

const hasCluster = requireRedisCluster();
const WAIT = 15_000;

describe.runIf(hasCluster)('Redis engine on a Redis Cluster', () => {
  let prefix: string;
  const cluster = useRedisCluster();
  afterEach(runCleanups);

  async function instance(client?: Cluster): Promise<{ es: EventStream; url: string }> {
    const redis = client === undefined ? { nodes: cluster.urls } : { client };
    const es = track(new EventStream({ redis: { ...redis, keyPrefix: prefix, commandTimeout: 5000 }, retry: 100, history: { maxEvents: 5000 } }));
    const server = await startHttp((req, res) => {
      const channels = new URL(req.url!, 'http://x').pathname.slice(1).split(',');
      void es(channels)(req, res);
    });
    return { es, url: server.url };
  }

  /**
   * `count` channel names whose keys live on `count` different masters; the first on a master
   * with a live replica (one that a failover test can kill).
   */
  function channelsOnDistinctMasters(count: number): string[] {
    const byMaster = new Map<ClusterNode, string>();
    for (let i = 0; byMaster.size < count && i < 500; i++) {
      const name = `room-${i}`;
      const master = cluster.masterOf(`${prefix}{${name}}:s`);
      if (byMaster.size === 0 && cluster.replicaOf(master) === undefined) continue;
      if (!byMaster.has(master)) byMaster.set(master, name);
    }
    expect(byMaster.size).toBe(count);
    return [...byMaster.values()];
  }

  const send = (es: EventStream, channel: string, value: object) => es.publishEvent(channel, { event: 'message', data: value });
  const messages = (client: SseClient) => client.of('message');
  const received = (client: SseClient, n: number) =>
    client.until((events) => events.filter((e) => e.type === 'message').length >= n, `${n} messages`, WAIT);

  it('spreads channels over the masters, every key of a channel in its slot, no key shared by channels', async () => {
    prefix = `c-${randomUUID()}:`;
    const { es } = await instance();
    const channels = Array.from({ length: 30 }, (_, i) => `spread-${i}`);
    for (const channel of channels) await send(es, channel, { n: channel });
    const used = new Set<number>();
    for (const channel of channels) {
      const master = cluster.masterOf(`${prefix}{${channel}}:s`);
      used.add(master.port);
      expect(master.cli('EXISTS', `${prefix}{${channel}}:s`, `${prefix}{${channel}}:m`)).toBe('2');
    }
    expect(used.size).toBe(3);
    for (const { node } of cluster.masters()) {
      const keys = node.cli('--scan', '--pattern', `${prefix}*`).split('\n').filter(Boolean);
      expect(keys.length).toBeGreaterThan(0);
      // Every key is a channel's (hash-tagged): nothing global on the publish path.
      for (const key of keys) expect(key).toMatch(/^[^{]*\{spread-\d+\}:[smij]$/);
    }
  });

  it('delivers across instances and resumes a stream on channels of three masters exactly, from one Last-Event-ID', async () => {
    prefix = `c-${randomUUID()}:`;
    const channels = channelsOnDistinctMasters(3);
    const a = await instance();
    const b = await instance();
    const first = await connectSse(`${a.url}/${channels.join(',')}`, { types: [HISTORY_TRUNCATED_EVENT] });
    for (let i = 0; i < 30; i++) await send(b.es, channels[i % 3]!, { i });
    await received(first, 30);
    const lastId = messages(first).at(-1)!.lastEventId;
    first.close();
    expect(isValidEventId(lastId)).toBe(true);
    for (let i = 30; i < 60; i++) await send(a.es, channels[i % 3]!, { i });
    const resumed = new SseClient(`${b.url}/${channels.join(',')}`, { headers: { 'last-event-id': lastId }, types: [HISTORY_TRUNCATED_EVENT] });
    await received(resumed, 30);
    for (let i = 60; i < 66; i++) await send(b.es, channels[i % 3]!, { i });
    await received(resumed, 36);
    expect(resumed.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
    const got = messages(resumed).map((e) => JSON.parse(e.data).i as number).sort((x, y) => x - y);
    expect(got).toEqual(Array.from({ length: 36 }, (_, i) => 30 + i));
    // Per channel, in publish order.
    for (const channel of channels) {
      const order = messages(resumed).map((e) => JSON.parse(e.data).i as number).filter((i) => channels[i % 3] === channel);
      expect(order).toEqual([...order].sort((x, y) => x - y));
    }
  });

  it('keeps the cursor id bounded for 100 channels; a plain id from before the upgrade gets history-truncated', async () => {
    prefix = `c-${randomUUID()}:`;
    const { es, url } = await instance();
    const channels = Array.from({ length: 100 }, (_, i) => `wide-${i}`);
    const client = await connectSse(`${url}/${channels.join(',')}`);
    await send(es, channels[99]!, { last: true });
    await received(client, 1);
    const id = messages(client)[0]!.lastEventId;
    expect(id.length).toBeLessThanOrEqual(MAX_EVENT_ID_LENGTH);
    expect(isValidEventId(id)).toBe(true);
    client.close();
    // An id of the single-Redis layout (one global position) cannot position 100 channels.
    const old = new SseClient(`${url}/${channels.slice(0, 2).join(',')}`, { headers: { 'last-event-id': '1764000000000000' }, types: [HISTORY_TRUNCATED_EVENT] });
    await old.until((events) => events.some((e) => e.type === HISTORY_TRUNCATED_EVENT), 'history-truncated', WAIT);
    // The same on one channel: the channel's epoch on the Cluster began after that position.
    const oldSingle = new SseClient(`${url}/${channels[99]}`, { headers: { 'last-event-id': '1764000000000000' }, types: [HISTORY_TRUNCATED_EVENT] });
    await oldSingle.until((events) => events.some((e) => e.type === HISTORY_TRUNCATED_EVENT), 'history-truncated', WAIT);
    // A resume from the stream's own cursor on 100 channels is exact.
    await send(es, channels[0]!, { after: true });
    const resumed = new SseClient(`${url}/${channels.join(',')}`, { headers: { 'last-event-id': id }, types: [HISTORY_TRUNCATED_EVENT] });
    await received(resumed, 1);
    expect(messages(resumed).map((e) => e.data)).toEqual([JSON.stringify({ after: true })]);
    expect(resumed.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
  });

  /** An ioredis Cluster client of ours on the test cluster, disconnected after the test. */
  function clusterClient(options: ConstructorParameters<typeof Cluster>[1] = {}): Cluster {
    const client = new Cluster(cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })), options);
    client.on('error', () => undefined);
    defer(() => client.disconnect());
    return client;
  }

  /** Per channel, the numbers received, in arrival order. */
  const perChannel = (client: SseClient, channels: readonly string[]): string[][] => {
    const got = messages(client).map((e) => JSON.parse(e.data) as { c: string; i: number });
    return channels.map((channel) => got.filter((m) => m.c === channel).map((m) => `${m.c}#${m.i}`));
  };

  it('a fresh multi-channel stream gets what was published while its start positions were being read (exactly once)', async () => {
    prefix = `c-${randomUUID()}:`;
    const channels = channelsOnDistinctMasters(2);
    // Instance a's store reads where a fresh stream's channels stand (the gap script with
    // read=0); those reads are held here until the publishes below are accepted: the window
    // between a stream joining and its start positions, widened from microseconds to certain.
    const real = clusterClient();
    let holding = true;
    const held: Array<() => void> = [];
    const heldNow = new Waiters();
    const proxy = new Proxy(real, {
      get(target, prop) {
        if (prop === 'call') {
          return (...args: Array<string | number>) => {
            const standRead = args.length === 8 && Number(args[2]) === 3 && args[6] === '0' && args[7] === '0';
            if (!holding || !standRead) return (target.call as (...a: unknown[]) => Promise<unknown>)(...args);
            return new Promise((resolve, reject) => {
              held.push(() => (target.call as (...a: unknown[]) => Promise<unknown>)(...args).then(resolve, reject));
              heldNow.notify();
            });
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const a = await instance(proxy);
    const b = await instance();
    const client = await connectSse(`${a.url}/${channels.join(',')}`, { types: [HISTORY_TRUNCATED_EVENT] }, WAIT);
    await heldNow.wait(() => held.length === channels.length, WAIT, 'the start-position reads');
    // Published after the client connected: it must get them.
    for (const [i, channel] of channels.entries()) await send(b.es, channel, { c: channel, i });
    holding = false;
    for (const release of held.splice(0)) release();
    for (const [i, channel] of channels.entries()) await send(b.es, channel, { c: channel, i: i + 10 });
    await received(client, 4);
    expect(perChannel(client, channels)).toEqual(channels.map((channel, i) => [`${channel}#${i}`, `${channel}#${i + 10}`]));
    expect(client.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
    // Its cursor resumes exactly too.
    const lastId = messages(client).at(-1)!.lastEventId;
    client.close();
    await send(b.es, channels[0]!, { c: channels[0], i: 20 });
    const resumed = new SseClient(`${b.url}/${channels.join(',')}`, { headers: { 'last-event-id': lastId }, types: [HISTORY_TRUNCATED_EVENT] });
    await received(resumed, 1);
    expect(perChannel(resumed, channels)).toEqual([[`${channels[0]}#20`], []]);
  });

  it('a subscription refused at first (a given client with enableOfflineQueue: false, not connected yet) is sent again until the shard has it', async () => {
    prefix = `c-${randomUUID()}:`;
    const channels = channelsOnDistinctMasters(2);
    // Its duplicate (the sharded subscriber) refuses SSUBSCRIBE until connected.
    const a = await instance(clusterClient({ enableOfflineQueue: false }));
    const b = await instance();
    const client = await connectSse(`${a.url}/${channels.join(',')}`, { types: [HISTORY_TRUNCATED_EVENT] }, WAIT);
    for (const channel of channels) {
      const name = `${prefix}{${channel}}:p`;
      await waitUntil(() => cluster.masterOf(name).cli('PUBSUB', 'SHARDNUMSUB', name).split('\n')[1] === '1', `${name} subscribed on its shard`);
    }
    for (const [i, channel] of channels.entries()) await send(b.es, channel, { c: channel, i });
    await received(client, 2);
    expect(perChannel(client, channels)).toEqual(channels.map((channel, i) => [`${channel}#${i}`]));
  });

  it("a shard's subscriber connection killed (CLIENT KILL): what was published meanwhile reaches a multi-channel stream, once, in order", async () => {
    prefix = `c-${randomUUID()}:`;
    const channels = channelsOnDistinctMasters(2);
    const a = await instance();
    const b = await instance();
    const client = await connectSse(`${a.url}/${channels.join(',')}`, { types: [HISTORY_TRUNCATED_EVENT] }, WAIT);
    for (let i = 0; i < 4; i++) await send(b.es, channels[i % 2]!, { c: channels[i % 2], i });
    await received(client, 4);
    const master = cluster.masterOf(`${prefix}{${channels[0]}}:p`);
    const subscribers = master
      .cli('CLIENT', 'LIST')
      .split('\n')
      .filter((line) => line.includes('name=ioredis-cluster(ssubscriber)'))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    expect(subscribers.length).toBeGreaterThan(0);
    for (const id of subscribers) master.cli('CLIENT', 'KILL', 'ID', id);
    // Published while the shard's subscription is down or being re-established; the last
    // event of that channel: no later message would reveal the gap.
    for (let i = 4; i < 8; i++) await send(b.es, channels[i % 2]!, { c: channels[i % 2], i });
    await received(client, 8);
    // And the subscription works again afterwards.
    for (let i = 8; i < 10; i++) await send(b.es, channels[i % 2]!, { c: channels[i % 2], i });
    await received(client, 10);
    const all = Array.from({ length: 10 }, (_, i) => i);
    expect(perChannel(client, channels)).toEqual(channels.map((channel, k) => all.filter((i) => i % 2 === k).map((i) => `${channel}#${i}`)));
    expect(client.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
  });

  async function waitUntil(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('a master killed before its replica had the last publishes: the streams that got them resume with history-truncated', async () => {
    prefix = `c-${randomUUID()}:`;
    const [channel] = channelsOnDistinctMasters(1);
    const a = await instance();
    const b = await instance();
    const client = new SseClient(`${a.url}/${channel}`, { types: [HISTORY_TRUNCATED_EVENT] });
    await client.nextEvent('stream-open', WAIT);
    const master = cluster.masterOf(`${prefix}{${channel}}:s`);
    const replica = cluster.replicaOf(master)!;
    for (let i = 0; i < 5; i++) await send(b.es, channel!, { i });
    // Replicated: the replica acknowledged every write so far.
    expect(master.cli('WAIT', '1', '5000')).toBe('1');
    // Cut replication for real: the replica is frozen, and the master drops its link (what it
    // writes next goes nowhere; a frozen replica cannot reconnect before the master dies).
    replica.freeze();
    let failover: Promise<ClusterNode>;
    try {
      expect(Number(master.cli('CLIENT', 'KILL', 'TYPE', 'replica'))).toBeGreaterThan(0);
      // Accepted by the master, delivered live, never replicated.
      for (let i = 5; i < 10; i++) await send(b.es, channel!, { i });
      await received(client, 10);
      failover = cluster.killMaster(master);
    } finally {
      replica.thaw();
    }
    expect(await failover).toBe(replica);
    // The instance notices the channel fell behind what it delivered, tells the stream and
    // ends it; the client's resume from event 9 (which the Cluster no longer has) gets
    // history-truncated again.
    await client.until((events) => events.filter((e) => e.type === HISTORY_TRUNCATED_EVENT).length === 2, 'history-truncated, twice', WAIT);
    await pollUntilAccepted(() => send(b.es, channel!, { i: 10 }));
    await client.until((events) => events.some((e) => e.type === 'message' && JSON.parse(e.data).i === 10), 'the publish after the failover', WAIT);
    const truncatedAt = client.events.findIndex((e) => e.type === HISTORY_TRUNCATED_EVENT);
    // Told on the stream that is ended, before its client reconnects (a client without an id
    // yet could not learn it from its resume).
    const opened = client.events.flatMap((e, i) => (e.type === 'stream-open' ? [i] : []));
    expect(opened).toHaveLength(2);
    expect(truncatedAt).toBeLessThan(opened[1]!);
    const numbers = (events: typeof client.events) => events.filter((e) => e.type === 'message').map((e) => JSON.parse(e.data).i as number);
    expect(numbers(client.events.slice(0, truncatedAt))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // After the notice: what the Cluster still keeps (an unknown id replays all of it, as with
    // one Redis), then the new publish; never the lost 5..9 again.
    expect(numbers(client.events.slice(truncatedAt + 1))).toEqual([0, 1, 2, 3, 4, 10]);
  }, 90_000);

  /** Retries a publish refused while the Cluster settles (bounded). */
  async function pollUntilAccepted(publish: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      try {
        await publish();
        return;
      } catch (err) {
        if (!(err instanceof GripstreamError) || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('keeps publishing through a master failover; clients get every accepted event once, or history-truncated', async () => {
    prefix = `c-${randomUUID()}:`;
    const channels = channelsOnDistinctMasters(2);
    const a = await instance();
    const b = await instance();
    const client = new SseClient(`${a.url}/${channels.join(',')}`, { types: [HISTORY_TRUNCATED_EVENT] });
    await client.nextEvent('stream-open', WAIT);
    const single = new SseClient(`${a.url}/${channels[0]}`, { types: [HISTORY_TRUNCATED_EVENT] });
    await single.nextEvent('stream-open', WAIT);
    const accepted: number[] = [];
    const refused: number[] = [];
    let n = 0;
    const publishOne = async (): Promise<void> => {
      const i = n++;
      try {
        await send(b.es, channels[i % 2]!, { i });
        accepted.push(i);
      } catch (err) {
        // Refused while the master is down: a typed error (HistoryError or RedisTimeoutError).
        if (!(err instanceof GripstreamError)) throw err;
        refused.push(i);
      }
    };
    for (let i = 0; i < 20; i++) await publishOne();
    const victim = cluster.masterOf(`${prefix}{${channels[0]}}:s`);
    const failover = cluster.killMaster(victim);
    let done = false;
    void failover.finally(() => (done = true));
    while (!done) {
      await publishOne();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await failover;
    // After the promotion, publishes on the failed-over channel are accepted again.
    const before = n;
    const deadline = Date.now() + WAIT;
    while (accepted.filter((i) => i >= before).length < 6 && Date.now() < deadline) {
      await publishOne();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(accepted.filter((i) => i >= before && i % 2 === 0).length).toBeGreaterThanOrEqual(3);
    const want = [...accepted].sort((x, y) => x - y);
    for (const [sse, wanted] of [
      [client, want],
      [single, want.filter((i) => i % 2 === 0)],
    ] as const) {
      await sse.until(
        (events) => events.some((e) => e.type === HISTORY_TRUNCATED_EVENT) || wanted.every((i) => events.some((e) => e.type === 'message' && JSON.parse(e.data).i === i)),
        'every accepted event, or history-truncated',
        WAIT,
      );
      const got = messages(sse).map((e) => JSON.parse(e.data).i as number);
      // Never twice; never one that was refused.
      expect(new Set(got).size).toBe(got.length);
      // Only what was published; a refused one only if the connection broke after Redis ran
      // it (README "Limits": a timeout never takes effect, a broken connection may have).
      for (const i of got) expect([...accepted, ...refused]).toContain(i);
      if (sse.of(HISTORY_TRUNCATED_EVENT).length === 0) expect([...got].sort((x, y) => x - y)).toEqual(wanted);
    }
  }, 90_000);
});
