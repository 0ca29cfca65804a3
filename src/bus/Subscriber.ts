import type { Metrics } from '../telemetry/Metrics.js';
import { Frame } from './Frame.js';

/**
 * Where a subscriber's frames go: a `node:http` response (transport/responseSink.ts), or the
 * web transport's `ReadableStream` (transport/webStreamSink.ts). `writableLength` is what the
 * client has not taken yet.
 */
export interface StreamSink {
  /** Writes one frame; false once enough is unread that a replay should wait for `onDrain`. */
  write(frame: Frame): boolean;
  /** Writes frames in order as they are (shared buffers), without joining them into a copy. */
  writeAll(frames: readonly Frame[]): boolean;
  /** Calls `listener` once, when the client has taken what was written before a `false`. */
  onDrain(listener: () => void): void;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
  /**
   * Of the write the kernel is taking now, the bytes it has not taken yet. It falls as the
   * client reads, where `writableLength` only falls once a whole write is done (one write
   * can be a whole burst): the stall watch's sign of progress. Undefined where unknown.
   */
  readonly sendingBytes?: number;
}

/** A replay as the subscriber writes it: a batch of encoded events at a time. */
export interface ReplayBatches {
  /** Newest history position in the replay; -Infinity when it holds no event. */
  readonly upTo: number;
  /** Up to about `maxBytes` of event-stream text (at least one event); undefined when done. */
  nextBatch(maxBytes: number): string | undefined;
}

/** What every subscriber of one EventStream shares: one object, not two fields per connection. */
export interface SubscriberHooks {
  /** Bytes a client may leave unread, from earlier ticks, before it is dropped. */
  readonly maxBufferedBytes: number;
  /** Queue this subscriber for the end-of-tick flush. */
  schedule(subscriber: Subscriber): void;
  /** The client stopped reading and passed the buffer bound. */
  overflow(subscriber: Subscriber): void;
  /**
   * A write left the client over `maxBufferedBytes`: watch it, and drop it if it takes
   * nothing for a while (src/bus/StallWatch.ts), even when no further publish comes.
   */
  overBound?(subscriber: Subscriber): void;
  /** Counts the bytes written (absent in unit tests that build hooks by hand). */
  readonly metrics?: Metrics;
}

/**
 * A subscriber's life, in one field: 'open' until its stream is over for good (ended at
 * shutdown, dropped as too slow, or its client left). Nothing is written once 'closed'.
 */
type Life = 'open' | 'closed';

/** What the stall watch finds on a client over the bound. */
export type StallVerdict = 'within' | 'waiting' | 'stalled';

/**
 * Frames of one tick up to this size are joined into one buffer (one chunk, one syscall);
 * a bigger burst is written as its shared buffers, so it costs memory once, not per client.
 */
const JOIN_LIMIT = 64 * 1024;
/** Replay text encoded per write, at most (a quarter of the bound when that is smaller). */
const REPLAY_BATCH_BYTES = 64 * 1024;

/**
 * A write that leaves room (under the sink's high-water mark: 16 KiB for a socket, 64 KiB on
 * newer Node) cannot have left a client over a bound at least this large, so the common write
 * skips the unread count; below it every write is checked.
 */
const WATCH_ALWAYS_BELOW = 64 * 1024;

/** Present while a replay is written; live frames wait behind it, in order. */
interface PacedReplay {
  batches: ReplayBatches | undefined;
  held: Frame[];
  heldBytes: number;
  readonly resume: () => void;
}

/**
 * One open event-stream response. Frames delivered in the same tick are gathered and written
 * with one sink write, which costs one chunk and one syscall instead of one per event.
 *
 * The memory bound judges what the client has not taken, never the size of one burst (the
 * frames of a tick are shared buffers: a burst costs its memory once, not per client). When
 * a tick brings frames, a client over `maxBufferedBytes` is kept only if its excess is no
 * more than the previous tick's frames, or if it has not fallen further behind since the
 * first tick that found it over; otherwise it is dropped. A client that keeps up survives a
 * tick of any size; one that stops reading is dropped by the second tick after its unread
 * bytes pass the bound, and no client ever has more than the bound plus two ticks' frames
 * unread. (Unread means here, in this process: the kernel's socket buffers fill first.)
 * Ticks alone would keep a stalled client for ever once its channel goes quiet, so a write
 * that leaves it over the bound also puts it under the stall watch: over the bound and
 * taking nothing for `STALL_DROP_MS`, it is dropped whatever the publishers do next.
 */
