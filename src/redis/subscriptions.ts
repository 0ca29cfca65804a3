import createDebug from 'debug';
import type { ChannelFeed } from './ChannelFeed.js';
import type { RedisKeys } from './keys.js';
import { decodeBatch } from './message.js';
import type { RedisSubscriberLike } from '../redisClient.js';
import type { RedisLink } from './RedisLink.js';

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
 * The Redis engine's pub/sub subscriptions: one per channel this instance's clients listen
 * on (SUBSCRIBE, or SSUBSCRIBE on a Cluster), each with its ChannelFeed, confirmed again after
 * every reconnection or change of the Cluster's subscriber connections, and each confirmation
 * followed by the feed's read of what the subscription may have missed meanwhile.
 */
export class RedisSubscriptions {
  private readonly feeds = new Map<string, ChannelFeed>();
  /** Redis pub/sub channel → channel: where an incoming message goes. */
  private readonly channelOfPubsub = new Map<string, string>();
  private subscriber: Promise<RedisSubscriberLike> | undefined;
  private closed = false;
  /** On a Redis Cluster: SSUBSCRIBE, one subscriber connection per master. */
  private readonly sharded: boolean;
  private readonly confirming = new Map<ChannelFeed, Confirming>();
  private resubscribeTimer: NodeJS.Timeout | undefined;
  /** One Redis: when each feed's first client joined, until its subscription is confirmed. */
  private readonly joinedAt = new WeakMap<ChannelFeed, number>();

  constructor(
    private readonly link: RedisLink,
    private readonly keys: RedisKeys,
    /** Makes the feed of a channel that gets its first client. */
    private readonly newFeed: (channel: string) => ChannelFeed,
  ) {
    this.sharded = link.cluster;
  }

  /** The channel got its first local client: subscribe, and start its feed. */
  subscribe(channel: string): void {
    if (this.closed) return;
    const feed = this.newFeed(channel);
    this.feeds.set(channel, feed);
    this.channelOfPubsub.set(this.keys.pubsubChannel(channel), channel);
    if (!this.sharded) {
      // One Redis: every channel's deliveries wait until this feed has read where it starts
      // (see DeliveryGate), and that read is sent once the subscription is confirmed, so it
      // covers everything up to the first live batch: a stream that joined on this channel
      // and others never gets their newer events before this one's older ones.
      const joinedAt = Date.now();
      feed.begin(this.link.redisTimeKnown(joinedAt) ?? 0);
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

  /** The channel's last local client left: stop its feed and unsubscribe. */
  unsubscribe(channel: string): void {
    const feed = this.feeds.get(channel);
    feed?.stop();
    if (feed !== undefined) this.confirming.delete(feed);
    this.feeds.delete(channel);
    const name = this.keys.pubsubChannel(channel);
    this.channelOfPubsub.delete(name);
    void this.subscriber
      ?.then((subscriber) => (this.sharded ? (subscriber as unknown as ShardedSubscriberLike).sunsubscribe(name) : subscriber.unsubscribe(name)))
      .catch((err: unknown) => debug('unsubscribe %s failed: %O', channel, err));
  }

  /**
   * One Redis: resolves once every message Redis published before now has arrived. A PING on
   * the subscriber connection is answered in line with its messages, after every message of a
   * script that ran before it; so a read that was answered before the PING was sent has no
   * live batch older than its answer still on the way. Bounded: a subscriber connection that is
   * down delivers nothing meanwhile, and its reconnection reads what it missed anyway.
   */
  async fence(): Promise<void> {
    if (this.sharded || this.closed) return;
    try {
      const subscriber = await bounded(this.connection(), this.link.timeoutMs);
      if (typeof subscriber.ping === 'function') await bounded(subscriber.ping(), this.link.timeoutMs);
    } catch (err) {
      debug('fence: %s', err instanceof Error ? err.message : String(err));
    }
  }

  /** Stops every feed and drops the subscriber connection. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.resubscribeTimer);
    this.confirming.clear();
    for (const feed of this.feeds.values()) feed.stop();
    this.feeds.clear();
    const subscriber = await this.subscriber?.catch(() => undefined);
    subscriber?.disconnect();
  }

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
    const name = this.keys.pubsubChannel(feed.channel);
    const current = (): boolean => !this.closed && this.feeds.get(feed.channel) === feed;
    void this.connection()
      .then((subscriber) => {
        // Closed meanwhile: its UNSUBSCRIBE may have gone out already, do not follow it.
        if (!current()) return undefined;
        if (!this.sharded) return subscriber.subscribe(name);
        // Bounded: a subscription queued on a connection that never comes up is sent again.
        return bounded((subscriber as unknown as ShardedSubscriberLike).ssubscribe(name), this.link.timeoutMs);
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

  private startFeed(feed: ChannelFeed, joinedAt: number): void {
    this.link.redisTimeAt(joinedAt).then(
      (fromSeq) => feed.start(fromSeq),
      () => {
        if (this.feeds.get(feed.channel) !== feed) return;
        setTimeout(() => this.startFeed(feed, joinedAt), 250).unref();
      },
    );
  }

  private connection(): Promise<RedisSubscriberLike> {
    if (this.subscriber === undefined) {
      this.subscriber = this.link.subscriber().then((subscriber) => {
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
    if (this.closed || this.resubscribeTimer !== undefined) return;
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = undefined;
      for (const feed of this.feeds.values()) this.confirm(feed);
    }, RESUBSCRIBE_EVERY_MS);
    this.resubscribeTimer.unref();
  }

  /** After a (re)connect: subscribe again, then each feed reads what it missed meanwhile. */
  private resubscribed(): void {
    if (this.sharded) return;
    const names = [...this.channelOfPubsub.keys()];
    if (names.length === 0) return;
    void this.connection()
      .then((subscriber) => subscriber.subscribe(...names))
      .then(() => {
        for (const feed of this.feeds.values()) feed.recheck();
      })
      .catch((err: unknown) => debug('resubscribe failed: %O', err));
  }

  private onMessage(name: Buffer, message: Buffer): void {
    const channel = this.channelOfPubsub.get(name.toString());
    if (channel === undefined) return;
    const batch = decodeBatch(message);
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
