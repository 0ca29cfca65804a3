import createDebug from 'debug';
import type { ChannelBus, ChannelWatcher } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import type { Engine } from '../engine/Engine.js';
import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput } from '../history/HistoryStore.js';
import { HISTORY_TRUNCATED_EVENT } from '../history/replay.js';
import type { Metrics } from '../telemetry/Metrics.js';
import { encodeEvent } from '../sse/encode.js';
import { ChannelFeed } from './ChannelFeed.js';
import { DeliveryGate } from './DeliveryGate.js';
import { checkEvictionPolicy, type EvictionVerdict } from './evictionPolicy.js';
import type { RedisKeys } from './keys.js';
import type { BatchItem } from './message.js';
import type { RedisHistory } from './RedisHistory.js';
import type { RedisLink } from './RedisLink.js';
import { RedisSubscriptions } from './subscriptions.js';

const debug = createDebug('gripstream:redis');

/**
 * Many instances through one Redis. A publish is one script call that appends the batch to the
 * channel's stream and PUBLISHes it with its positions; every instance SUBSCRIBEs only to the
 * channels its own clients listen on (RedisSubscriptions), and a ChannelFeed per channel turns
 * the at-most-once pub/sub into exactly-once, in-order delivery by reading gaps from the stream.
 */
export class RedisEngine implements Engine, ChannelWatcher {
  /** On a Redis Cluster: SPUBLISH/SSUBSCRIBE, positions ordered per channel only. */
  private readonly sharded: boolean;
  private readonly subscriptions: RedisSubscriptions;
  /** Counts gaps filled; set by the EventStream that owns the engine. */
  metrics: Metrics | undefined;
  /** One Redis: one order across channels (positions come from one counter). Unused on a Cluster. */
  private readonly gate = new DeliveryGate(
    (channel, item) => this.emit(channel, item),
    (channel) => this.lost(channel),
  );

  /**
   * @param history The store publishes append to (its feeds read gaps from it); closed with the engine.
   * @param link The Redis connection, the same one `history` uses (src/createEngine.ts makes it once).
   * @param keys Where the channels' keys and pub/sub channels are, as `history` names them.
   */
  constructor(
    private readonly bus: ChannelBus,
    readonly history: RedisHistory,
    private readonly link: RedisLink,
    keys: RedisKeys,
  ) {
    this.sharded = link.cluster;
    // Every stream joins through a feed here, and a feed's start marks its channel.
    history.detectEviction = true;
    this.evictionPolicy = checkEvictionPolicy(link, history.keysExpire);
    this.subscriptions = new RedisSubscriptions(link, keys, (channel) => new ChannelFeed(channel, history, this));
  }

  /** The server's eviction policy as checked when the engine connected (undefined: not readable). */
  readonly evictionPolicy: Promise<EvictionVerdict | undefined>;

  async publish(channel: string, events: readonly HistoryInput[], collect: GripFrame[] | undefined): Promise<void> {
    const records = await this.history.appendAndPublish(channel, events);
    // This instance's own clients get the batch through its subscription like every other
    // instance's: one connection carries every channel's messages in the order Redis ran the
    // scripts, which is position order, so a stream on several channels sees publish order.
    if (collect === undefined) return;
    for (const record of records) {
      collect.push({ content: encodeEvent({ event: record.event, data: record.data, id: record.id }), id: record.id, prevId: record.prevId });
    }
  }

  opened(channel: string): void {
    this.subscriptions.subscribe(channel);
  }

  closed(channel: string): void {
    this.subscriptions.unsubscribe(channel);
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
    const now = this.link.redisTimeKnown(Date.now());
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

  /** One Redis: resolves once every message Redis published before now has arrived (RedisSubscriptions.fence). */
  fence(): Promise<void> {
    return this.subscriptions.fence();
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
    await this.subscriptions.close();
    await this.history.close();
  }
}
