import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTimeoutError } from '../../src/errors.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { decodeBatch, type BatchMessage } from '../../src/redis/message.js';
import type { RedisSubscriberLike } from '../../src/redisClient.js';
import { RedisLink } from '../../src/redis/RedisLink.js';
import { aliveArgs, aliveKeys, ALIVE_SCRIPT, decodeAliveReply } from '../../src/redis/scripts/alive.js';
import { appendArgs, appendKeys, appendScript, decodeAppendReply, type AppendKeys, type PublishCommand } from '../../src/redis/scripts/append.js';
import { decodeHeartbeatReply, heartbeatArgs, heartbeatKeys, HEARTBEAT_SCRIPT } from '../../src/redis/scripts/heartbeat.js';
import { decodePositionReply, positionArgs, positionKeys, POSITION_SCRIPT } from '../../src/redis/scripts/position.js';
import { decodeReadReply, READ_MODE, readArgs, readKeys, READ_SCRIPT, type ReadMode } from '../../src/redis/scripts/read.js';
import { decodeEntry } from '../../src/redis/scripts/streamEntry.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { requireRedisCluster, startRedisCluster, type RedisCluster } from '../support/redisCluster.js';
import { withTimeout } from '../support/wait.js';

// Every Lua script of src/redis/scripts/, run on a real redis-server and on a real Redis
// Cluster through its module's own KEYS/ARGV builders, its reply read by its own decoder: a
// script and its decoder that drift apart (a field moved, a mode renamed) fail here, not in a
// resume three layers up.

const hasRedis = requireRedis();
const hasCluster = hasRedis && requireRedisCluster();
const WAIT = 10_000;

describe('the Cluster variant of the append script', () => {
  it('differs from the plain one exactly in the publish command', () => {
    const plain = appendScript('PUBLISH').split('\n');
    const sharded = appendScript('SPUBLISH').split('\n');
    expect(sharded.length).toBe(plain.length);
    const differing = plain.flatMap((line, i) => (line === sharded[i] ? [] : [[line, sharded[i]]]));
    // One line, and it is the publish: a reformat that made the variant a copy fails here.
    expect(differing).toEqual([
      ["if pub ~= '' then redis.call('PUBLISH', pub, table.concat(parts)) end", "if pub ~= '' then redis.call('SPUBLISH', pub, table.concat(parts)) end"],
    ]);
  });
});

