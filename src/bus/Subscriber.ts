import { Frame } from './Frame.js';

/**
 * Where a subscriber's frames go: a `node:http` response (request/responseSink.ts), or the
 * adapter of a web `ReadableStream`. `writableLength` is what the client has not taken yet.
 */
export interface StreamSink {
  write(frame: Frame): unknown;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
}

/** What every subscriber of one EventStream shares: one object, not two fields per connection. */
export interface SubscriberHooks {
  /** Bytes a client may leave unread before it is dropped. */
  readonly maxBufferedBytes: number;
  /** Queue this subscriber for the end-of-tick flush. */
  schedule(subscriber: Subscriber): void;
  /** The client stopped reading and passed the buffer bound. */
  overflow(subscriber: Subscriber): void;
}

/**
 * One open event-stream response. Frames delivered in the same tick are gathered and written
 * with one sink write, which costs one chunk and one syscall instead of one per event.
 * Memory per client is bounded: gathered plus socket-buffered bytes may not pass `maxBufferedBytes`.
 */
export class Subscriber {
  readonly channels: readonly string[];
  /** Set when a write happened since the last keep-alive round, so busy streams get none. */
  active = true;
  closed = false;

  // Most ticks carry one frame per subscriber: keep it alone and write its shared bytes;
  // only a second frame in the same tick starts an array, joined into one write at flush.
  private pending: Frame | Frame[] | undefined;
  private pendingBytes = 0;
  /** While a replay is being written, live frames wait here so none is lost or doubled. */
  private held: Frame[] | undefined;
  /** Newest history position the replay covered; undefined (no boxed number) when none. */
  private replayedUpTo: number | undefined;
  /** Extra room for the opening replay, which may exceed the bound; gone once it drained. */
  private replayAllowance = 0;

  constructor(
    private readonly sink: StreamSink,
    channels: readonly string[],
    private readonly hooks: SubscriberHooks,
  ) {
    this.channels = channels;
  }

  /** Bytes this client has not yet taken: gathered here plus buffered in the response/socket. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.sink.writableLength;
  }

  send(frame: Frame): void {
    if (this.closed) return;
    // A publish that was already in the replay snapshot can still reach the bus after the
    // release (its store write finished before the read, its delivery after): skip it.
    if (frame.seq !== undefined && this.replayedUpTo !== undefined && frame.seq <= this.replayedUpTo) return;
    if (this.held !== undefined) {
      this.held.push(frame);
      return;
    }
    this.enqueue(frame);
  }

  /** True between `hold()` and `release()`. */
  protected get holding(): boolean {
    return this.held !== undefined;
  }

  /** Buffer live frames until `release()`: used while history is replayed. */
  hold(): void {
    this.held ??= [];
  }

  /** Write `replay`, then the held live frames that come after it. */
  release(replay: Frame, replayedUpTo: number): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (replayedUpTo > -Infinity) this.replayedUpTo = replayedUpTo;
    if (this.closed) return;
    // The replay is bounded by the history settings, not by `maxBufferedBytes`: let it through.
    if (replay.bytes.length > 0) {
      this.replayAllowance = replay.bytes.length;
      this.append(replay);
    }
    for (const frame of held) this.send(frame);
  }

  /** Called once per tick by the flusher. */
  flush(): void {
    if (this.closed || this.pending === undefined) return;
    const pending = this.pending;
    const frame = Array.isArray(pending) ? Frame.join(pending, this.pendingBytes) : pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.sink.write(frame);
  }

  /** End the stream politely (server shutdown). */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.markClosed();
    this.sink.end();
  }

  /** Drop the connection at once (client too slow). */
  destroy(): void {
    if (this.closed) return;
    this.markClosed();
    this.sink.destroy();
  }

  markClosed(): void {
    this.closed = true;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.held = undefined;
  }

  private enqueue(frame: Frame): void {
    const buffered = this.pendingBytes + this.sink.writableLength;
    if (this.replayAllowance > 0 && buffered <= this.hooks.maxBufferedBytes) this.replayAllowance = 0;
    if (buffered + frame.bytes.length > this.hooks.maxBufferedBytes + this.replayAllowance) {
      this.hooks.overflow(this);
      return;
    }
    this.append(frame);
  }

  private append(frame: Frame): void {
    if (this.pending === undefined) {
      this.hooks.schedule(this);
      this.pending = frame;
    } else if (Array.isArray(this.pending)) {
      this.pending.push(frame);
    } else {
      this.pending = [this.pending, frame];
    }
    this.pendingBytes += frame.bytes.length;
    this.active = true;
  }
}