export class Subscriber {
  readonly channels: readonly string[];
  /** Keep-alive rounds since the last write; the keep-alive timer counts them up. */
  idleRounds = 0;
  /** Set only by `markClosed`. */
  private life: Life = 'open';

  // Most ticks carry one frame per subscriber: keep it alone and write its shared bytes;
  // only a second frame in the same tick starts an array, written as one at flush.
  private pending: Frame | Frame[] | undefined;
  /** Bytes of `pending`; once flushed, of the tick just written (which the bound spares). */
  private tickBytes = 0;
  private replay: PacedReplay | undefined;
  /** Newest history position the replay covered; undefined (no boxed number) when none. */
  private replayedUpTo: number | undefined;
  /**
   * The unread bytes found when a tick first saw this client over the bound; 0 within it.
   * While over, it is kept as long as it has not fallen further behind than this.
   */
  private unreadWhenFirstOver = 0;
  /** Under the stall watch: unread plus unsent bytes at its last look, and when they last fell. */
  private stallMark = 0;
  private stallSince = 0;
  /** Replay batches written (each after the client took the one before), and at the last look. */
  private replayBatches = 0;
  private stallBatches = 0;

  constructor(
    private readonly sink: StreamSink,
    channels: readonly string[],
    private readonly hooks: SubscriberHooks,
  ) {
    this.channels = channels;
  }

  /** Whether the stream is over (see `Life`). */
  get closed(): boolean {
    return this.life === 'closed';
  }

  /** Bytes this client has not yet taken: gathered, held behind a replay, and in the sink. */
  get bufferedBytes(): number {
    return (this.pending === undefined ? 0 : this.tickBytes) + this.unreadBytes();
  }

  send(frame: Frame): void {
    if (this.life === 'closed') return;
    // A publish that was already in the replay snapshot can still reach the bus after the
    // read (its store write finished before the read, its delivery after): skip it.
    if (frame.seq !== undefined && this.replayedUpTo !== undefined && frame.seq <= this.replayedUpTo) return;
    if (this.pending === undefined) {
      if (!this.admitsTick(this.tickBytes)) {
        this.hooks.overflow(this);
        return;
      }
      this.hooks.schedule(this);
      this.pending = frame;
      this.tickBytes = frame.length;
    } else {
      if (Array.isArray(this.pending)) this.pending.push(frame);
      else this.pending = [this.pending, frame];
      this.tickBytes += frame.length;
    }
    this.idleRounds = 0;
  }

  /**
   * A stream without replay that starts above `seq`: live frames at or below it (events from
   * before it joined, still on their way) are not written.
   */
  startAbove(seq: number): void {
    this.replayedUpTo ??= seq;
  }

  /** Holds live frames from now until the replay is written: call it before reading history. */
  hold(): void {
    this.replay ??= { batches: undefined, held: [], heldBytes: 0, resume: () => this.pumpReplay() };
  }

  /** Writes `batches` as the client reads them, then the held live frames that follow. */
  replayFrom(batches: ReplayBatches): void {
    const replay = this.replay;
    if (replay === undefined || replay.batches !== undefined) return;
    if (batches.upTo > -Infinity) this.replayedUpTo = batches.upTo;
    if (this.life === 'closed') return;
    // Frames of this tick not yet flushed are held too, so the replayed ones among them are
    // dropped like the rest (they reached the bus after the store answered the read).
    this.holdPending(replay);
    if (this.replayedUpTo !== undefined) dropReplayed(replay, this.replayedUpTo);
    replay.batches = batches;
    this.pumpReplay();
  }

  /** Called once per tick by the flusher. */
  flush(): void {
    if (this.life === 'closed' || this.pending === undefined) return;
    const replay = this.replay;
    if (replay !== undefined) {
      this.holdPending(replay);
      // Held live frames count as unread: a burst held behind a replay is watched too.
      this.watchIfOver();
      return;
    }
    const pending = this.pending;
    this.pending = undefined;
    this.write(pending, this.tickBytes);
  }

  /** End the stream politely (server shutdown). */
  end(): void {
    if (this.life === 'closed') return;
    this.flush();
    this.markClosed();
    this.sink.end();
  }

  /** Drop the connection at once (client too slow). */
  destroy(): void {
    if (this.life === 'closed') return;
    this.markClosed();
    this.sink.destroy();
  }

  /** The one way to close: after the sink ended or was dropped, or when the client left. */
  markClosed(): void {
    this.life = 'closed';
    this.pending = undefined;
    this.tickBytes = 0;
    this.replay = undefined;
  }

