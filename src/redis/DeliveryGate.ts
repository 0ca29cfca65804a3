import type { BatchItem } from './message.js';

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
 * So a feed that reads holds the gate, saying the position it reads after (its floor: it
 * delivers nothing at or below it). Meanwhile every feed's items wait here, sorted, and those
 * at or below the lowest floor of the feeds holding go out at once: nothing older can come.
 * When a feed's read is applied AND fenced (RedisEngine.fence: everything Redis published
 * before the read has arrived), it lets go. Live batches arrive on one connection in the order
 * Redis ran the scripts, which is position order, so outside a read nothing waits, and a
 * stream of new channels (each holding for one read) never stops the others for longer than
 * one read.
 */
export class DeliveryGate {
  /** The feeds reading now, each with its floor. */
  private readonly holders = new Map<object, number>();
  /** Waiting items, in position order. */
  private held: Array<{ channel: string; item: BatchItem }> = [];
  /** The newest position that went out. */
  private newest = 0;
  /** Channels whose feed gave its hold up (it could not read in time): checked against `newest`. */
  private readonly overdue = new Set<string>();

  constructor(
    private readonly emit: (channel: string, item: BatchItem) => void,
    /**
     * An item of an overdue channel older than one already out (see `giveUp`): it is not
     * sent; the channel's streams end so that they resume from history, in order.
     */
    private readonly behind: (channel: string) => void,
  ) {}

  /** `holder` reads, and will deliver nothing at or below `floor`, until it calls `release`. */
  hold(holder: object, floor: number): void {
    this.holders.set(holder, floor);
  }

  /**
   * `holder` lets go normally (its read is applied and fenced). `channel`: its channel, whose
   * items are from now in order with the others again.
   */
  release(holder: object, channel: string): void {
    this.overdue.delete(channel);
    if (!this.holders.delete(holder)) return;
    this.flush();
  }

  /**
   * `holder` could not read in time and lets the others go: what its channel delivers later may
   * be older than what went out meanwhile, and is then refused (`behind`).
   */
  giveUp(holder: object, channel: string): void {
    this.overdue.add(channel);
    if (!this.holders.delete(holder)) return;
    this.flush();
  }

  deliver(channel: string, item: BatchItem): void {
    if (this.holders.size === 0 && this.held.length === 0) {
      this.send(channel, item);
      return;
    }
    // Stable insertion by position: a channel's own items are in order already.
    const held = this.held;
    let low = 0;
    let high = held.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (held[mid]!.item.seq <= item.seq) low = mid + 1;
      else high = mid;
    }
    held.splice(low, 0, { channel, item });
    this.flush();
  }

  /** The newest position that went out. */
  get newestSent(): number {
    return this.newest;
  }

  /** Items waiting for a read to finish (a measure for tests and debug output). */
  get waiting(): number {
    return this.held.length;
  }

  /** Sends what no holder can precede any more. */
  private flush(): void {
    let floor = Infinity;
    for (const value of this.holders.values()) if (value < floor) floor = value;
    const held = this.held;
    let count = 0;
    while (count < held.length && held[count]!.item.seq <= floor) count++;
    if (count === 0) return;
    const out = count === held.length ? held : held.slice(0, count);
    this.held = count === held.length ? [] : held.slice(count);
    for (const { channel, item } of out) this.send(channel, item);
  }

  private send(channel: string, item: BatchItem): void {
    if (item.seq < this.newest && this.overdue.has(channel)) {
      this.behind(channel);
      return;
    }
    if (item.seq > this.newest) this.newest = item.seq;
    this.emit(channel, item);
  }
}
