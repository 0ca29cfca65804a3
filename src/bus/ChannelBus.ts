import type { Frame } from './Frame.js';
import type { Subscriber } from './Subscriber.js';

/**
 * Channel → subscribers index. A publish touches only that channel's subscribers, so its
 * cost does not grow with the total number of connections.
 */
export class ChannelBus {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private readonly all = new Set<Subscriber>();

  add(subscriber: Subscriber): void {
    this.all.add(subscriber);
    for (const channel of subscriber.channels) {
      let set = this.channels.get(channel);
      if (set === undefined) {
        set = new Set();
        this.channels.set(channel, set);
      }
      set.add(subscriber);
    }
  }

  remove(subscriber: Subscriber): boolean {
    if (!this.all.delete(subscriber)) return false;
    for (const channel of subscriber.channels) {
      const set = this.channels.get(channel);
      if (set === undefined) continue;
      set.delete(subscriber);
      if (set.size === 0) this.channels.delete(channel);
    }
    return true;
  }

  deliver(channel: string, frame: Frame): void {
    const set = this.channels.get(channel);
    if (set === undefined) return;
    for (const subscriber of set) subscriber.send(frame);
  }

  get connections(): number {
    return this.all.size;
  }

  subscribers(): IterableIterator<Subscriber> {
    return this.all.values();
  }

  /** Subscribers per channel; a client on two channels counts in both. */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [channel, set] of this.channels) counts[channel] = set.size;
    return counts;
  }
}
