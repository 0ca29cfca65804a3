import { ChannelPublisher, type ChannelPublish } from './ChannelPublisher.js';

/**
 * The publishers `getChannelPublisher` hands out: the same object for a channel for as long
 * as anyone holds it, and nothing kept once nobody does. Held strongly, one per name for
 * ever, a publisher per user or per order made the map grow without end (100,000 names:
 * +19.6 MiB). A publisher has no state of its own, so a fresh one after the old was
 * collected is indistinguishable from it.
 */
export class PublisherCache {
  private readonly refs = new Map<string, WeakRef<ChannelPublisher>>();
  // A collected publisher's entry goes with it, unless the name has a newer publisher by then.
  private readonly registry = new FinalizationRegistry<string>((channel) => {
    if (this.refs.get(channel)?.deref() === undefined) this.refs.delete(channel);
  });

  /** @param publish shared by every publisher: one function, not a closure per channel. */
  constructor(private readonly publish: ChannelPublish) {}

  get(channel: string): ChannelPublisher {
    const held = this.refs.get(channel)?.deref();
    if (held !== undefined) return held;
    const publisher = new ChannelPublisher(channel, this.publish);
    this.refs.set(channel, new WeakRef(publisher));
    this.registry.register(publisher, channel);
    return publisher;
  }

  /** Names with an entry (some may be collected and not yet cleaned up), for tests. */
  get size(): number {
    return this.refs.size;
  }
}
