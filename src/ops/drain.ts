import { Frame } from '../bus/Frame.js';
import { MAX_TIMER_DELAY } from '../config/defaults.js';
import { describeValue } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { Subscriber } from '../bus/Subscriber.js';
import { encodeRetry } from '../sse/encode.js';

/** Waves are at least this far apart: finer steps would only add timers. */
const WAVE_MS = 100;
/**
 * The waves fill this share of the window: the last clients are told to go with time left
 * for their sockets to flush before the window (and usually the process) ends.
 */
const SPREAD = 0.9;

/** `drain(windowMs)`'s argument: a window a timer can keep; 0 ends every stream at once. */
export function drainWindowOf(windowMs: unknown): number {
  if (typeof windowMs !== 'number' || !(windowMs >= 0) || windowMs > MAX_TIMER_DELAY) {
    throw new InvalidConfigError(`drain(windowMs) takes a number of ms from 0 to ${MAX_TIMER_DELAY}, got ${describeValue(windowMs)}`);
  }
  return windowMs;
}

/** What a drain needs from its EventStream. */
export interface DrainTarget {
  /** Every open stream, once each. */
  subscribers(): Iterable<Subscriber>;
  /** Ends one stream politely (its queued frames first) and takes it off the bus (and counts it: drops by `drain`). */
  end(subscriber: Subscriber): void;
}

/**
 * Ends the open streams in waves spread over a window instead of all at once, so their
 * reconnections reach the other instances spread over the same window (plus a random `retry:`
 * each, which spreads the clients of one wave over the gap to the next). Each client resumes
 * with its Last-Event-ID; with a shared history (the Redis engine) it misses nothing.
 */
export class Drain {
  readonly done: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private finishNow: (() => void) | undefined;

  constructor(
    private readonly target: DrainTarget,
    windowMs: number,
    random: () => number = Math.random,
  ) {
    const streams = shuffled([...target.subscribers()], random);
    const waves = Math.max(1, Math.min(streams.length, Math.floor((windowMs * SPREAD) / WAVE_MS)));
    const step = (windowMs * SPREAD) / waves;
    const started = Date.now();
    this.done = new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(this.timer);
        this.finishNow = undefined;
        // Streams that were being set up when the drain began were refused or are here.
        for (const subscriber of [...target.subscribers()]) this.endWithRetry(subscriber, 0);
        resolve();
      };
      this.finishNow = finish;
      const runWave = (wave: number): void => {
        const from = Math.floor((wave * streams.length) / waves);
        const to = Math.floor(((wave + 1) * streams.length) / waves);
        for (let i = from; i < to; i++) this.endWithRetry(streams[i]!, Math.floor(random() * step));
        if (wave + 1 >= waves) return finish();
        // Timed from the start, not from the last wave: late timers do not stretch the window.
        const delay = Math.max(0, started + (wave + 1) * step - Date.now());
        this.timer = setTimeout(() => runWave(wave + 1), delay);
      };
      runWave(0);
    });
  }

  /** Ends every stream left at once (close() during a drain). */
  finish(): void {
    this.finishNow?.();
  }

  private endWithRetry(subscriber: Subscriber, retryMs: number): void {
    if (subscriber.closed) return;
    subscriber.send(Frame.of(encodeRetry(retryMs)));
    this.target.end(subscriber);
  }
}

/** Fisher–Yates: which clients go first is random, so no channel or user always goes first. */
function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
