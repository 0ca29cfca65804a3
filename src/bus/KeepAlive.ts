import { KEEP_ALIVE } from '../sse/frames.js';
import { Frame } from './Frame.js';
import type { Subscriber } from './Subscriber.js';

const KEEP_ALIVE_FRAME = Frame.of(KEEP_ALIVE);

/**
 * One timer for every connection of an EventStream: each round sends a comment to the
 * streams that wrote nothing since the round before. Unref'd, so it never keeps a process alive.
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly subscribers: () => Iterable<Subscriber>,
  ) {}

  start(): void {
    if (this.timer !== undefined || !(this.intervalMs > 0)) return;
    this.timer = setInterval(() => this.round(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    for (const subscriber of this.subscribers()) {
      if (!subscriber.active) subscriber.send(KEEP_ALIVE_FRAME);
      subscriber.active = false;
    }
  }
}
