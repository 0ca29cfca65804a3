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
 * Comments written before the round yields to the event loop (setImmediate): with 100,000
 * idle streams one pass would hold the loop for the whole fan-out, stalling every request.
 */
const COMMENTS_PER_TURN = 2000;

/**
 * One timer for every connection of an EventStream. Each subscriber counts the rounds since
 * its last write (a small integer, reset by every write), so no stream stays silent longer
 * than the interval. Unref'd, so it never keeps a process alive.
 */
export class KeepAlive {
  private timer: NodeJS.Timeout | undefined;
  /** Set while a round is spread over several turns of the loop. */
  private resume: NodeJS.Immediate | undefined;

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
    clearImmediate(this.resume);
    this.timer = undefined;
    this.resume = undefined;
  }

  private round(): void {
    // A round still spreading when the next is due (a loop that busy): let it finish.
    if (this.resume !== undefined) return;
    this.continueRound(this.subscribers()[Symbol.iterator]());
  }

  private continueRound(subscribers: Iterator<Subscriber>): void {
    this.resume = undefined;
    let comments = 0;
    for (let next = subscribers.next(); next.done !== true; next = subscribers.next()) {
      const subscriber = next.value;
      if (++subscriber.idleRounds < SILENT_ROUNDS) continue;
      subscriber.send(KEEP_ALIVE_FRAME);
      if (++comments === COMMENTS_PER_TURN) {
        this.resume = setImmediate(() => this.continueRound(subscribers));
        return;
      }
    }
  }
}
