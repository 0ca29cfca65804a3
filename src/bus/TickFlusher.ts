import type { Metrics } from '../telemetry/Metrics.js';
import type { Subscriber } from './Subscriber.js';

/**
 * Subscribers flushed before the flush yields to the event loop (setImmediate). One write
 * costs some 10–20 µs of CPU, mostly the kernel's: a broadcast to 100,000 streams written in
 * one pass would hold the loop for well over a second, stalling every request and timer.
 */
export const FLUSHES_PER_TURN = 2000;

/**
 * Gathers the subscribers written to during one tick and flushes each once at its end
 * (`process.nextTick`), so a burst of publishes becomes one write per socket without
 * holding any event past the current tick. Past `FLUSHES_PER_TURN` subscribers, the rest
 * are flushed a slice per turn of the event loop; a subscriber waiting for its slice keeps
 * gathering what is published meanwhile, in order, and writes it with the rest.
 */
export class TickFlusher {
  private dirty: Subscriber[] = [];

  /** `metrics` hears when a flush has written everything (the publish → write lag). */
  constructor(private readonly metrics?: Metrics) {}

  readonly schedule = (subscriber: Subscriber): void => {
    if (this.dirty.length === 0) process.nextTick(this.flush);
    this.dirty.push(subscriber);
  };

  private readonly flush = (): void => {
    const dirty = this.dirty;
    this.dirty = [];
    flushSlice(dirty, 0, this.metrics);
  };

  /** True while subscribers wait for this tick's flush. */
  get pending(): boolean {
    return this.dirty.length > 0;
  }
}

function flushSlice(dirty: readonly Subscriber[], from: number, metrics: Metrics | undefined): void {
  const to = Math.min(dirty.length, from + FLUSHES_PER_TURN);
  for (let i = from; i < to; i++) dirty[i]!.flush();
  if (to < dirty.length) setImmediate(flushSlice, dirty, to, metrics);
  else metrics?.wrote();
}
