import type { BatchItem } from './batchMessage.js';

/**
 * One order across every channel an instance delivers, on one Redis.
 *
 * Why: on one Redis every position comes from one counter (the `epoch` hash), so the order of
 * positions IS the publish order across channels, and a stream on several channels uses them
 * as its ids. Each channel's feed is exactly-once and in order on its own, but a feed that is
 * reading its stream (starting, filling a gap, catching up after a reconnect) delivers older
 * positions later than the live batches the other feeds delivered meanwhile: ids would go
 * backwards, and a client resuming from the newest id it got would skip the older ones.
 *
 * So while any feed reads, every feed's deliveries wait here; when the last read is applied
 * AND fenced (see RedisEngine.fence: everything Redis published before the read has arrived),
 * what waited goes out sorted by position. Live batches arrive on one connection in the order
 * Redis ran the scripts, which is position order, so outside a read nothing waits.
 */
export class DeliveryGate {
  private holders = 0;
  private held: Array<{ channel: string; item: BatchItem }> = [];
  /** The newest position that went out: nothing older may follow it. */
  private newest = 0;

  constructor(
    private readonly emit: (channel: string, item: BatchItem) => void,
    /**
     * An item older than one already out (a feed whose hold had to be given up, see
     * ChannelFeed): it is not sent; the channel's streams end so that they resume from history.
     */
    private readonly behind: (channel: string) => void,
  ) {}

  /** Deliveries wait from now until every `hold` has been matched by a `release`. */
  hold(): void {
    this.holders++;
  }

  release(): void {
    if (this.holders === 0 || --this.holders > 0) return;
    const held = this.held;
    this.held = [];
    // Stable: a channel's own items are in order already; across channels, position order.
    held.sort((a, b) => a.item.seq - b.item.seq);
    for (const { channel, item } of held) this.send(channel, item);
  }

  deliver(channel: string, item: BatchItem): void {
    if (this.holders > 0) this.held.push({ channel, item });
    else this.send(channel, item);
  }

  private send(channel: string, item: BatchItem): void {
    if (item.seq < this.newest) {
      this.behind(channel);
      return;
    }
    this.newest = item.seq;
    this.emit(channel, item);
  }

  /** Items waiting for a read to finish (a measure for tests and debug output). */
  get waiting(): number {
    return this.held.length;
  }
}
