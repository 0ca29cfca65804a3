import createDebug from 'debug';
import type { ChannelBus, ChannelWatcher } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput } from '../history/HistoryStore.js';
import type { RedisSubscriberLike } from './RedisClientLike.js';
import type { RedisHistory } from './RedisHistory.js';
import { HISTORY_TRUNCATED_EVENT } from '../history/replay.js';
import { encodeEvent } from '../sse/encode.js';
import { decodeBatch, type BatchItem, type BatchMessage } from './message.js';
import { ChannelFeed } from './ChannelFeed.js';
import { DeliveryGate } from './DeliveryGate.js';
import { checkEvictionPolicy, type EvictionVerdict } from './evictionPolicy.js';
import type { Engine } from '../engine/Engine.js';
import type { Metrics } from '../ops/Metrics.js';

const debug = createDebug('gripstream:redis');

/** How much earlier than now a feed on a Cluster starts reading (masters' clocks may differ). */
const CLUSTER_SKEW_MS = 1000;
/** First delay before a failed (re)subscription is sent again; it doubles up to the max. */
const SUBSCRIBE_RETRY_MS = 100;
const SUBSCRIBE_RETRY_MAX_MS = 2000;
/**
 * A Cluster's subscriber connections change in bursts (a dead master's subscriber is replaced
 * about a hundred times a second until its replica takes over): every channel is confirmed
 * again at most this often while they last, and once after the last change.
 */
const RESUBSCRIBE_EVERY_MS = 250;

