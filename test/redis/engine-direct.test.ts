import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelBus } from '../../src/bus/ChannelBus.js';
import type { GripFrame } from '../../src/grip/GripTransport.js';
import { FROM_START } from '../../src/history/HistoryStore.js';
import { Metrics } from '../../src/telemetry/Metrics.js';
import { RedisKeys } from '../../src/redis/keys.js';
import { RedisEngine } from '../../src/redis/RedisEngine.js';
import { RedisHistory } from '../../src/redis/RedisHistory.js';
import { RedisLink } from '../../src/redis/RedisLink.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { RecordingSubscriber } from '../support/recording-sink.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { pollUntil } from '../support/wait.js';

// RedisEngine and RedisLink on their own (src/redis/), wired as src/createEngine.ts wires them
// (one link for the store and the engine), against a real redis-server: no EventStream, no
// HTTP. Each "instance" is an engine with its own bus; the subscriber on a bus records the
// frames it is given. test/redis/engine.test.ts runs the same engine behind EventStreams.

const hasRedis = requireRedis();
const WAIT = 10_000;

describe.runIf(hasRedis)('RedisEngine with its RedisLink, on a real redis-server', () => {
  let prefix: string;
  const redis = useRedis();
  afterEach(runCleanups);

  function instance(): { engine: RedisEngine; bus: ChannelBus; link: RedisLink; history: RedisHistory } {
    const link = new RedisLink({ redis: redis.url, commandTimeout: 5000 });
    const history = new RedisHistory({ redis: redis.url, keyPrefix: prefix }, link);
    let engine: RedisEngine | undefined;
    const bus = new ChannelBus({ opened: (channel) => engine!.opened(channel), closed: (channel) => engine!.closed(channel) });
    engine = new RedisEngine(bus, history, link, new RedisKeys(prefix));
    engine.metrics = new Metrics(false);
    const made = engine;
    defer(() => made.close());
    return { engine, bus, link, history };
  }

  const pubsubChannels = (): string[] => redis.cli('PUBSUB', 'CHANNELS', `${prefix}*`).split('\n').filter(Boolean).sort();

  it("a publish on one engine reaches every engine's bus once, in order, with the store's ids and positions", async () => {
    prefix = `d-${randomUUID()}:`;
    const a = instance();
    const b = instance();
    const onA = new RecordingSubscriber(['room']);
    const onB = new RecordingSubscriber(['room']);
    a.bus.add(onA);
    b.bus.add(onB);
    await pollUntil(() => pubsubChannels().length === 1, WAIT, 'the subscription');
    expect(pubsubChannels()).toEqual([new RedisKeys(prefix).pubsubChannel('room')]);

    const collect: GripFrame[] = [];
    await a.engine.publish('room', [{ event: 'a', data: '1', id: 'first' }, { event: '', data: '2' }], collect);
    await b.engine.publish('room', [{ event: 'b', data: '3' }], undefined);
    await pollUntil(() => onA.frames.length >= 3 && onB.frames.length >= 3, WAIT, 'three events on both buses');

    const kept = (await a.history.readAfter(['room'], FROM_START)).records;
    expect(kept.map((record) => [record.id, record.data])).toEqual([['first', '1'], [String(kept[1]!.seq), '2'], [String(kept[2]!.seq), '3']]);
    const expected = [`id: first\nevent: a\ndata: 1\n\n`, `id: ${kept[1]!.id}\ndata: 2\n\n`, `id: ${kept[2]!.id}\nevent: b\ndata: 3\n\n`];
    expect(onA.texts()).toEqual(expected);
    expect(onB.texts()).toEqual(expected);
    expect(onA.frames.map((frame) => frame.seq)).toEqual(kept.map((record) => record.seq));
    // GRIP gets the same encoded events, with each one's predecessor.
    expect(collect).toEqual([
      { content: expected[0], id: 'first', prevId: undefined },
      { content: expected[1], id: kept[1]!.id, prevId: 'first' },
    ]);
  });

  it('the store and the engine share the one link: one command connection and one subscriber per engine', async () => {
    prefix = `d-${randomUUID()}:`;
    const { engine, bus, link } = instance();
    bus.add(new RecordingSubscriber(['room']));
    await engine.publish('room', [{ event: '', data: 'x' }], undefined);
    await pollUntil(() => pubsubChannels().length === 1, WAIT, 'the subscription');
    expect(link.status).toBe('ready');
    const clients = redis
      .cli('CLIENT', 'LIST')
      .split('\n')
      .filter((line) => line.includes('id=') && !line.includes('cmd=client|list') && !line.includes('cmd=client '));
    expect(clients).toHaveLength(2);
  });

  it('a publish made while the subscriber connection was down is read from the stream: delivered once, in order', async () => {
    prefix = `d-${randomUUID()}:`;
    const a = instance();
    const b = instance();
    const onA = new RecordingSubscriber(['room']);
    a.bus.add(onA);
    await pollUntil(() => pubsubChannels().length === 1, WAIT, 'the subscription');
    await b.engine.publish('room', [{ event: '', data: 'before' }], undefined);
    await pollUntil(() => onA.frames.length === 1, WAIT, 'the first event');
    // Every pub/sub connection dropped: A's messages in between are lost to pub/sub.
    redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await b.engine.publish('room', [{ event: '', data: 'during-1' }, { event: '', data: 'during-2' }], undefined);
    await pollUntil(() => onA.frames.length >= 3, WAIT, 'the events published while it was down');
    await b.engine.publish('room', [{ event: '', data: 'after' }], undefined);
    await pollUntil(() => onA.frames.length >= 4, WAIT, 'the event after');
    expect(onA.texts().map((text) => /data: (.*)\n/.exec(text)![1])).toEqual(['before', 'during-1', 'during-2', 'after']);
  });

  it('the last subscriber leaving unsubscribes the channel; close() ends the subscriptions and the link', async () => {
    prefix = `d-${randomUUID()}:`;
    const { engine, bus, link } = instance();
    const one = new RecordingSubscriber(['room', 'other']);
    const two = new RecordingSubscriber(['room']);
    bus.add(one);
    bus.add(two);
    await pollUntil(() => pubsubChannels().length === 2, WAIT, 'two subscriptions');
    bus.remove(one);
    await pollUntil(() => pubsubChannels().length === 1, WAIT, '"other" unsubscribed');
    expect(pubsubChannels()).toEqual([new RedisKeys(prefix).pubsubChannel('room')]);
    await engine.close();
    await pollUntil(() => pubsubChannels().length === 0, WAIT, 'every subscription gone');
    await pollUntil(() => link.status === 'end', WAIT, 'the link closed');
  });
});
