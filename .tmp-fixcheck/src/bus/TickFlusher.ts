import type { Subscriber } from './Subscriber.js';

/**
 * Gathers the subscribers written to during one tick and flushes each once at its end
 * (`process.nextTick`), so a burst of publishes becomes one write per socket without
 * holding any event past the current tick.
 */
export class TickFlusher {
  private dirty: Subscriber[] = [];

  readonly schedule = (subscriber: Subscriber): void => {
    if (this.dirty.length === 0) process.nextTick(this.flush);
    this.dirty.push(subscriber);
  };

  private readonly flush = (): void => {
    const dirty = this.dirty;
    this.dirty = [];
    for (const subscriber of dirty) subscriber.flush();
  };
}
