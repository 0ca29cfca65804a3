/**
 * A StreamSink that keeps what it is given as text instead of writing to a socket, for driving
 * a Subscriber (and what sits above it: the bus, the engines, the Dispatcher) step by step.
 * Its subscriber's end-of-tick flush waits in `scheduled` until the test runs it, so a test
 * can look at the wire before and after the flush a TickFlusher would have run.
 * `RecordingSubscriber` records one step higher: the frames a bus hands a subscriber.
 */
import type { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type StreamSink, type SubscriberHooks } from '../../src/bus/Subscriber.js';

export class RecordingSink implements StreamSink {
  /** Subscribers waiting for their end-of-tick flush: pass `schedule: (s) => sink.scheduled.push(s)`. */
  readonly scheduled: Subscriber[] = [];
  /** What reached the sink, one string per frame, without running the waiting flushes. */
  readonly written: string[] = [];
  readonly writableLength = 0;

  /** Runs the waiting end-of-tick flushes, then answers what reached the sink: reading it is reading the wire. */
  flushed(): string[] {
    for (const subscriber of this.scheduled.splice(0)) subscriber.flush();
    return this.written;
  }

  write(frame: Frame): boolean {
    this.written.push(frame.bytes.toString());
    return true;
  }
  writeAll(frames: readonly Frame[]): boolean {
    for (const frame of frames) this.write(frame);
    return true;
  }
  onDrain(): void {}
  end(): void {}
  destroy(): void {}
}

/**
 * A bus subscriber that keeps the frames it is sent and writes nothing: for engine tests that
 * look at what a publish delivers, not at the write path (test/bus/ has that).
 */
export class RecordingSubscriber extends Subscriber {
  readonly frames: Frame[] = [];
  constructor(channels: readonly string[]) {
    super({} as StreamSink, channels, {} as SubscriberHooks);
  }
  override send(frame: Frame): void {
    this.frames.push(frame);
  }
  /** The frames' bytes as text, in the order sent. */
  texts(): string[] {
    return this.frames.map((frame) => frame.bytes.toString());
  }
}
