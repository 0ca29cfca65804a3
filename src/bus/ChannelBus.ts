import type { Frame } from './Frame.js';
import type { Subscriber } from './Subscriber.js';

export interface ChannelWatcher {
  opened(channel: string): void;
  closed(channel: string): void;
}

/**
 * Channel → subscribers index. A publish touches only that channel's subscribers, so its
 * cost does not grow with the total number of connections. There is no second, global set:
 * every subscriber is found through its first channel, which saves an entry per connection.
 */
export class ChannelBus {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private count = 0;

  /** `watcher` hears when a channel gets its first subscriber and loses its last (the engine). */
  constructor(private readonly watcher?: ChannelWatcher) {}

  add(subscriber: Subscriber): void {
    if (this.has(subscriber)) return;
    for (const channel of subscriber.channels) {
      let set = this.channels.get(channel);
      if (set === undefined) {
        set = new Set();
        this.channels.set(channel, set);
        this.watcher?.opened(channel);
      }
      set.add(subscriber);
    }
    this.count++;
  }

  remove(subscriber: Subscriber): boolean {
    if (!this.has(subscriber)) return false;
    for (const channel of subscriber.channels) {
      const set = this.channels.get(channel);
      if (set === undefined) continue;
      set.delete(subscriber);
      if (set.size === 0) {
        this.channels.delete(channel);
        this.watcher?.closed(channel);
      }
    }
    this.count--;
    return true;
  }

  deliver(channel: string, frame: Frame): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    for (const subscriber of set) subscriber.send(frame);
  }

  get connections(): number {
    return this.count;
  }

  /** Every subscriber once, however many channels it is on. */
  *subscribers(): IterableIterator<Subscriber> {
    for (const [channel, set] of this.channels) {
      for (const subscriber of set) if (subscriber.channels[0] === channel) yield subscriber;
    }
  }

  /** Subscribers per channel; a client on two channels counts in both. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    // defineProperty, not assignment: a channel named `__proto__` is an own key like any other.
    for (const [channel, set] of this.channels) {
      Object.defineProperty(counts, channel, { value: set.size, enumerable: true, writable: true, configurable: true });
    }
    return counts;
  }

  /** The subscribers of one channel (a copy: callers may end them while iterating). */
  subscribersOf(channel: string): Subscriber[] {
    return [...(this.channels.get(channel) ?? [])];
  }

  private has(subscriber: Subscriber): boolean {
    const first = subscriber.channels[0];
    return first !== undefined && this.channels.get(first)?.has(subscriber) === true;
  }
}
