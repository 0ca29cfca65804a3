import { afterEach, describe, expect, it } from 'vitest';
import { ChannelFeed, type FeedSource, type FeedTarget } from '../../src/redis/ChannelFeed.js';
import type { BatchItem, BatchMessage } from '../../src/redis/message.js';
import type { Gap } from '../../src/redis/RedisHistory.js';
import { pollUntil } from '../support/wait.js';

// ChannelFeed on its own (src/redis/ChannelFeed.ts): one channel's live delivery, exactly once
// and in order, from at-most-once pub/sub batches and reads of the channel's stream. Its two
// seams are driven by hand: the stream it reads (FeedSource) is a list of entries here, and
// the target (FeedTarget) records what was delivered, held, released and lost. The same feed
// against a real Redis is in test/redis/engine.test.ts and test/redis/engine-direct.test.ts.

const CHANNEL = 'room';
const WAIT = 2000;

/** The channel's stream: entries by position; a read may be answered later, by hand. */
class Stream implements FeedSource {
  epoch = 'E1';
  readonly entries: Array<{ seq: number; prevSeq: number }> = [];
  readonly reads: Array<{ afterSeq: number; firstRead: boolean }> = [];
  /** When set, reads wait until `answer()`. */
  manual = false;
  private waiting: Array<() => void> = [];
  /** Newest position Redis reports; by default the newest entry's. */
  last: number | undefined;

  append(...seqs: number[]): BatchMessage {
    const prevSeq = this.entries.at(-1)?.seq ?? 0;
    let prev = prevSeq;
    for (const seq of seqs) {
      this.entries.push({ seq, prevSeq: prev });
      prev = seq;
    }
    return batch(this.epoch, prevSeq, seqs);
  }

  gapAfter(channel: string, afterSeq: number, options: { firstRead: boolean }): Promise<Gap> {
    this.reads.push({ afterSeq, firstRead: options.firstRead });
    // Answered as of when Redis ran it: now, even when the reply is held back.
    const gap: Gap = {
      epoch: this.epoch,
      last: this.last ?? this.entries.at(-1)?.seq ?? 0,
      entries: this.entries
        .filter((entry) => entry.seq > afterSeq)
        .map(({ seq, prevSeq }) => ({ seq, prevSeq, record: { seq, id: String(seq), channel, event: 'm', data: `d${seq}` } })),
      now: 0,
    };
    if (!this.manual) return Promise.resolve(gap);
    return new Promise((resolve) => this.waiting.push(() => resolve(gap)));
  }

  answer(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** What the feed hands on. */
class Target implements FeedTarget {
  readonly delivered: number[] = [];
  readonly lostCalls: string[] = [];
  filledCount = 0;
  readonly holds: number[] = [];
  releases = 0;

  deliver(channel: string, item: BatchItem): void {
    expect(channel).toBe(CHANNEL);
    expect(item).toEqual({ seq: item.seq, id: String(item.seq), event: 'm', data: `d${item.seq}` });
    this.delivered.push(item.seq);
  }
  lost(channel: string): void {
    this.lostCalls.push(channel);
  }
  filled(): void {
    this.filledCount++;
  }
  hold(_feed: ChannelFeed, floor: number): void {
    this.holds.push(floor);
  }
  release(): void {
    this.releases++;
  }
  giveUp(): void {}
  fence(): Promise<void> {
    return Promise.resolve();
  }
}

function batch(epoch: string, prevSeq: number, seqs: number[]): BatchMessage {
  return { epoch, prevSeq, items: seqs.map((seq) => ({ seq, id: String(seq), event: 'm', data: `d${seq}` })) };
}

describe('ChannelFeed', () => {
  const feeds: ChannelFeed[] = [];
  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.stop();
  });

  function feedOn(stream: Stream, target: Target): ChannelFeed {
    const feed = new ChannelFeed(CHANNEL, stream, target);
    feeds.push(feed);
    return feed;
  }

  it('reads the stream from its start position first, then delivers live batches in order; a batch delivered twice is skipped', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    // Published while the subscription was being set up, after the first client joined (100).
    stream.append(101, 102);
    feed.start(100);
    // Live batches that arrive before the first read answered wait for it.
    feed.accept(stream.append(103));
    await pollUntil(() => target.delivered.length === 3, WAIT, 'the first read and the waiting batch');
    feed.accept(stream.append(104, 105));
    feed.accept(batch('E1', 102, [103]));
    feed.accept(stream.append(106));
    await pollUntil(() => target.delivered.length >= 6, WAIT, 'the live batches');
    expect(target.delivered).toEqual([101, 102, 103, 104, 105, 106]);
    expect(stream.reads).toEqual([{ afterSeq: 100, firstRead: true }]);
    expect(target.lostCalls).toEqual([]);
    expect(target.filledCount).toBe(0);
  });