  /** The stall watch starts timing this client (it was just found over the bound). */
  startStallClock(now: number): void {
    this.stallMark = this.unreadBytes() + (this.sink.sendingBytes ?? 0);
    this.stallBatches = this.replayBatches;
    this.stallSince = now;
  }

  /**
   * Progress is unread or unsent bytes falling between two looks (the client took some), or a
   * replay batch written since (each follows a drain): the clock starts again. A client back within the bound, or closed, leaves the watch.
   */
  stallVerdict(now: number, stallMs: number): StallVerdict {
    if (this.life === 'closed') return 'within';
    const unread = this.unreadBytes();
    if (unread <= this.hooks.maxBufferedBytes) return 'within';
    const mark = unread + (this.sink.sendingBytes ?? 0);
    // A replay under way refills what the client takes, so its unread bytes need not fall.
    if (mark < this.stallMark || this.replayBatches !== this.stallBatches) this.stallSince = now;
    this.stallMark = mark;
    this.stallBatches = this.replayBatches;
    return now - this.stallSince >= stallMs ? 'stalled' : 'waiting';
  }

  /**
   * The first frame of a tick: judge what the client left unread, not what this tick brings.
   * Over the bound, it is kept if the previous tick alone explains the excess (that tick may
   * still be on its way), or if it has not fallen further behind since it first was over.
   */
  private admitsTick(previousTick: number): boolean {
    const unread = this.unreadBytes();
    const bound = this.hooks.maxBufferedBytes;
    if (unread <= bound) {
      this.unreadWhenFirstOver = 0;
      return true;
    }
    if (this.unreadWhenFirstOver === 0) {
      this.unreadWhenFirstOver = unread;
      return true;
    }
    return unread - previousTick <= bound || unread <= this.unreadWhenFirstOver;
  }

  /** Moves this tick's frames behind the replay. */
  private holdPending(replay: PacedReplay): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    if (Array.isArray(pending)) for (const frame of pending) replay.held.push(frame);
    else replay.held.push(pending);
    replay.heldBytes += this.tickBytes;
  }

  private unreadBytes(): number {
    const replay = this.replay;
    return replay === undefined ? this.sink.writableLength : this.sink.writableLength + replay.heldBytes;
  }

  private write(frames: Frame | Frame[], bytes: number): void {
    const metrics = this.hooks.metrics;
    if (metrics !== undefined) metrics.bytesWritten += bytes;
    let room: boolean;
    if (!Array.isArray(frames)) room = this.sink.write(frames);
    else if (bytes <= JOIN_LIMIT) room = this.sink.write(Frame.join(frames, bytes));
    else room = this.sink.writeAll(frames);
    if (!room || this.hooks.maxBufferedBytes < WATCH_ALWAYS_BELOW) this.watchIfOver();
  }

  /** The watch itself costs only while a client is over the bound. */
  private watchIfOver(): void {
    if (this.unreadBytes() > this.hooks.maxBufferedBytes) this.hooks.overBound?.(this);
  }

  /** Writes replay batches while the sink has room; resumed by the sink's drain. */
  private pumpReplay(): void {
    const replay = this.replay;
    const batches = replay?.batches;
    if (this.life === 'closed' || replay === undefined || batches === undefined) return;
    const batchBytes = Math.min(REPLAY_BATCH_BYTES, Math.max(1, Math.floor(this.hooks.maxBufferedBytes / 4)));
    for (let text = batches.nextBatch(batchBytes); text !== undefined; text = batches.nextBatch(batchBytes)) {
      this.idleRounds = 0;
      this.replayBatches++;
      const frame = Frame.of(text);
      const metrics = this.hooks.metrics;
      if (metrics !== undefined) metrics.bytesWritten += frame.length;
      if (!this.sink.write(frame)) {
        this.sink.onDrain(replay.resume);
        this.watchIfOver();
        return;
      }
    }
    this.replay = undefined;
    const { held, heldBytes } = replay;
    if (held.length > 0) this.write(held.length === 1 ? held[0]! : held, heldBytes);
  }
}

/** Held live frames the replay already contains are not written twice. */
function dropReplayed(replay: PacedReplay, upTo: number): void {
  if (replay.held.length === 0) return;
  const kept: Frame[] = [];
  let bytes = 0;
  for (const frame of replay.held) {
    if (frame.seq !== undefined && frame.seq <= upTo) continue;
    kept.push(frame);
    bytes += frame.length;
  }
  replay.held = kept;
  replay.heldBytes = bytes;
}
