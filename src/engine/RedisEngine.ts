import createDebug from 'debug';
import type { ChannelBus, ChannelWatcher } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput } from '../history/HistoryStore.js';
import type { RedisSubscriberLike } from '../history/RedisClientLike.js';
import type { RedisHistory } from '../history/RedisHistory.js';
import { encodeEvent } from '../sse/encode.js';
import { decodeBatch, type BatchItem, type BatchMessage } from './batchMessage.js';
import { ChannelFeed } from './ChannelFeed.js';
import type { Engine } from './Engine.js';

const debug = createDebug('gripstream:redis');

/** How much earlier than now a feed on a Cluster starts reading (masters' clocks may differ). */
const CLUSTER_SKEW_MS = 1000;
/** When feeds recheck after a Cluster's subscribers changed (a failover, a reconnect). */
const RECHECK_AFTER_CHANGE_MS = [200, 1000, 3000];

/** The sharded pub/sub side of an ioredis `Cluster` made with `shardedSubscribers: true`. */
interface ShardedSubscriberLike {
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'smessageBuffer', listener: (channel: Buffer, message: Buffer) => void): unknown;
  on(event: '+subscriber' | '-subscriber' | 'subscribersReady' | '-node' | '+node', listener: () => void): unknown;
}

/**
 * Many instances through one Redis. A publish is one script call that appends the batch to the
 * channel's stream and PUBLISHes it with its positions; every instance SUBSCRIBEs only to the
 * channels its own clients listen on, and a ChannelFeed per channel turns the at-most-once
 * pub/sub into exactly-once, in-order delivery by reading gaps from the stream.
 */
