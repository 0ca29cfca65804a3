import type { Engine } from '../engine/Engine.js';
import { ClosedError, GripPublishError, GripstreamError, HistoryError } from '../errors.js';
import type { GripFrame, GripTransport } from '../grip/GripTransport.js';
import { now, type Metrics } from '../telemetry/Metrics.js';
import { normalizeChannel } from '../channelName.js';
import { encodeEvent } from '../sse/encode.js';
import { checkBatch, type CheckedEvent } from './checkEvent.js';
import type { ServerSentEvent } from '../types.js';

/** What a Dispatcher works with (named: several are optional and of the same shape). */
export interface DispatcherOptions {
  readonly engine: Engine;
  readonly grip: GripTransport | undefined;
  /** Counts events published and samples the publish duration and publish → write lag. */
  readonly metrics: Metrics;
  readonly isClosed: () => boolean;
  /**
   * True when this tick's publishes wait for the end-of-tick write (the lag sample's end).
   * Absent where delivery comes back later (the Redis engine): no lag is sampled there.
   */
  readonly writesPending?: () => boolean;
  /** Hears every GRIP publish failure (the incident log), before the caller's rejection. */
  readonly onGripFailure?: (err: unknown) => void;
}

/**
 * The publish flow: validate everything first (nothing is written for a bad batch), hand the
 * batch to the engine (which keeps it, encodes each event once and delivers it to the
 * subscribers), then to the GRIP proxies in one request per batch.
 */
export class Dispatcher {
  private readonly engine: Engine;
  private readonly grip: GripTransport | undefined;
  private readonly metrics: Metrics;
  private readonly isClosed: () => boolean;
  private readonly writesPending: (() => boolean) | undefined;
  private readonly onGripFailure: ((err: unknown) => void) | undefined;

  constructor(options: DispatcherOptions) {
    this.engine = options.engine;
    this.grip = options.grip;
    this.metrics = options.metrics;
    this.isClosed = options.isClosed;
    this.writesPending = options.writesPending;
    this.onGripFailure = options.onGripFailure;
  }

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
      await this.grip
        .publish(name, checked.map((event) => ({ content: encodeEvent(event), id: event.id })))
        .catch((err: unknown) => this.gripFailed(err));
    }
    const gripFrames: GripFrame[] | undefined =
      this.grip === undefined || this.engine.history === undefined ? undefined : [];
    const pending = this.publishToEngine(name, checked, gripFrames);
    // The in-memory path answers at once; awaiting only real promises saves a microtask.
    if (pending instanceof Promise) await pending;
    metrics.eventsPublished += checked.length;
    // In process, delivery happened in the call: the write follows at the end of this tick.
    if (startedAt !== 0 && this.writesPending?.() === true) metrics.startLag(startedAt);
    if (gripFrames !== undefined) await publishCommitted(this.grip!, name, gripFrames).catch((err: unknown) => this.gripFailed(err));
    if (startedAt !== 0) metrics.publishDuration.observe((now() - startedAt) / 1000);
  }

  private gripFailed(err: unknown): never {
    // The failure is counted by GripTransport.publish, beside the publishes and their duration
    // (gripstream_grip_publish_failures_total); here it only reaches the incident log.
    this.onGripFailure?.(err);
    throw err;
  }

  /** The engine's publish, its store failures typed as HistoryError (thrown or rejected alike). */
  private publishToEngine(channel: string, events: readonly CheckedEvent[], gripFrames: GripFrame[] | undefined): void | Promise<void> {
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
