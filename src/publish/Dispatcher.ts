import { ChannelBus } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import { ClosedError, HistoryError, InvalidEventError } from '../errors.js';
import type { GripFrame, GripTransport } from '../grip/GripTransport.js';
import type { HistoryRecord, HistoryStore } from '../history/HistoryStore.js';
import { normalizeChannel } from '../request/channelName.js';
import { assertFieldValue, encodeEvent, serializeData } from '../sse/encode.js';
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
 * The publish flow: validate everything first (nothing is written for a bad batch), give
 * each event its history position, encode it once, hand it to the local subscribers, then
 * to the GRIP proxies in one request per batch.
 */
export class Dispatcher {
  constructor(
    private readonly bus: ChannelBus,
    private readonly history: HistoryStore | undefined,
    private readonly grip: GripTransport | undefined,
    private readonly counters: DispatchCounters,
    private readonly isClosed: () => boolean,
  ) {}

  /**
   * All or nothing: the batch is validated, then kept in history in ONE store call; only
   * when that succeeded does any subscriber or proxy see an event of it.
   */
  async publish(channel: string, events: readonly ServerSentEvent[]): Promise<void> {
    if (this.isClosed()) throw new ClosedError();
    const name = normalizeChannel(channel);
    if (!Array.isArray(events)) throw new InvalidEventError('events must be an array of { event, data } objects');
    const checked = events.map(checkEvent);
    if (checked.length === 0) return;
    const pending = this.remember(name, checked);
    // The in-memory store answers at once; awaiting only real promises saves a microtask.
    const records = pending instanceof Promise ? await pending : pending;
    const gripFrames: GripFrame[] | undefined = this.grip === undefined ? undefined : [];
    for (let i = 0; i < checked.length; i++) {
      const event = checked[i]!;
      const record = records?.[i];
      const id = record?.id ?? event.id;
      const content = encodeEvent({ event: event.event, data: event.data, id });
      this.bus.deliver(name, Frame.of(content, record?.seq));
      gripFrames?.push({ content, id, prevId: record?.prevId });
    }
    this.counters.eventsPublished += checked.length;
    if (gripFrames !== undefined) await this.grip!.publish(name, gripFrames);
  }

  private remember(
    channel: string,
    events: readonly CheckedEvent[],
  ): HistoryRecord[] | undefined | Promise<HistoryRecord[]> {
    if (this.history === undefined) return undefined;
    try {
      const pending = this.history.append(channel, events);
      return pending instanceof Promise ? pending.catch(wrapHistoryError) : pending;
    } catch (err) {
      return wrapHistoryError(err);
    }
  }
}

function wrapHistoryError(err: unknown): never {
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
