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
  /** @internal Made by `createChannelWritable()` or `createWritable()`. */
  constructor(private readonly publishBatch: PublishBatch) {
    super({ objectMode: true, highWaterMark: BATCH_HIGH_WATER_MARK });
  }

  /** @internal Node's Writable calls it: publishes one event. */
  override _write(event: ServerSentEvent, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.publishBatch([event]).then(() => callback(), callback);
  }

  /** @internal Node's Writable calls it: publishes what was written meanwhile as one batch. */
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
  /** Publishes `event`; `callback` runs once it is delivered (or with the publish's error). */
  write(event: EventOf<E>, callback?: WriteCallback): boolean;
  /** The same; `encoding` is ignored (object mode). */
  write(event: EventOf<E>, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  /** Not callable (`never`): keeps the class a `NodeJS.WritableStream` for `pipeline()`. */
  write(chunk: never, callback?: WriteCallback): boolean;
  /** Not callable (`never`): keeps the class a `NodeJS.WritableStream` for `pipeline()`. */
  write(chunk: never, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  /** Ends the stream once what was written is delivered. */
  end(callback?: () => void): this;
  /** Publishes a last `event`, then ends. */
  end(event: EventOf<E>, callback?: () => void): this;
  /** The same; `encoding` is ignored (object mode). */
  end(event: EventOf<E>, encoding: BufferEncoding, callback?: () => void): this;
  /** Not callable (`never`): keeps the class a `NodeJS.WritableStream`. */
  end(chunk: never, callback?: () => void): this;
  /** Not callable (`never`): keeps the class a `NodeJS.WritableStream`. */
  end(chunk: never, encoding: BufferEncoding, callback?: () => void): this;
}
