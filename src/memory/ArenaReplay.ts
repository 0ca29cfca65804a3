import type { HistoryRecord } from '../history/HistoryStore.js';
import { EVENTS_LOST, type ReplaySource } from '../history/ReplaySource.js';
import type { RecordArena } from './RecordArena.js';

/** One channel of a merged replay: the event it stands on, and the last it gave. */
interface Head {
  readonly channel: string;
  /** Row and position of the next event to give (`seq` Infinity: this channel is done). */
  row: number;
  seq: number;
  /** Position of the last event given (or the resume position). */
  given: number;
  /** Highest position already evicted when the replay began: losses up to it were told up front. */
  readonly evictedAtStart: number;
}

/**
 * A replay straight from the store's arena: channels merged by position with a binary heap
 * (O(log channels) per event), each channel walked along its own chain. The arena may evict,
 * compact or forget a channel while a client is slow: a head whose row no longer holds its
 * event is looked up again from the last position given, and if the channel's evictions
 * passed that position since the replay began, the source says EVENTS_LOST (the client is
 * told, then gets what is still kept).
 */
export class ArenaReplay implements ReplaySource {
  private readonly heap: Head[] = [];

  constructor(
    private readonly arena: RecordArena,
    channels: readonly string[],
    after: number,
    /** Channels' eviction marks when they have no slot (the store's floor for dropped channels). */
    private readonly droppedUpTo: () => number,
    readonly complete: boolean,
    readonly upTo: number,
  ) {
    for (const channel of channels) {
      const slot = arena.slotOf(channel);
      const evictedAtStart = slot === undefined ? droppedUpTo() : arena.evictedUpTo(slot);
      const row = slot === undefined ? -1 : arena.firstRowAfter(slot, after);
      const head: Head = { channel, row, seq: Infinity, given: after, evictedAtStart };
      this.place(head);
      if (head.seq <= upTo) this.push(head);
    }
  }

  next(): HistoryRecord | typeof EVENTS_LOST | undefined {
    const head = this.heap[0];
    if (head === undefined) return undefined;
    const arena = this.arena;
    if (!arena.holds(head.row, head.seq)) {
      // Evicted, or moved by a compaction: find where the channel stands now.
      const lost = this.relocate(head);
      this.settle(head);
      return lost ? EVENTS_LOST : this.next();
    }
    const record = arena.recordAt(head.row, head.channel);
    head.given = head.seq;
    const row = arena.nextRowOf(head.row);
    head.row = row;
    head.seq = row < 0 ? Infinity : arena.seqAt(row);
    if (head.seq > this.upTo) head.seq = Infinity;
    this.settle(head);
    return record;
  }

  /** Looks the channel up again after its head was lost; true if events it owed are gone. */
  private relocate(head: Head): boolean {
    const arena = this.arena;
    const slot = arena.slotOf(head.channel);
    const evicted = slot === undefined ? this.droppedUpTo() : arena.evictedUpTo(slot);
    head.row = slot === undefined ? -1 : arena.firstRowAfter(slot, head.given);
    this.place(head);
    return evicted > head.given && evicted > head.evictedAtStart;
  }

  private place(head: Head): void {
    head.seq = head.row < 0 ? Infinity : this.arena.seqAt(head.row);
    if (head.seq > this.upTo) head.seq = Infinity;
  }

  /** The top head's position changed (only ever grew): sift it down, or drop it when done. */
  private settle(head: Head): void {
    const heap = this.heap;
    if (head.seq === Infinity) {
      const last = heap.pop()!;
      if (heap.length === 0 || last === head) return;
      heap[0] = last;
    }
    this.siftDown(0);
  }

  private push(head: Head): void {
    const heap = this.heap;
    let i = heap.push(head) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.seq <= head.seq) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = head;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const head = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.seq < heap[left]!.seq ? right : left;
      if (heap[child]!.seq >= head.seq) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = head;
  }
}
