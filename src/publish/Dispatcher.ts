import type { Engine } from '../engine/Engine.js';
import { ClosedError, GripPublishError, GripstreamError, HistoryError } from '../errors.js';
import type { GripFrame, GripTransport } from '../grip/GripTransport.js';
import { now, type Metrics } from '../ops/Metrics.js';
import { normalizeChannel } from '../request/channelName.js';
import { encodeEvent } from '../sse/encode.js';
import { checkBatch, type CheckedEvent } from './checkEvent.js';
import type { ServerSentEvent } from '../types.js';

/**
 * The publish flow: validate everything first (nothing is written for a bad batch), hand the
 * batch to the engine (which keeps it, encodes each event once and delivers it to the
 * subscribers), then to the GRIP proxies in one request per batch.
 */
export class Dispatcher {
  constructor(
    private readonly engine: Engine,
    private readonly grip: GripTransport | undefined,
    private readonly metrics: Metrics,
    private readonly isClosed: () => boolean,
    /** True when this tick's publishes wait for the end-of-tick write (the lag sample's end). */
    private readonly writesPending: () => boolean = () => false,
  ) {}

  /**
   * All or nothing: the batch is validated, then handed to the engine, which keeps it in ONE
   * store call (the commit point); only when that succeeded does any subscriber or proxy see
   * an event of it. Without history the proxy's acceptance is the commit point, so it goes first.
   */
  async publish(channel: string, events: readonly ServerSentEvent[]): Promise<void> {
    if (this.isClosed()) throw new ClosedError();
    const name = normalizeChannel(channel);
    const checked = checkBatch(events);
    if (checked.length === 0) return;
    const metrics = this.metrics;
    const startedAt = metrics.publishDuration.due() ? now() : 0;
    if (this.grip !== undefined && this.engine.history === undefined) {
      await this.grip.publish(name, checked.map((event) => ({ content: encodeEvent(event), id: event.id })));
    }
    const gripFrames: GripFrame[] | undefined =
      this.grip === undefined || this.engine.history === undefined ? undefined : [];
    const pending = this.hand(name, checked, gripFrames);
    // The in-memory path answers at once; awaiting only real promises saves a microtask.
    if (pending instanceof Promise) await pending;
    metrics.eventsPublished += checked.length;
    // In process, delivery happened in the call: the write follows at the end of this tick.
    if (startedAt !== 0 && this.writesPending()) metrics.startLag(startedAt);
    if (gripFrames !== undefined) await publishCommitted(this.grip!, name, gripFrames);
    if (startedAt !== 0) metrics.publishDuration.observe((now() - startedAt) / 1000);
  }

  private hand(channel: string, events: readonly CheckedEvent[], gripFrames: GripFrame[] | undefined): void | Promise<void> {
    try {
      const pending = this.engine.publish(channel, events, gripFrames);
      return pending instanceof Promise ? pending.catch(wrapHistoryError) : pending;
    } catch (err) {
      return wrapHistoryError(err);
    }
  }
}
/** The proxy's failure after the history kept the batch: say that it was published anyway. */
async function publishCommitted(grip: GripTransport, channel: string, frames: readonly GripFrame[]): Promise<void> {
  try {
    await grip.publish(channel, frames);
  } catch (err) {
    if (!(err instanceof GripPublishError)) throw err;
    throw new GripPublishError(
      `${err.message} (the events were kept in history and sent to direct clients: do not publish them again)`,
      err.statusCode,
      err.cause,
      true,
    );
  }
}

function wrapHistoryError(err: unknown): never {
  // Already typed (a Redis timeout, a store's own HistoryError): callers branch on its code.
  if (err instanceof GripstreamError) throw err;
  throw new HistoryError(`history store could not keep the event: ${String(err)}`, err);
}
