import { KEEP_ALIVE } from '../sse/frames.js';
import { Frame } from './Frame.js';
import type { Subscriber } from './Subscriber.js';

const KEEP_ALIVE_FRAME = Frame.of(KEEP_ALIVE);
/** The timer runs this many rounds per interval... */
const ROUNDS_PER_INTERVAL = 4;
/**
 * ...and a stream that wrote nothing for this many rounds gets a comment. A write can come
 * just after a round, so the longest silence is this many rounds: ¾ of the interval, which
 * leaves a quarter of it for a late timer before the interval is passed.
 */
const SILENT_ROUNDS = 3;

/**
 * One timer for every connection of an EventStream. Each subscriber counts the rounds since
 * its last write (a small integer, reset by every write), so no stream stays silent longer
 * than the interval. Unref'd, so it never keeps a process alive.
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly subscribers: () => Iterable<Subscriber>,
  ) {}

  start(): void {
    if (this.timer !== undefined || !(this.intervalMs > 0)) return;
    this.timer = setInterval(() => this.round(), this.intervalMs / ROUNDS_PER_INTERVAL);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private round(): void {
    for (const subscriber of this.subscribers()) {
      if (++subscriber.idleRounds >= SILENT_ROUNDS) subscriber.send(KEEP_ALIVE_FRAME);
    }
  }
}
