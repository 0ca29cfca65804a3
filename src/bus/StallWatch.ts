import type { Subscriber } from './Subscriber.js';

/**
 * A client over `maxBufferedBytes` that takes nothing for this long is dropped. The tick
 * rule (Subscriber) judges a client only when a publish reaches it: after a burst on a
 * channel that then goes quiet, a client that never reads would pin the burst for ever.
 */
export const STALL_DROP_MS = 5000;
/** How often the clients over the bound are looked at: a drop comes at most this late. */
export const STALL_CHECK_MS = 1000;

/**
 * The clients of one EventStream that are over their buffer bound, looked at once a second
 * by one timer that runs only while there are any. A client leaves the watch when it is
 * back within the bound, closes, or is dropped; one that took bytes since the previous
 * look has made progress and gets a fresh `STALL_DROP_MS`. The cost is nothing for
 * clients within the bound, which is all of them when every client keeps up.
 */
export class StallWatch {
  private readonly watched = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly drop: (subscriber: Subscriber) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** `subscriber` is over its bound now (idempotent: its own state says since when). */
  readonly watch = (subscriber: Subscriber): void => {
    if (this.watched.has(subscriber)) return;
    this.watched.add(subscriber);
    subscriber.startStallClock(this.now());
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.check(), STALL_CHECK_MS);
      this.timer.unref();
    }
  };

  /** How many clients are being watched (a count of subscribers, not of bytes), for tests. */
  get watchedCount(): number {
    return this.watched.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private check(): void {
    const now = this.now();
    for (const subscriber of this.watched) {
      const verdict = subscriber.stallVerdict(now, STALL_DROP_MS);
      if (verdict === 'waiting') continue;
      this.watched.delete(subscriber);
      if (verdict === 'stalled') this.drop(subscriber);
    }
    if (this.watched.size === 0) this.stop();
  }
}