/** A channel's subscription being confirmed: `again` when a change came in meanwhile. */
interface Confirming {
  again: boolean;
  attempt: number;
}

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
  private readonly confirming = new Map<ChannelFeed, Confirming>();
  private resubscribeTimer: NodeJS.Timeout | undefined;
  /** Counts gaps filled; set by the EventStream that owns the engine. */
  metrics: Metrics | undefined;
  /** One Redis: one order across channels (positions come from one counter). Unused on a Cluster. */
  private readonly gate = new DeliveryGate(
    (channel, item) => this.emit(channel, item),
    (channel) => this.lost(channel),
  );

  constructor(
    private readonly bus: ChannelBus,
    readonly history: RedisHistory,
  ) {
    this.sharded = history.sharded;
    // Every stream joins through a feed here, and a feed's start marks its channel.
    history.detectEviction = true;
    this.evictionPolicy = checkEvictionPolicy(history.link, history.keysExpire);
  }

  /** The server's eviction policy as checked when the engine connected (undefined: not readable). */
  readonly evictionPolicy: Promise<EvictionVerdict | undefined>;

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
    if (!this.sharded) {
      // One Redis: every channel's deliveries wait until this feed has read where it starts
      // (see DeliveryGate), and that read is sent once the subscription is confirmed, so it
      // covers everything up to the first live batch: a stream that joined on this channel
      // and others never gets their newer events before this one's older ones.
      const joinedAt = Date.now();
      feed.begin(this.history.link.redisTimeKnown(joinedAt) ?? 0);
      this.joinedAt.set(feed, joinedAt);
      this.confirm(feed);
      return;
    }
    // The feed delivers what was appended after this moment (in Redis's clock), read from the
    // stream; the subscription then carries on and its recheck reads what came in between:
    // nothing published after the first client joined is missed. On a Cluster each channel's
    // positions come from its master's clock: start a clock-skew allowance earlier (what the
    // stream had already is skipped by the streams' own positions).
    this.startFeed(feed, Date.now() - CLUSTER_SKEW_MS);
    this.confirm(feed);
  }

  /** One Redis: when each feed's first client joined, until its subscription is confirmed. */
  private readonly joinedAt = new WeakMap<ChannelFeed, number>();

  /**
   * (Re)subscribes a channel and, once Redis confirmed it, reads the stream from the last
   * position delivered: whatever was published before the subscription took effect (the
   * first one, or one re-established after a reconnect or a failover) is read, not lost. A
   * failed or unanswered subscription is sent again, with backoff, until it is confirmed.
   */
  private confirm(feed: ChannelFeed): void {
    const running = this.confirming.get(feed);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state: Confirming = { again: false, attempt: 0 };
    this.confirming.set(feed, state);
    this.sendSubscribe(feed, state);
  }

  private sendSubscribe(feed: ChannelFeed, state: Confirming): void {
    const name = this.history.pubsubChannel(feed.channel);
    const current = (): boolean => !this.shut && this.feeds.get(feed.channel) === feed;
    void this.connection()
      .then((subscriber) => {
        // Closed meanwhile: its UNSUBSCRIBE may have gone out already, do not follow it.
        if (!current()) return undefined;
        if (!this.sharded) return subscriber.subscribe(name);
        // Bounded: a subscription queued on a connection that never comes up is sent again.
        return bounded((subscriber as unknown as ShardedSubscriberLike).ssubscribe(name), this.history.link.timeoutMs);
      })
      .then(
        () => {
          if (!current()) return this.confirming.delete(feed);
          const joinedAt = this.joinedAt.get(feed);
          if (joinedAt !== undefined && !feed.started) {
            this.joinedAt.delete(feed);
            this.startFeed(feed, joinedAt);
          } else {
            feed.recheck();
          }
          state.attempt = 0;
          if (!state.again) return this.confirming.delete(feed);
          state.again = false;
          this.sendSubscribe(feed, state);
        },
        (err: unknown) => {
          if (!current()) return this.confirming.delete(feed);
          debug('subscribing %s failed (%s), trying again', feed.channel, err instanceof Error ? err.message : String(err));
          state.again = false;
          const delay = Math.min(SUBSCRIBE_RETRY_MS * 2 ** state.attempt++, SUBSCRIBE_RETRY_MAX_MS);
          setTimeout(() => (current() ? this.sendSubscribe(feed, state) : this.confirming.delete(feed)), delay).unref();
        },
      );
  }

  closed(channel: string): void {
    const feed = this.feeds.get(channel);
    feed?.stop();
    if (feed !== undefined) this.confirming.delete(feed);
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
    if (this.sharded) this.emit(channel, item);
    else this.gate.deliver(channel, item);
  }

  /**
   * One Redis: where a stream that joined just now (its channels' feeds begun) starts. Its new
   * channels' feeds deliver what is above their floor (Redis's clock when they began, at most
   * this), the others everything that arrives from now; events that went out before it joined,
   * or that arrive late from before it (in flight), are at or below it. Skipping those, the
   * stream gets exactly every event above one position, so its first id says where it stands.
   */
  joinPosition(): number | undefined {
    if (this.sharded) return undefined;
    const now = this.history.link.redisTimeKnown(Date.now());
    return now === undefined ? undefined : Math.max(now, this.gate.newestSent);
  }

  hold(feed: ChannelFeed, floor: number): void {
    if (!this.sharded) this.gate.hold(feed, floor);
  }

  release(feed: ChannelFeed): void {
    if (!this.sharded) this.gate.release(feed, feed.channel);
  }

  giveUp(feed: ChannelFeed): void {
    if (!this.sharded) this.gate.giveUp(feed, feed.channel);
  }

  /**
   * One Redis: resolves once every message Redis published before now has arrived. A PING on
   * the subscriber connection is answered in line with its messages, after every message of a
   * script that ran before it; so a read that was answered before the PING was sent has no
   * live batch older than its answer still on the way. Bounded: a subscriber connection that is
   * down delivers nothing meanwhile, and its reconnection reads what it missed anyway.
   */
  async fence(): Promise<void> {
    if (this.sharded || this.shut) return;
    try {
      const subscriber = await bounded(this.connection(), this.history.link.timeoutMs);
      if (typeof subscriber.ping === 'function') await bounded(subscriber.ping(), this.history.link.timeoutMs);
    } catch (err) {
      debug('fence: %s', err instanceof Error ? err.message : String(err));
    }
  }

  private emit(channel: string, item: BatchItem): void {
    const content = encodeEvent({ event: item.event, data: item.data, id: item.id });
    // On a Cluster a multi-channel stream re-encodes the event with its own cursor id.
    const origin = this.sharded ? { channel, event: item.event, data: item.data } : undefined;
    this.bus.deliver(channel, Frame.of(content, item.seq, origin));
  }

  /** A gap in pub/sub delivery, read back from the channel's stream. */
  filled(): void {
    if (this.metrics !== undefined) this.metrics.redisGapsFilled++;
  }

  /**
   * Ends the channel's streams so that they resume (their store answers what it can vouch
   * for). Each is told `history-truncated` first: a client that had not received an event yet
   * has no Last-Event-ID, and its fresh reconnection alone would say nothing of the loss.
   */
  lost(channel: string): void {
    debug('channel %s: events lost between two deliveries; ending its streams so they resume', channel);
    const notice = Frame.of(encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId: null }) }));
    for (const subscriber of this.bus.subscribersOf(channel)) {
      subscriber.send(notice);
      subscriber.end();
      this.bus.remove(subscriber);
    }
  }

  async close(): Promise<void> {
    this.shut = true;
    clearTimeout(this.resubscribeTimer);
    this.confirming.clear();
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
        // From the moment the link drops, any channel may miss messages: every feed holds the
        // others until its own read after the reconnection (DeliveryGate), or a channel that
        // happens to be re-read first would send its newer events before another's missed ones.
        subscriber.on('close', () => {
          for (const feed of this.feeds.values()) feed.suspend();
        });
        return subscriber;
      });
      this.subscriber.catch(() => undefined);
    }
    return this.subscriber;
  }

  /**
   * Sharded pub/sub: ioredis keeps one subscriber connection per master, replaces one that
   * dropped or whose master failed over, and re-sends its SSUBSCRIBEs — but tells no one when
   * they took effect. So after every change of the subscribers each channel is subscribed
   * again by us, and its gap read follows that confirmation: a publish made while the
   * subscription was down is read from the stream, never silently skipped.
   */
  private watchShards(subscriber: ShardedSubscriberLike): void {
    subscriber.on('smessageBuffer', (name, message) => this.onMessage(name, message));
    for (const event of ['+subscriber', '-subscriber', 'subscribersReady', '-node', '+node'] as const) {
      subscriber.on(event, () => this.resubscribeSoon());
    }
  }

  private resubscribeSoon(): void {
    if (this.shut || this.resubscribeTimer !== undefined) return;
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = undefined;
      for (const feed of this.feeds.values()) this.confirm(feed);
    }, RESUBSCRIBE_EVERY_MS);
    this.resubscribeTimer.unref();
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

/** Rejects when `promise` has not settled within `ms`. */
function bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
