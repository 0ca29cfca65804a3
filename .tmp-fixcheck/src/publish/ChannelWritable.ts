import { Writable } from 'node:stream';
import type { ServerSentEvent } from '../types.js';

/** Room for events waiting while a publish is in flight; they leave together as one batch. */
const BATCH_HIGH_WATER_MARK = 256;

export type PublishBatch = (events: ServerSentEvent[]) => Promise<void>;

/**
 * An object-mode Writable of events for one channel. A write's callback fires once the event
 * reached every local subscriber and every GRIP proxy accepted it, so `pipeline()` from a fast
 * source goes exactly as fast as delivery. Events written meanwhile are batched (`_writev`).
 */
export class ChannelWritable extends Writable {
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
