import { Metrics } from '../telemetry/Metrics.js';
import type { Frame } from './Frame.js';
import type { Subscriber } from './Subscriber.js';

/** Hears a channel's subscriber count leave and reach zero (the engine subscribes to it meanwhile). */
export interface ChannelWatcher {
  /** `channel` got its first subscriber on this bus. */
  opened(channel: string): void;
  /** `channel` lost its last subscriber on this bus (a channel, not a stream, closed). */
  closed(channel: string): void;
  /** A subscriber joined or left `channel` (presence counts). */
  changed?(channel: string): void;
}

/**
 * Channel → subscribers index. A publish touches only that channel's subscribers, so its
 * cost does not grow with the total number of connections. There is no second, global set:
 * every subscriber is found through its first channel, which saves an entry per connection.
 * A channel with one subscriber (per-user channels: most of them) holds it without a Set,
 * which saves the Set's memory per channel and an iterator per publish.
 */
export class ChannelBus {
  private readonly channels = new Map<string, Subscriber | Set<Subscriber>>();
  private count = 0;

  /**
   * `watcher` hears when a channel gets its first subscriber and loses its last (the engine);
   * `metrics` counts the deliveries (one add per publish, whatever the number of subscribers).
   */
  constructor(
    private readonly watcher?: ChannelWatcher,
    private readonly metrics: Metrics = new Metrics(false),
  ) {}

  add(subscriber: Subscriber): void {
    if (this.has(subscriber)) return;
    for (const channel of subscriber.channels) {
      const held = this.channels.get(channel);
      if (held === undefined) {
        this.channels.set(channel, subscriber);
        this.watcher?.opened(channel);
      } else if (held instanceof Set) {
        held.add(subscriber);
      } else if (held !== subscriber) {
        this.channels.set(channel, new Set([held, subscriber]));
      }
      this.watcher?.changed?.(channel);
    }
    this.count++;
  }

  remove(subscriber: Subscriber): boolean {
    if (!this.has(subscriber)) return false;
    for (const channel of subscriber.channels) {
      const held = this.channels.get(channel);
      if (held === undefined) continue;
      if (held instanceof Set) {
        held.delete(subscriber);
        // A Set holds two or more: down to one, the channel holds that one alone again.
        if (held.size === 1) this.channels.set(channel, held.values().next().value!);
        if (held.size > 0) {
          this.watcher?.changed?.(channel);
          continue;
        }
      } else if (held !== subscriber) {
        continue;
      }
      this.channels.delete(channel);
      this.watcher?.closed(channel);
      this.watcher?.changed?.(channel);
    }
    this.count--;
    return true;
  }

  deliver(channel: string, frame: Frame): void {
    const held = this.channels.get(channel);
    if (held === undefined) return;
    if (held instanceof Set) {
      this.metrics.deliveries += held.size;
      for (const subscriber of held) subscriber.send(frame);
    } else {
      this.metrics.deliveries++;
      held.send(frame);
    }
  }

  get connections(): number {
    return this.count;
  }

  /** Channels with at least one subscriber. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** The `n` channels with the most subscribers, most first (for the operator page). */
  topChannels(n: number): Array<{ channel: string; subscribers: number }> {
    const top: Array<{ channel: string; subscribers: number }> = [];
    for (const [channel, held] of this.channels) {
      const subscribers = held instanceof Set ? held.size : 1;
      if (top.length === n && subscribers <= top[n - 1]!.subscribers) continue;
      let at = top.length;
      while (at > 0 && top[at - 1]!.subscribers < subscribers) at--;
      top.splice(at, 0, { channel, subscribers });
      if (top.length > n) top.pop();
    }
    return top;
  }

  /** Sum over channels of their subscribers (a client on two channels counts twice). */
  subscriptionCount(): number {
    let sum = 0;
    for (const held of this.channels.values()) sum += held instanceof Set ? held.size : 1;
    return sum;
  }

  /** Every subscriber once, however many channels it is on. */
  *subscribers(): IterableIterator<Subscriber> {
    for (const [channel, held] of this.channels) {
      if (!(held instanceof Set)) {
        if (held.channels[0] === channel) yield held;
        continue;
      }
      for (const subscriber of held) if (subscriber.channels[0] === channel) yield subscriber;
    }
  }

  /** Subscribers per channel; a client on two channels counts in both. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    // defineProperty, not assignment: a channel named `__proto__` is an own key like any other.
    for (const [channel, held] of this.channels) {
      const value = held instanceof Set ? held.size : 1;
      Object.defineProperty(counts, channel, { value, enumerable: true, writable: true, configurable: true });
    }
    return counts;
  }

  /** How many subscribers `channel` has. */
  countOf(channel: string): number {
    const held = this.channels.get(channel);
    return held === undefined ? 0 : held instanceof Set ? held.size : 1;
  }

  /** The subscribers of one channel (a copy: callers may end them while iterating). */
  subscribersOf(channel: string): Subscriber[] {
    const held = this.channels.get(channel);
    if (held === undefined) return [];
    return held instanceof Set ? [...held] : [held];
  }

  private has(subscriber: Subscriber): boolean {
    const first = subscriber.channels[0];
    if (first === undefined) return false;
    const held = this.channels.get(first);
    return held instanceof Set ? held.has(subscriber) : held === subscriber;
  }
}