interface Target {
  name: string;
  /** Sharded: SPUBLISH, and the channel's meta hash stands in for the shared epoch key. */
  sharded: boolean;
  start(): Promise<{ redis: string | string[]; stop(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'redis-server',
    sharded: false,
    start: async () => {
      const redis: RedisInstance = await startRedis();
      return { redis: redis.url, stop: () => redis.stop() };
    },
  },
  {
    name: 'Redis Cluster',
    sharded: true,
    start: async () => {
      const cluster: RedisCluster = await startRedisCluster();
      return { redis: cluster.urls, stop: () => cluster.stop() };
    },
  },
];

describe.each(targets.filter((target) => (target.sharded ? hasCluster : hasRedis)))('scripts on a real $name', (target) => {
  let stop: (() => Promise<void>) | undefined;
  let link: RedisLink;
  let subscriber: RedisSubscriberLike | undefined;
  beforeAll(async () => {
    const started = await target.start();
    stop = started.stop;
    link = new RedisLink({ redis: started.redis, commandTimeout: 5000 });
  }, 60_000);
  afterAll(async () => {
    subscriber?.disconnect();
    await link?.close();
    await stop?.();
  });

  const publish: PublishCommand = target.sharded ? 'SPUBLISH' : 'PUBLISH';
  const fresh = (): RedisKeys => new RedisKeys(`s-${randomUUID()}:`);
  const epochOf = (keys: RedisKeys, channel: string): string => (target.sharded ? keys.meta(channel) : keys.epoch());
  const appendKeysOf = (keys: RedisKeys, channel: string): AppendKeys => ({
    epoch: epochOf(keys, channel),
    stream: keys.stream(channel),
    meta: keys.meta(channel),
    ...keys.ids(channel),
  });
  const options = { maxEvents: 100, maxAge: 60_000, metaTtl: 120_000 };

  it('append: keeps the batch, answers where it went, and publishes the message decodeBatch reads', async () => {
    const keys = fresh();
    const channel = 'room';
    const name = keys.pubsubChannel(channel);
    subscriber ??= await link.subscriber();
    const sub = subscriber as unknown as {
      subscribe(name: string): Promise<unknown>;
      ssubscribe(name: string): Promise<unknown>;
      on(event: string, listener: (channel: Buffer, message: Buffer) => void): unknown;
    };
    const messages: Array<BatchMessage | undefined> = [];
    let arrived: () => void = () => undefined;
    sub.on(target.sharded ? 'smessageBuffer' : 'messageBuffer', (from, body) => {
      if (from.toString() !== name) return;
      messages.push(decodeBatch(body));
      arrived();
    });
    await (target.sharded ? sub.ssubscribe(name) : sub.subscribe(name));

    const events = [
      { event: 'a', data: 'one', id: 'x-1' },
      { event: '', data: 'two\nlines ünïcode' },
    ];
    const got = new Promise<void>((resolve) => (arrived = resolve));
    const first = decodeAppendReply(
      await link.write(appendScript(publish), appendKeys(appendKeysOf(keys, channel)), appendArgs({ pubsubChannel: name, ...options, batches: [events] })),
    );
    expect(first.nowMs).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(first.prevId).toBeUndefined();
    expect(first.firstSeq).toBeGreaterThan(0);
    await withTimeout(got, WAIT, 'the published batch');
    expect(messages).toEqual([
      {
        epoch: expect.any(String),
        prevSeq: 0,
        items: [
          { seq: first.firstSeq, id: 'x-1', event: 'a', data: 'one' },
          { seq: first.firstSeq + 1, id: String(first.firstSeq + 1), event: '', data: 'two\nlines ünïcode' },
        ],
      },
    ]);
    expect(Number(messages[0]!.epoch)).toBeLessThanOrEqual(first.firstSeq);

    // Kept only (no pub/sub channel): nothing published, and the next batch follows the last.
    const second = decodeAppendReply(
      await link.write(appendScript(publish), appendKeys(appendKeysOf(keys, channel)), appendArgs({ pubsubChannel: undefined, ...options, batches: [[{ event: 'c', data: '3' }]] })),
    );
    expect(second.prevId).toBe(String(first.firstSeq + 1));
    expect(second.firstSeq).toBeGreaterThan(first.firstSeq + 1);
    expect(messages).toHaveLength(1);
  });

  it('append: refuses past its deadline with the LATE refusal, which the link reads as a timeout', async () => {
    const keys = fresh();
    const args = appendArgs({ pubsubChannel: undefined, ...options, batches: [[{ event: 'a', data: '1' }]] });
    // A deadline of 1 ms after the epoch: long past in Redis's clock.
    await expect(link.command('EVAL', appendScript(publish), 5, ...appendKeys(appendKeysOf(keys, 'late')), 1, ...args)).rejects.toBeInstanceOf(RedisTimeoutError);
    expect(await link.command('EXISTS', keys.stream('late'))).toBe(0);
  });

  async function appendTwo(keys: RedisKeys, channel: string): Promise<number> {
    const reply = await link.write(
      appendScript(publish),
      appendKeys(appendKeysOf(keys, channel)),
      appendArgs({ pubsubChannel: undefined, ...options, batches: [[{ event: 'a', data: '1', id: 'custom-1' }], [{ event: 'b', data: '2' }]] }),
    );
    return decodeAppendReply(reply).firstSeq;
  }

  async function read(keys: RedisKeys, channel: string, lastEventId: string, mode: ReadMode) {
    const channelKeys = { stream: keys.stream(channel), meta: keys.meta(channel), ...keys.ids(channel) };
    const reply = await link.read(READ_SCRIPT, readKeys(epochOf(keys, channel), [channelKeys]), readArgs({ lastEventId, ...options, mode, marked: false }));
    return decodeReadReply(reply, 1);
  }

  it('read: the events after a position, a custom id, the start, or an empty position; unknown ids incomplete', async () => {
    const keys = fresh();
    const first = await appendTwo(keys, 'feed');

    const afterFirst = await read(keys, 'feed', String(first), READ_MODE.afterId);
    expect(afterFirst.complete).toBe(true);
    expect(afterFirst.channels).toHaveLength(1);
    const [channel] = afterFirst.channels;
    expect(channel!.lastId).toBe(String(first + 1));
    expect(channel!.lastSeq).toBe(String(first + 1));
    expect(channel!.entries.map((entry) => decodeEntry('feed', entry))).toEqual([
      { seq: first + 1, prevSeq: first, record: { seq: first + 1, id: String(first + 1), channel: 'feed', event: 'b', data: '2' } },
    ]);
    expect(afterFirst.nowUs).toBeGreaterThan(first);
    expect(afterFirst.lastHandedOut).toBe(first + 1);

    const afterCustom = await read(keys, 'feed', 'custom-1', READ_MODE.afterId);
    expect(afterCustom.complete).toBe(true);
    expect(afterCustom.channels[0]!.entries.map((entry) => decodeEntry('feed', entry).seq)).toEqual([first + 1]);

    // Newest first, as the script answers.
    const fromStart = await read(keys, 'feed', '', READ_MODE.fromStart);
    expect(fromStart.complete).toBe(true);
    expect(fromStart.channels[0]!.entries.map((entry) => decodeEntry('feed', entry).record.id)).toEqual([String(first + 1), 'custom-1']);

    const sinceEmpty = await read(keys, 'feed', String(first - 1), READ_MODE.emptyAt);
    expect(sinceEmpty.complete).toBe(true);
    expect(sinceEmpty.channels[0]!.entries).toHaveLength(2);

    const unknown = await read(keys, 'feed', 'never-published', READ_MODE.afterId);
    expect(unknown.complete).toBe(false);
  });

  it('position: where a channel stands, the entries after a position, and the mark of a first read', async () => {
    const keys = fresh();
    const first = await appendTwo(keys, 'pos');
    const at = (channel: string) => ({ epoch: epochOf(keys, channel), stream: keys.stream(channel), meta: keys.meta(channel) });

    const standing = decodePositionReply(await link.read(POSITION_SCRIPT, positionKeys(at('pos')), positionArgs({ afterSeq: 0, readEntries: false })));
    expect(standing.last).toBe(first + 1);
    expect(standing.entries).toEqual([]);
    expect(Number(standing.epoch)).toBeGreaterThan(0);
    expect(standing.nowUs).toBeGreaterThanOrEqual(first);

    const gap = decodePositionReply(await link.read(POSITION_SCRIPT, positionKeys(at('pos')), positionArgs({ afterSeq: first, readEntries: true })));
    expect(gap.entries.map((entry) => decodeEntry('pos', entry).seq)).toEqual([first + 1]);

    // A first read on a channel Redis knows nothing of marks it as born at that position.
    const marked = decodePositionReply(
      await link.read(POSITION_SCRIPT, positionKeys(at('new')), positionArgs({ afterSeq: 12345, readEntries: true, markWithTtl: 60_000 })),
    );
    expect(marked.last).toBe(0);
    expect(marked.entries).toEqual([]);
    expect(await link.command('HGET', keys.meta('new'), 'born')).toBe('12345');
    expect(Number(await link.command('PTTL', keys.meta('new')))).toBeGreaterThan(0);
  });

  it('heartbeat and alive: the first beat is forgotten, the next remembered; alive lists the instance', async () => {
    const instances = `${fresh().prefix}presence`;
    const beat = async (instance: string) =>
      decodeHeartbeatReply(await link.read(HEARTBEAT_SCRIPT, heartbeatKeys(instances), heartbeatArgs({ instance, ttlMs: 5000, forgetAfterMs: 60_000 })));
    expect(await beat('one')).toEqual({ forgotten: true });
    expect(await beat('one')).toEqual({ forgotten: false });
    expect(await beat('two')).toEqual({ forgotten: true });
    const alive = decodeAliveReply(await link.read(ALIVE_SCRIPT, aliveKeys(instances), aliveArgs({ ttlMs: 5000 })));
    expect([...alive].sort()).toEqual(['one', 'two']);
  });
});
