/**
 * ChannelBus against a model: any sequence of subscribers joining and leaving (one channel
 * or several, shared or alone) leaves exactly the model's subscribers on each channel, each
 * delivery reaches exactly those, and the watcher hears a channel open and close once each.
 * A channel with one subscriber holds it without a Set, so the 1 → 2 → 1 → 0 steps are the
 * edges this walks over and over.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChannelBus } from '../../src/bus/ChannelBus.js';
import { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type StreamSink, type SubscriberHooks } from '../../src/bus/Subscriber.js';

const SEED = Number(process.env.FC_SEED ?? 20261202);
const RUNS = process.env.FC_RUNS === undefined ? 200 : Number(process.env.FC_RUNS);

const CHANNELS = ['a', 'b', 'c'];

const hooks: SubscriberHooks = { maxBufferedBytes: 1 << 20, schedule: () => {}, overflow: () => {} };
/** Never written to: `Counting` overrides `send`, so nothing reaches a sink. */
const sink = {} as StreamSink;

/** A subscriber that counts the frames it was sent. */
class Counting extends Subscriber {
  received = 0;
  override send(_frame: Frame): void {
    this.received++;
  }
}

type Step = { op: 'add'; channels: string[] } | { op: 'remove'; index: number } | { op: 'deliver'; channel: string };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), channels: fc.uniqueArray(fc.constantFrom(...CHANNELS), { minLength: 1, maxLength: 3 }) }),
  fc.record({ op: fc.constant('remove' as const), index: fc.nat(20) }),
  fc.record({ op: fc.constant('deliver' as const), channel: fc.constantFrom(...CHANNELS, 'nobody') }),
);

describe('ChannelBus', () => {
  it('matches a model of channel → subscribers through any joins, leaves and deliveries', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const opened: string[] = [];
        const closed: string[] = [];
        const bus = new ChannelBus({ opened: (c) => opened.push(c), closed: (c) => closed.push(c) });
        const live: Counting[] = [];
        const expected = new Map<Counting, number>();
        const frame = Frame.of('data: x\n\n');
        for (const s of steps) {
          if (s.op === 'add') {
            const subscriber = new Counting(sink, s.channels, hooks);
            bus.add(subscriber);
            bus.add(subscriber); // a second add is a no-op
            live.push(subscriber);
            expected.set(subscriber, 0);
          } else if (s.op === 'remove') {
            if (live.length === 0) continue;
            const [subscriber] = live.splice(s.index % live.length, 1);
            expect(bus.remove(subscriber!)).toBe(true);
            expect(bus.remove(subscriber!)).toBe(false);
          } else {
            bus.deliver(s.channel, frame);
            for (const subscriber of live) {
              if (subscriber.channels.includes(s.channel)) expected.set(subscriber, expected.get(subscriber)! + 1);
            }
          }
          // The index agrees with the model after every step.
          expect(bus.connections).toBe(live.length);
          expect(new Set(bus.subscribers())).toEqual(new Set(live));
          expect([...bus.subscribers()].length).toBe(live.length);
          const counts: Record<string, number> = {};
          for (const channel of CHANNELS) {
            const on = live.filter((x) => x.channels.includes(channel));
            if (on.length > 0) counts[channel] = on.length;
            expect(new Set(bus.subscribersOf(channel))).toEqual(new Set(on));
          }
          expect(bus.counts()).toEqual(counts);
        }
        for (const [subscriber, count] of expected) expect(subscriber.received).toBe(count);
        // Each channel opened when it got its first subscriber and closed when it lost its last.
        for (const channel of CHANNELS) {
          const opens = opened.filter((c) => c === channel).length;
          const closes = closed.filter((c) => c === channel).length;
          const open = live.some((x) => x.channels.includes(channel));
          expect(opens - closes).toBe(open ? 1 : 0);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
