/**
 * The Subscriber's replay hand-over, driven step by step: a sink that records what it was
 * given (the real sockets are in the resume and property suites, where this race is one
 * interleaving among many and shows only now and then).
 */
import { describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type ReplayBatches, type SubscriberHooks } from '../../src/bus/Subscriber.js';
import { RecordingSink } from '../support/recording-sink.js';

function setUp(): { subscriber: Subscriber; sink: RecordingSink; flushAll: () => void } {
  const sink = new RecordingSink();
  const hooks: SubscriberHooks = {
    maxBufferedBytes: 1 << 20,
    schedule: (s) => sink.scheduled.push(s),
    overflow: () => {
      throw new Error('not expected to overflow');
    },
  };
  const subscriber = new Subscriber(sink, ['a'], hooks);
  return { subscriber, sink, flushAll: () => void sink.flushed() };
}

function batchesOf(text: string, upTo: number): ReplayBatches {
  let done = false;
  return {
    upTo,
    nextBatch: () => {
      if (done) return undefined;
      done = true;
      return text;
    },
  };
}

const live = (seq: number): Frame => Frame.of(`id: ${seq}\ndata: ${seq}\n\n`, seq);

describe('Subscriber: replay and live frames of the same tick', () => {
  it('a live frame already in the replay, delivered in the tick the replay starts, is not written twice', () => {
    const { subscriber, sink, flushAll } = setUp();
    subscriber.hold();
    // The publish of 5 finished its store write before the read, its delivery after: it
    // reaches the bus in the same tick as the replay that already holds it.
    subscriber.send(live(5));
    subscriber.replayFrom(batchesOf('id: 5\ndata: 5\n\n', 5));
    subscriber.send(live(6));
    flushAll();
    expect(sink.written.join('')).toBe('id: 5\ndata: 5\n\nid: 6\ndata: 6\n\n');
  });

  it('live frames held over earlier ticks follow the replay, those it holds dropped', () => {
    const { subscriber, sink, flushAll } = setUp();
    subscriber.hold();
    subscriber.send(live(4));
    flushAll();
    subscriber.send(live(7));
    subscriber.replayFrom(batchesOf('id: 4\ndata: 4\n\n', 4));
    flushAll();
    expect(sink.written.join('')).toBe('id: 4\ndata: 4\n\nid: 7\ndata: 7\n\n');
  });
});
