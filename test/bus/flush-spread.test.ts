/**
 * One publish to many streams: the end-of-tick flush writes a slice of subscribers per turn
 * of the event loop, so a broadcast to 100,000 streams cannot hold the loop for the whole
 * fan-out. Every subscriber still gets every frame exactly once and in order, including
 * frames published while it waited for its slice. Real Subscribers and TickFlusher; the
 * sinks record instead of writing to sockets (real sockets: the scale bench).
 */
import { describe, expect, it } from 'vitest';
import { Frame } from '../../src/bus/Frame.js';
import { Subscriber, type StreamSink } from '../../src/bus/Subscriber.js';
import { FLUSHES_PER_TURN, TickFlusher } from '../../src/bus/TickFlusher.js';

const STREAMS = 9000;

class RecordingSink implements StreamSink {
  readonly written: string[] = [];
  readonly writableLength = 0;
  constructor(private readonly log: { writes: number }) {}
  write(frame: Frame): boolean {
    this.log.writes++;
    this.written.push(frame.bytes.toString());
    return true;
  }
  writeAll(frames: readonly Frame[]): boolean {
    this.log.writes++;
    for (const frame of frames) this.written.push(frame.bytes.toString());
    return true;
  }
  onDrain(): void {}
  end(): void {}
  destroy(): void {}
}

function streams(): { subscribers: Subscriber[]; sinks: RecordingSink[]; log: { writes: number } } {
  const log = { writes: 0 };
  const flusher = new TickFlusher();
  const hooks = { maxBufferedBytes: 1 << 20, schedule: flusher.schedule, overflow: () => {} };
  const sinks = Array.from({ length: STREAMS }, () => new RecordingSink(log));
  const subscribers = sinks.map((sink, i) => new Subscriber(sink, [`c${i}`], hooks));
  return { subscribers, sinks, log };
}

/** Resolves at the next turn of the event loop, after what setImmediate queued before it. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('end-of-tick flush over many streams', () => {
  it('writes a slice per turn of the event loop and reaches every stream once', async () => {
    const { subscribers, sinks, log } = streams();
    const first = Frame.of('data: 1\n\n');
    for (const subscriber of subscribers) subscriber.send(first);
    const perTurn: number[] = [];
    let seen = 0;
    for (let turn = 0; turn < 20 && log.writes < STREAMS; turn++) {
      await nextTurn();
      perTurn.push(log.writes - seen);
      seen = log.writes;
    }
    expect(log.writes).toBe(STREAMS);
    expect(perTurn.length).toBeGreaterThanOrEqual(Math.ceil(STREAMS / FLUSHES_PER_TURN));
    for (const writes of perTurn) expect(writes).toBeLessThanOrEqual(FLUSHES_PER_TURN);
    for (const sink of sinks) expect(sink.written).toEqual(['data: 1\n\n']);
  });

  it('keeps a frame published while a subscriber waits for its slice behind the first, in order', async () => {
    const { subscribers, sinks, log } = streams();
    for (const subscriber of subscribers) subscriber.send(Frame.of('data: 1\n\n'));
    // After the first slice, before the others: the later subscribers are still waiting.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(log.writes).toBe(FLUSHES_PER_TURN);
    for (const subscriber of subscribers) subscriber.send(Frame.of('data: 2\n\n'));
    for (let turn = 0; turn < 20 && sinks.some((s) => s.written.length < 2); turn++) await nextTurn();
    for (const sink of sinks) expect(sink.written.join('')).toBe('data: 1\n\ndata: 2\n\n');
  });
});
