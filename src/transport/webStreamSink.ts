import type { Frame } from '../bus/Frame.js';
import type { StreamSink } from '../bus/Subscriber.js';

/** The most a paced replay leaves queued before it waits for the reader. */
const PACE_BYTES = 16 * 1024;

/**
 * A `ReadableStream` fed like a response. Its byte-counting queue measures what the reader
 * has not taken yet, which is what the per-client bound applies to; a replay waits for the
 * reader's pulls once `PACE_BYTES` (or half the bound, if smaller) are queued.
 */
export class WebStreamSink implements StreamSink {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Set only by `markClosed`: once the stream ended, errored or was cancelled, nothing is queued. */
  private closed = false;
  private closeListener: (() => void) | undefined;
  private finishListener: (() => void) | undefined;
  private drainListener: (() => void) | undefined;

  constructor(private readonly highWaterMark: number) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        // Called after each read while the queue is under the high-water mark.
        pull: () => this.pulled(),
        cancel: () => this.markClosed(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark }),
    );
  }

  get writableLength(): number {
    return this.closed ? 0 : this.highWaterMark - (this.controller.desiredSize ?? this.highWaterMark);
  }

  write(frame: Frame): boolean {
    this.enqueue(frame);
    return this.hasRoom();
  }

  writeAll(frames: readonly Frame[]): boolean {
    for (const frame of frames) this.enqueue(frame);
    return this.hasRoom();
  }

  onDrain(listener: () => void): void {
    this.drainListener = listener;
  }

  end(): void {
    if (this.closed) return;
    this.controller.close();
    this.markClosed();
  }

  /** Only for a client over the buffer bound: the server then drops the connection. */
  destroy(): void {
    if (this.closed) return;
    this.controller.error(new Error('gripstream: client dropped, it left more than maxBufferedBytes unread'));
    this.markClosed();
  }

  /** The subscriber's cleanup, run once however the stream ends. */
  onClose(listener: () => void): void {
    this.closeListener = listener;
  }

  /** The adapter's own cleanup, run after the subscriber's. */
  onFinish(listener: () => void): void {
    this.finishListener = listener;
  }

  private enqueue(frame: Frame): void {
    const { bytes } = frame;
    if (!this.closed && bytes.length > 0) this.controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  private hasRoom(): boolean {
    return this.writableLength < Math.min(PACE_BYTES, this.highWaterMark / 2);
  }

  private pulled(): void {
    const listener = this.drainListener;
    if (listener === undefined || !this.hasRoom()) return;
    this.drainListener = undefined;
    listener();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.drainListener = undefined;
    this.closeListener?.();
    this.finishListener?.();
  }
}
