/**
 * The figures the metrics and the operator page read from ChannelBus: subscriptions, channel
 * count, deliveries and the top channels, against a model over any joins and leaves.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelBus } from '../../src/bus/ChannelBus.js';
import { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type StreamSink, type SubscriberHooks } from '../../src/bus/Subscriber.js';
import { Metrics } from '../../src/telemetry/Metrics.js';

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = process.env.FC_RUNS === undefined ? 200 : Number(process.env.FC_RUNS);
const CHANNELS = ['a', 'b', 'c', 'd', 'e'];

const hooks: SubscriberHooks = { maxBufferedBytes: 1 << 20, schedule: () => {}, overflow: () => {} };
const sink = {} as StreamSink;

/** Takes frames without writing them anywhere. */
class Quiet extends Subscriber {
  override send(_frame: Frame): void {}
}

const joins = fc.array(fc.uniqueArray(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 3 }), { maxLength: 30 });

describe('ChannelBus figures', () => {
  it('counts subscriptions, channels, deliveries and ranks the top channels like a model', () => {
    fc.assert(
      fc.property(joins, fc.array(fc.nat(29)), fc.integer({ min: 1, max: 6 }), (joined, leaving, n) => {
        const metrics = new Metrics(false);
        const bus = new ChannelBus(undefined, metrics);
        const subscribers = joined.map((channels) => new Quiet(sink, channels, hooks));
        for (const s of subscribers) bus.add(s);
        const gone = new Set(leaving.filter((i) => i < subscribers.length));
        for (const i of gone) bus.remove(subscribers[i]!);
        const model = new Map<string, number>();
        subscribers.forEach((s, i) => {
          if (!gone.has(i)) for (const channel of s.channels) model.set(channel, (model.get(channel) ?? 0) + 1);
        });
        expect(bus.subscriptionCount()).toBe([...model.values()].reduce((a, b) => a + b, 0));
        expect(bus.channelCount).toBe(model.size);
        const top = bus.topChannels(n);
        expect(top.map((t) => t.subscribers)).toEqual([...model.values()].sort((a, b) => b - a).slice(0, n));
        for (const { channel, subscribers: count } of top) expect(model.get(channel)).toBe(count);
        for (const channel of CHANNELS) bus.deliver(channel, Frame.of('data: x\n\n'));
        expect(metrics.deliveries).toBe(bus.subscriptionCount());
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
