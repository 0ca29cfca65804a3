import type { Engine } from '../engine/Engine.js';
import { ClosedError, GripstreamError, HistoryError, InvalidEventError } from '../errors.js';
import type { GripFrame, GripTransport } from '../grip/GripTransport.js';
import { normalizeChannel } from '../request/channelName.js';
import { assertFieldValue, serializeData } from '../sse/encode.js';
import { eventIdProblem } from '../sse/eventId.js';
import type { ServerSentEvent } from '../types.js';

interface CheckedEvent {
  event: string;
  data: string;
  id: string | undefined;
}

export interface DispatchCounters {
  eventsPublished: number;
}

/**
 * The publish flow: validate everything first (nothing is written for a bad batch), hand the
 * batch to the engine (which keeps it, encodes each event once and delivers it to the
 * subscribers), then to the GRIP proxies in one request per batch.
 */
export class Dispatcher {
  constructor(
    private readonly engine: Engine,
    private readonly grip: GripTransport | undefined,
    private readonly counters: DispatchCounters,
    private readonly isClosed: () => boolean,
  ) {}

  /**
   * All or nothing: the batch is validated, then handed to the engine, which keeps it in ONE
   * store call; only when that succeeded does any subscriber or proxy see an event of it.
   */
  async publish(channel: string, events: readonly ServerSentEvent[]): Promise<void> {
    if (this.isClosed()) throw new ClosedError();
    const name = normalizeChannel(channel);
    if (!Array.isArray(events)) throw new InvalidEventError('events must be an array of { event, data } objects');
    const checked = events.map(checkEvent);
    if (checked.length === 0) return;
    const gripFrames: GripFrame[] | undefined = this.grip === undefined ? undefined : [];
    const pending = this.hand(name, checked, gripFrames);
    // The in-memory path answers at once; awaiting only real promises saves a microtask.
    if (pending instanceof Promise) await pending;
    this.counters.eventsPublished += checked.length;
    if (gripFrames !== undefined) await this.grip!.publish(name, gripFrames);
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
function wrapHistoryError(err: unknown): never {
  // Already typed (a Redis timeout, a store's own HistoryError): callers branch on its code.
  if (err instanceof GripstreamError) throw err;
  throw new HistoryError(`history store could not keep the event: ${String(err)}`, err);
}

function checkEvent(input: ServerSentEvent): CheckedEvent {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidEventError('an event must be an object like { event, data }');
  }
  assertFieldValue('event', input.event);
  if (input.id !== undefined) {
    // Only ids a client can send back as Last-Event-ID (src/sse/eventId.ts).
    const problem = eventIdProblem(input.id);
    if (problem !== undefined) throw new InvalidEventError(`event id ${problem}: ${JSON.stringify(input.id)}`);
  }
  let data: string;
  try {
    data = serializeData(input.data);
  } catch (err) {
    throw new InvalidEventError(`event data cannot be JSON-encoded: ${String(err)}`);
  }
  return { event: input.event, data, id: input.id };
}
