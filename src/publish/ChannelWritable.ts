import { Writable } from 'node:stream';
import type { EventMap, EventOf, ServerSentEvent } from '../types.js';

/** Room for events waiting while a publish is in flight; they leave together as one batch. */
const BATCH_HIGH_WATER_MARK = 256;

export type PublishBatch = (events: readonly ServerSentEvent[]) => Promise<void>;

type WriteCallback = (error: Error | null | undefined) => void;

/**
 * An object-mode Writable of events for one channel. A write's callback fires once the event
 * reached every local subscriber and every GRIP proxy accepted it, so `pipeline()` from a fast
 * source goes exactly as fast as delivery. Events written meanwhile are batched (`_writev`).
 */
export class ChannelWritable<E extends object = EventMap> extends Writable {
  constructor(private readonly publishBatch: PublishBatch) {
    super({ objectMode: true, highWaterMark: BATCH_HIGH_WATER_MARK });
  }

  override _write(event: ServerSentEvent, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.publishBatch([event]).then(() => callback(), callback);
  }

  override _writev(
    chunks: Array<{ chunk: ServerSentEvent; encoding: BufferEncoding }>,
    callback: (err?: Error | null) => void,
  ): void {
    this.publishBatch(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }
}

/**
 * `write()` and `end()` take events, not the bytes of `Writable`'s own signature, so that
 * `writable.write(12345)` is a compile error. The `never` overloads accept nothing a caller
 * can write; they only keep the class assignable to `NodeJS.WritableStream`, which
 * `pipeline()` and `readable.pipe()` ask for.
 */
export interface ChannelWritable<E extends object = EventMap> {
  write(event: EventOf<E>, callback?: WriteCallback): boolean;
  write(event: EventOf<E>, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  write(chunk: never, callback?: WriteCallback): boolean;
  write(chunk: never, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  end(callback?: () => void): this;
  end(event: EventOf<E>, callback?: () => void): this;
  end(event: EventOf<E>, encoding: BufferEncoding, callback?: () => void): this;
  end(chunk: never, callback?: () => void): this;
  end(chunk: never, encoding: BufferEncoding, callback?: () => void): this;
}