  it('a batch that does not follow the last one delivered reveals a gap: read from the stream before anything later', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    feed.start(200);
    await pollUntil(() => stream.reads.length === 1 && target.releases === 1, WAIT, 'the first read');
    stream.manual = true;
    // 201 and 202 never came through pub/sub.
    stream.append(201, 202);
    feed.accept(stream.append(203));
    await pollUntil(() => stream.reads.length === 2, WAIT, 'the gap read');
    // Meanwhile a later batch arrives: it waits behind the gap.
    feed.accept(stream.append(204));
    expect(target.delivered).toEqual([]);
    stream.answer();
    await pollUntil(() => target.delivered.length >= 4, WAIT, 'the gap and the batches after it');
    expect(target.delivered).toEqual([201, 202, 203, 204]);
    expect(stream.reads[1]).toEqual({ afterSeq: 200, firstRead: false });
    expect(target.filledCount).toBe(1);
    expect(target.lostCalls).toEqual([]);
  });

  it('begin holds every channel at its floor; the first read starts there, and what is at or below it is not delivered', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    feed.begin(500);
    expect(target.holds).toEqual([500]);
    expect(feed.started).toBe(false);
    stream.append(450, 501);
    feed.start(400);
    await pollUntil(() => target.releases === 1, WAIT, 'the hold released after the first read');
    expect(feed.started).toBe(true);
    expect(stream.reads).toEqual([{ afterSeq: 500, firstRead: true }]);
    expect(target.delivered).toEqual([501]);
  });

  it('a new epoch (a wiped Redis) ends the live streams, then delivers the new epoch', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    feed.start(0);
    await pollUntil(() => target.releases === 1, WAIT, 'the first read');
    feed.accept(stream.append(1, 2));
    expect(target.delivered).toEqual([1, 2]);
    feed.accept(batch('E2', 0, [10]));
    expect(target.lostCalls).toEqual([CHANNEL]);
    expect(target.delivered).toEqual([1, 2, 10]);
  });

  it('a recheck that finds Redis holding less than was delivered (writes lost in a failover) ends the live streams', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    feed.start(0);
    await pollUntil(() => target.releases === 1, WAIT, 'the first read');
    feed.accept(stream.append(7, 8, 9, 10));
    expect(target.delivered).toEqual([7, 8, 9, 10]);
    // The master that had 9 and 10 died before its replica got them.
    stream.entries.splice(2);
    feed.recheck();
    await pollUntil(() => target.lostCalls.length > 0, WAIT, 'the loss');
    expect(target.lostCalls).toEqual([CHANNEL]);
    expect(target.delivered).toEqual([7, 8, 9, 10]);
  });

  it('a recheck after a reconnection delivers what pub/sub dropped meanwhile, once', async () => {
    const stream = new Stream();
    const target = new Target();
    const feed = feedOn(stream, target);
    feed.start(0);
    await pollUntil(() => target.releases === 1, WAIT, 'the first read');
    feed.accept(stream.append(1));
    feed.suspend();
    // Published while the subscription was down: no message will reveal them.
    stream.append(2, 3);
    feed.recheck();
    await pollUntil(() => target.delivered.length === 3, WAIT, 'the missed events');
    feed.accept(batch('E1', 1, [2]));
    feed.accept(stream.append(4));
    expect(target.delivered).toEqual([1, 2, 3, 4]);
    expect(target.filledCount).toBe(1);
    expect(target.lostCalls).toEqual([]);
  });
});
