import { ChannelBus } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import { ClosedError, GripPublishError, HistoryError } from '../errors.js';
import type { GripFrame, GripTransport } from '../grip/GripTransport.js';
import type { HistoryRecord, HistoryStore } from '../history/HistoryStore.js';
import { normalizeChannel } from '../request/channelName.js';
import { encodeEvent } from '../sse/encode.js';
import { checkBatch, type CheckedEvent } from './checkEvent.js';
import type { ServerSentEvent } from '../types.js';

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
   * All or nothing: the batch is validated, then kept in history in ONE store call (the
   * commit point); only when that succeeded does any subscriber or proxy see an event of it.
   * Without history the proxy's acceptance is the commit point, so it goes first.
   */
  async publish(channel: string, events: readonly ServerSentEvent[]): Promise<void> {
    if (this.isClosed()) throw new ClosedError();
    const name = normalizeChannel(channel);
    const checked = checkBatch(events);
    if (checked.length === 0) return;
    const pending = this.remember(name, checked);
    // The in-memory store answers at once; awaiting only real promises saves a microtask.
    const records = pending instanceof Promise ? await pending : pending;
    const frames: Frame[] = [];
    const gripFrames: GripFrame[] = [];
    for (let i = 0; i < checked.length; i++) {
      const event = checked[i]!;
      const record = records?.[i];
      const id = record?.id ?? event.id;
      const content = encodeEvent({ event: event.event, data: event.data, id });
      frames.push(Frame.of(content, record?.seq));
      if (this.grip !== undefined) gripFrames.push({ content, id, prevId: record?.prevId });
    }
    if (this.grip !== undefined && records === undefined) await this.grip.publish(name, gripFrames);
    for (const frame of frames) this.bus.deliver(name, frame);
    this.counters.eventsPublished += checked.length;
    if (this.grip !== undefined && records !== undefined) await publishCommitted(this.grip, name, gripFrames);
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
  throw new HistoryError(`history store could not keep the event: ${String(err)}`, err);
}
