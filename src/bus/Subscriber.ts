/**
 * Where a subscriber's bytes go: a `node:http` response, or the adapter of a web
 * `ReadableStream`. `writableLength` is what the client has not taken yet.
 */
export interface StreamSink {
  write(chunk: Buffer): unknown;
  end(): unknown;
  destroy(): unknown;
  readonly writableLength: number;
}

/** What the bus hands a subscriber: bytes encoded once per publish, and their history position. */
export interface Frame {
  bytes: Buffer;
  /** History position, when history is on; orders live frames against a replay. */
  seq?: number;
}

export interface SubscriberHooks {
  /** Queue this subscriber for the end-of-tick flush. */
  schedule(subscriber: Subscriber): void;
  /** The client stopped reading and passed the buffer bound. */
  overflow(subscriber: Subscriber): void;
}

/**
 * One open event-stream response. Frames delivered in the same tick are gathered and written
 * with one `res.write`, which costs one chunk and one syscall instead of one per event.
 * Memory per client is bounded: gathered plus socket-buffered bytes may not pass `maxBufferedBytes`.
 */
export class Subscriber {
  readonly channels: readonly string[];
  /** Set when a write happened since the last keep-alive round, so busy streams get none. */
  active = true;
  closed = false;

  // Most ticks carry one frame per subscriber: keep it alone, and only gather an array
  // (one allocation fewer per write) when a second frame arrives in the same tick.
  private pending: Buffer | Buffer[] | undefined;
  private pendingBytes = 0;
  /** While a replay is being written, live frames wait here so none is lost or doubled. */
  private held: Frame[] | undefined;
  private replayedUpTo = -Infinity;
  /** Extra room for the opening replay, which may exceed the bound; gone once it drained. */
  private replayAllowance = 0;
  private readonly canFlush: boolean;

  constructor(
    readonly res: StreamSink,
    channels: readonly string[],
    private readonly maxBufferedBytes: number,
    private readonly hooks: SubscriberHooks,
  ) {
    this.channels = channels;
    // compression middleware buffers until flushed; it adds `flush()` to the response.
    this.canFlush = typeof (res as { flush?: unknown }).flush === 'function';
  }

  /** Bytes this client has not yet taken: gathered here plus buffered in the response/socket. */
  get bufferedBytes(): number {
    return this.pendingBytes + this.res.writableLength;
  }

  send(frame: Frame): void {
    if (this.closed) return;
    // A publish that was already in the replay snapshot can still reach the bus after the
    // release (its store write finished before the read, its delivery after): skip it.
    if (frame.seq !== undefined && frame.seq <= this.replayedUpTo) return;
    if (this.held !== undefined) {
      this.held.push(frame);
      return;
    }
    this.enqueue(frame.bytes);
  }

  /** Buffer live frames until `release()`: used while history is replayed. */
  hold(): void {
    this.held ??= [];
  }

  /** Write `replay`, then the held live frames that come after it. */
  release(replay: Buffer, replayedUpTo: number): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.replayedUpTo = replayedUpTo;
    if (this.closed) return;
    // The replay is bounded by the history settings, not by `maxBufferedBytes`: let it through.
    if (replay.length > 0) {
      this.replayAllowance = replay.length;
      this.append(replay);
    }
    for (const frame of held) this.send(frame);
  }

  /** Called once per tick by the flusher. */
  flush(): void {
    if (this.closed || this.pending === undefined) return;
    const pending = this.pending!;
    const chunk = Array.isArray(pending) ? Buffer.concat(pending, this.pendingBytes) : pending;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.res.write(chunk);
    if (this.canFlush) (this.res as unknown as { flush(): void }).flush();
  }

  /** End the stream politely (server shutdown). */
  end(): void {
    if (this.closed) return;
    this.flush();
    this.markClosed();
    this.res.end();
  }

  /** Drop the connection at once (client too slow). */
  destroy(): void {
    if (this.closed) return;
    this.markClosed();
    this.res.destroy();
  }

  markClosed(): void {
    this.closed = true;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.held = undefined;
  }

  private enqueue(bytes: Buffer): void {
    const buffered = this.pendingBytes + this.res.writableLength;
    if (this.replayAllowance > 0 && buffered <= this.maxBufferedBytes) this.replayAllowance = 0;
    if (buffered + bytes.length > this.maxBufferedBytes + this.replayAllowance) {
      this.hooks.overflow(this);
      return;
    }
    this.append(bytes);
  }

  private append(bytes: Buffer): void {
    if (this.pending === undefined) {
      this.hooks.schedule(this);
      this.pending = bytes;
    } else if (Array.isArray(this.pending)) {
      this.pending.push(bytes);
    } else {
      this.pending = [this.pending, bytes];
    }
    this.pendingBytes += bytes.length;
    this.active = true;
  }
}
