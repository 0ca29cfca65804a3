/**
 * A StreamSink that keeps what it is given as text instead of writing to a socket, for driving
 * a Subscriber (and what sits above it: the bus, the engines, the Dispatcher) step by step.
 * Its subscriber's end-of-tick flush waits in `scheduled` until the test runs it, so a test
 * can look at the wire before and after the flush a TickFlusher would have run.
 */
import type { Frame } from '../../src/bus/Frame.js';
import type { Subscriber, StreamSink } from '../../src/bus/Subscriber.js';

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