export class RedisEngine implements Engine, ChannelWatcher {
  private readonly feeds = new Map<string, ChannelFeed>();
  /** Redis pub/sub channel → channel. */
  private readonly names = new Map<string, string>();
  private subscriber: Promise<RedisSubscriberLike> | undefined;
  private shut = false;
  /** On a Redis Cluster: SPUBLISH/SSUBSCRIBE, one subscriber connection per master. */
  private readonly sharded: boolean;
  private readonly recheckTimers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly bus: ChannelBus,
    readonly history: RedisHistory,
  ) {
    this.sharded = history.sharded;
  }

  async publish(channel: string, events: readonly HistoryInput[], collect: GripFrame[] | undefined): Promise<void> {
    const { records } = await this.history.appendBatch(channel, events, true);
    // This instance's own clients get the batch through its subscription like every other
    // instance's: one connection carries every channel's messages in the order Redis ran the
    // scripts, which is position order, so a stream on several channels sees publish order.
    if (collect === undefined) return;
    for (const record of records) {
      collect.push({ content: encodeEvent({ event: record.event, data: record.data, id: record.id }), id: record.id, prevId: record.prevId });
    }
  }

  opened(channel: string): void {
    if (this.shut) return;
    const feed = new ChannelFeed(channel, this.history, this);
    this.feeds.set(channel, feed);
    const name = this.history.pubsubChannel(channel);
    this.names.set(name, channel);
    // The feed delivers what was appended after this moment (in Redis's clock), read from the
    // stream; the subscription then carries on and its recheck reads what came in between:
    // nothing published after the first client joined is missed. On a Cluster each channel's
    // positions come from its master's clock: start a clock-skew allowance earlier (what the
    // stream had already is skipped by the streams' own positions).
    this.startFeed(feed, this.sharded ? Date.now() - CLUSTER_SKEW_MS : Date.now());
    void this.connection()
      .then((subscriber) => (this.sharded ? (subscriber as unknown as ShardedSubscriberLike).ssubscribe(name) : subscriber.subscribe(name)))
      .then(() => feed.recheck())
      .catch((err: unknown) => debug('subscribe %s failed: %O', channel, err));
  }

  closed(channel: string): void {
    this.feeds.get(channel)?.stop();
    this.feeds.delete(channel);
    const name = this.history.pubsubChannel(channel);
    this.names.delete(name);
    void this.subscriber
      ?.then((subscriber) => (this.sharded ? (subscriber as unknown as ShardedSubscriberLike).sunsubscribe(name) : subscriber.unsubscribe(name)))
      .catch((err: unknown) => debug('unsubscribe %s failed: %O', channel, err));
  }

  private startFeed(feed: ChannelFeed, joinedAt: number): void {
    this.history.link.redisTimeAt(joinedAt).then(
      (fromSeq) => feed.start(fromSeq),
      () => {
        if (this.feeds.get(feed.channel) !== feed) return;
        setTimeout(() => this.startFeed(feed, joinedAt), 250).unref();
      },
    );
  }

  deliver(channel: string, item: BatchItem): void {
    const content = encodeEvent({ event: item.event, data: item.data, id: item.id });
    // On a Cluster a multi-channel stream re-encodes the event with its own cursor id.
    const origin = this.sharded ? { channel, event: item.event, data: item.data } : undefined;
    this.bus.deliver(channel, Frame.of(content, item.seq, origin));
  }

  lost(channel: string): void {
    debug('channel %s: events lost between two deliveries; ending its streams so they resume', channel);
    for (const subscriber of this.bus.subscribersOf(channel)) {
      subscriber.end();
      this.bus.remove(subscriber);
    }
  }

  async close(): Promise<void> {
    this.shut = true;
    for (const timer of this.recheckTimers.values()) clearTimeout(timer);
    for (const feed of this.feeds.values()) feed.stop();
    this.feeds.clear();
    const subscriber = await this.subscriber?.catch(() => undefined);
    subscriber?.disconnect();
    await this.history.close();
  }

  private connection(): Promise<RedisSubscriberLike> {
    if (this.subscriber === undefined) {
      this.subscriber = this.history.link.subscriber().then((subscriber) => {
        subscriber.on('error', (err) => debug('subscriber connection: %s', err.message));
        if (this.sharded) {
          this.watchShards(subscriber as unknown as ShardedSubscriberLike);
          return subscriber;
        }
        subscriber.on('messageBuffer', (name, message) => this.onMessage(name, message));
        // Every (re)connection: subscribe again (idempotent, and a client of yours may not
        // queue commands while disconnected), then read what was published meanwhile.
        subscriber.on('ready', () => this.resubscribed());
        return subscriber;
      });
      this.subscriber.catch(() => undefined);
    }
    return this.subscriber;
  }

  /**
   * Sharded pub/sub: ioredis keeps one subscriber per master and subscribes again by itself
   * after a failover or a reconnect. What was published while a master's subscriber was down
   * is read from the streams: every feed rechecks when the subscribers change, once at once
   * and again a little later (the re-subscription runs after the change is announced).
   */
  private watchShards(subscriber: ShardedSubscriberLike): void {
    subscriber.on('smessageBuffer', (name, message) => this.onMessage(name, message));
    for (const event of ['+subscriber', '-subscriber', 'subscribersReady', '-node', '+node'] as const) {
      subscriber.on(event, () => this.recheckSoon());
    }
  }

  /** Throttled: a dead master's subscriber reconnects (and fails) many times a second. */
  private recheckSoon(): void {
    if (this.shut) return;
    for (const delay of RECHECK_AFTER_CHANGE_MS) {
      if (this.recheckTimers.has(delay)) continue;
      const timer = setTimeout(() => {
        this.recheckTimers.delete(delay);
        for (const feed of this.feeds.values()) feed.recheck();
      }, delay);
      timer.unref();
      this.recheckTimers.set(delay, timer);
    }
  }

  /** After a (re)connect: subscribe again, then each feed reads what it missed meanwhile. */
  private resubscribed(): void {
    if (this.sharded) return;
    const names = [...this.names.keys()];
    if (names.length === 0) return;
    void this.connection()
      .then((subscriber) => subscriber.subscribe(...names))
      .then(() => {
        for (const feed of this.feeds.values()) feed.recheck();
      })
      .catch((err: unknown) => debug('resubscribe failed: %O', err));
  }

  private onMessage(name: Buffer, message: Buffer): void {
    const channel = this.names.get(name.toString());
    if (channel === undefined) return;
    const batch: BatchMessage | undefined = decodeBatch(message);
    if (batch === undefined) {
      debug('ignoring a malformed message on %s', channel);
      return;
    }
    this.feeds.get(channel)?.accept(batch);
  }
}
