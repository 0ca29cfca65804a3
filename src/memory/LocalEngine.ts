import type { ChannelBus } from '../bus/ChannelBus.js';
import { Frame } from '../bus/Frame.js';
import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput, HistoryRecord, HistoryStore } from '../history/HistoryStore.js';
import { MemoryHistory } from './MemoryHistory.js';
import { idText } from '../history/idText.js';
import { encodeCheckedEvent, encodeEvent } from '../sse/encode.js';
import type { Engine } from '../engine/Engine.js';

/**
 * One process: the store (in memory by default, or any HistoryStore) keeps the batch, then
 * the local bus delivers it. Other instances are reached only through a GRIP proxy.
 */
export class LocalEngine implements Engine {
  /** Ids come from the publish checks or the built-in store; another store's are checked. */
  private readonly trustedIds: boolean;
  /** The built-in store: an event without a publisher id has its position as id. */
  private readonly memory: MemoryHistory | undefined;

  constructor(
    private readonly bus: ChannelBus,
    readonly history: HistoryStore | undefined,
  ) {
    this.trustedIds = history === undefined || history instanceof MemoryHistory;
    this.memory = history instanceof MemoryHistory ? history : undefined;
  }

  publish(channel: string, events: readonly HistoryInput[], collect: GripFrame[] | undefined): void | Promise<void> {
    if (this.history === undefined) return this.deliver(channel, events, undefined, collect);
    // The common case: nothing but this process's own clients needs the records.
    if (this.memory !== undefined && collect === undefined) return this.deliverKept(channel, events, this.memory.keep(channel, events));
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
      const id = record?.id ?? event.id;
      const content = this.trustedIds
        ? encodeCheckedEvent(event.event, event.data, id)
        : encodeEvent({ event: event.event, data: event.data, id });
      this.bus.deliver(channel, Frame.of(content, record?.seq));
      collect?.push({ content, id, prevId: record?.prevId });
    }
  }

  /** Events the built-in store kept from position `first` on, one after the other. */
  private deliverKept(channel: string, events: readonly HistoryInput[], first: number): void {
    for (let i = 0; i < events.length; i++) {
      const { event, data, id } = events[i]!;
      const seq = first + i;
      // Without a publisher id, the id's digits go straight into the frame (no id text made).
      const frame = id === undefined ? Frame.ofPosition(seq, event, data) : undefined;
      this.bus.deliver(channel, frame ?? Frame.of(encodeCheckedEvent(event, data, id ?? idText(seq)), seq));
    }
  }
}
