import type { ChannelBus } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput, HistoryRecord, HistoryStore } from '../history/HistoryStore.js';
import { MemoryHistory } from '../history/MemoryHistory.js';
import { encodeCheckedEvent, encodeEvent } from '../sse/encode.js';
import type { Engine } from './Engine.js';

/**
 * One process: the store (in memory by default, or any HistoryStore) keeps the batch, then
 * the local bus delivers it. Other instances are reached only through a GRIP proxy.
 */
export class LocalEngine implements Engine {
  /** Ids come from the publish checks or the built-in store; another store's are checked. */
  private readonly trustedIds: boolean;
  /** The built-in store: an event without a publisher id has its position as id. */
  private readonly positionIds: boolean;

  constructor(
    private readonly bus: ChannelBus,
    readonly history: HistoryStore | undefined,
  ) {
    this.trustedIds = history === undefined || history instanceof MemoryHistory;
    this.positionIds = history instanceof MemoryHistory;
  }

  publish(channel: string, events: readonly HistoryInput[], collect: GripFrame[] | undefined): void | Promise<void> {
    if (this.history === undefined) return this.deliver(channel, events, undefined, collect);
    const kept = this.history.append(channel, events);
    // The in-memory store answers at once; awaiting only real promises saves a microtask.
    if (kept instanceof Promise) return kept.then((records) => this.deliver(channel, events, records, collect));
    this.deliver(channel, events, kept, collect);
  }

  async close(): Promise<void> {
    await this.history?.close?.();
  }

  private deliver(
    channel: string,
    events: readonly HistoryInput[],
    records: readonly HistoryRecord[] | undefined,
    collect: GripFrame[] | undefined,
  ): void {
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const record = records?.[i];
      if (this.positionIds && collect === undefined && record !== undefined && event.id === undefined) {
        // The common case, written without making the id's text (Frame.ofPosition).
        const frame = Frame.ofPosition(record.seq, event.event, event.data);
        if (frame !== undefined) {
          this.bus.deliver(channel, frame);
          continue;
        }
      }
      const id = record?.id ?? event.id;
      const content = this.trustedIds
        ? encodeCheckedEvent(event.event, event.data, id)
        : encodeEvent({ event: event.event, data: event.data, id });
      this.bus.deliver(channel, Frame.of(content, record?.seq));
      collect?.push({ content, id, prevId: record?.prevId });
    }
  }
}
