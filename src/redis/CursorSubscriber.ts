import createDebug from 'debug';
import { Frame } from '../bus/Frame.js';
import { Subscriber, type StreamSink, type SubscriberHooks } from '../bus/Subscriber.js';
import type { CursorReplay } from './cursorReplay.js';
import type { StreamCursor } from './streamCursor.js';
import { encodeEvent } from '../sse/encode.js';

const debug = createDebug('gripstream:cursor');

/**
 * A stream on several channels whose history lives on a Redis Cluster: its events carry the
 * stream's cursor (every channel's position, src/redis/streamCursor.ts) as their id, so the
 * one Last-Event-ID the browser keeps resumes each channel exactly. Live frames are re-encoded
 * per stream (the shared frame's id is one channel's position); a frame at or below its
 * channel's position was replayed already, or delivered twice, and is skipped per channel
 * (positions of different channels are not comparable, so no single "replayed up to").
 * Streams on one channel, and every stream without a Cluster, keep the shared frames.
 */
export class CursorSubscriber extends Subscriber {
  private cursor: StreamCursor | undefined;
  /** Live frames that came before the cursor was known (the replay read). */
  private waiting: Frame[] = [];
  /** Their bytes: unread by the client like any other, so within the same bound. */
  private waitingBytes = 0;

  constructor(
    sink: StreamSink,
    channels: readonly string[],
    private readonly limits: SubscriberHooks,
  ) {
    super(sink, channels, limits);
  }

  /** What the client has not taken, the frames waiting for the replay read included. */
  override get bufferedBytes(): number {
    return super.bufferedBytes + this.waitingBytes;
  }

  override send(frame: Frame): void {
    const origin = frame.origin;
    if (origin === undefined || frame.seq === undefined || this.closed) {
      super.send(frame);
      return;
    }
    if (this.cursor === undefined) {
      this.waiting.push(frame);
      this.waitingBytes += frame.length;
      // A replay read that is slow (a frozen master answers after commandTimeout) while the
      // other channels are busy: what waits is within maxBufferedBytes like what is unread.
      if (this.bufferedBytes > this.limits.maxBufferedBytes) {
        this.waiting = [];
        this.waitingBytes = 0;
        this.limits.overflow(this);
      }
      return;
    }
    if (!this.cursor.advance(origin.channel, frame.seq)) {
      debug('skipping %s@%d: the stream stands at %d', origin.channel, frame.seq, this.cursor.position(origin.channel));
      return;
    }
    super.send(Frame.of(encodeEvent({ event: origin.event, data: origin.data, id: this.cursor.id() }), frame.seq));
  }

  /** Writes the replay (after hold()) as the client reads it, then the live frames the cursor does not have yet. */
  replayWith(replay: CursorReplay): void {
    this.cursor = replay.cursor;
    this.replayFrom({ upTo: -Infinity, nextBatch: (maxBytes) => replay.nextBatch(maxBytes) });
    const waiting = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    for (const frame of waiting) this.send(frame);
  }

  override markClosed(): void {
    this.waiting = [];
    this.waitingBytes = 0;
    super.markClosed();
  }
}
