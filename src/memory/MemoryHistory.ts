import { InvalidEventError } from '../errors.js';
import type { HistoryOptions } from '../types.js';
import { FROM_START, type HistoryInput, type HistoryRecord, type Replay } from '../history/HistoryStore.js';
import { idText } from '../history/idText.js';
import type { PacedHistoryStore, ReplaySource } from '../history/ReplaySource.js';
import { ArenaReplay } from './ArenaReplay.js';
import { EventNames } from './EventNames.js';
import { DEFAULT_LAYOUT, RecordArena, type ArenaLayout } from './RecordArena.js';
import { memoryHistoryLimits } from '../config/history.js';

/** A Last-Event-ID that names no event for sure: everything kept is replayed, after history-truncated. */
const UNKNOWN = { position: -Infinity, exact: false } as const;

/**
 * Recent events of each channel, in this process, bounded by count, age and bytes (per
 * channel and for the whole store; store-wide, the globally oldest events go first).
 * They are kept in one RecordArena for all channels: typed arrays and large shared
 * Buffers, so that keeping an event allocates nothing the garbage collector traces.
 *
 * Positions start at the clock in microseconds, so ids made after a restart are larger than
 * any id the previous process handed out: a client resuming across a restart is recognised as
 * "from before what we keep" instead of being mistaken for a position in the new sequence.
 */
export class MemoryHistory implements PacedHistoryStore {
  private readonly maxEvents: number;
  private readonly maxAge: number;
  private readonly maxBytes: number;
  private readonly maxTotalBytes: number;
  private readonly arena: RecordArena;
  private readonly firstSeq: number;
  private lastSeq: number;
  /** "Events were lost before here" of the channels dropped once empty, folded into one. */
  private droppedUpTo = 0;
  /** Whether an event of a dropped channel had a publisher id: any channel may have held it. */
  private droppedIds = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  /**
   * @param now the clock (ms), for tests.
   * @param layout block and ring sizes, for tests: small ones reach the layout's edges quickly.
   */
  constructor(options: HistoryOptions = {}, now: () => number = Date.now, layout: ArenaLayout = DEFAULT_LAYOUT) {
    const limits = memoryHistoryLimits(options);
    this.maxEvents = limits.maxEvents;
    this.maxAge = limits.maxAge;
    this.maxBytes = limits.maxBytes;
    this.maxTotalBytes = limits.maxTotalBytes;
    this.arena = new RecordArena(new EventNames(), layout);
    this.now = now;
    this.firstSeq = now() * 1000;
    this.lastSeq = this.firstSeq;
  }

  append(channel: string, inputs: readonly HistoryInput[]): HistoryRecord[] {
    const slot = this.arena.slotOf(channel);
    let previous = slot !== undefined && this.arena.countOf(slot) > 0 ? this.arena.newestIdSource(slot) : undefined;
    const first = this.keep(channel, inputs);
    // Sized up front: an empty array's first push allocates room for 17.
    const records: HistoryRecord[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!;
      records[i] = new AppendedRecord(first + i, input.id, channel, input.event, input.data, previous);
      previous = input.id ?? first + i;
    }
    return records;
  }

  /**
   * `append` without the records: keeps the batch and returns the position of its first
   * event; the others follow it one by one (`first + i`). For this process's own delivery,
   * which needs nothing else, so a publish allocates nothing for its history.
   */
  keep(channel: string, inputs: readonly HistoryInput[]): number {
    // Checked before anything is kept: one call is all or nothing.
    for (const input of inputs) assertInput(input);
    const arena = this.arena;
    // A channel re-created after a sweep inherits the floor of what was dropped.
    const slot = arena.openSlot(channel, this.droppedUpTo, this.droppedIds);
    const now = this.now();
    const first = this.lastSeq + 1;
    for (const input of inputs) arena.push(slot, ++this.lastSeq, now, input.event, input.id, input.data);
    this.evict(slot, now);
    while (arena.keptBytes > this.maxTotalBytes && arena.count > 0) this.dropOldest(arena.frontSlot());
    arena.compactIfSparse();
    this.startSweeping();
    return first;
  }

  readAfter(channels: readonly string[], lastEventId: string): Replay {
    const { position, complete } = this.startRead(channels, lastEventId);
    const records: HistoryRecord[] = [];
    for (const channel of channels) {
      const slot = this.arena.slotOf(channel);
      if (slot !== undefined) this.arena.recordsAfter(slot, channel, position, records);
    }
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds: this.lastIds(channels) };
  }

  /**
   * The same events as `readAfter`, pulled one at a time from the arena as the client takes
   * them (src/memory/ArenaReplay.ts): what a resume holds is a position per channel.
   */
  replaySource(channels: readonly string[], lastEventId: string): ReplaySource {
    const { position, complete } = this.startRead(channels, lastEventId);
    return new ArenaReplay(this.arena, channels, position, () => this.droppedUpTo, complete, this.lastSeq);
  }

  /**
   * What both reads start with: the channels' expired events evicted, where the client stands,
   * and whether everything after it is still kept (no channel evicted or dropped past it).
   */
  private startRead(channels: readonly string[], lastEventId: string): { position: number; complete: boolean } {
    const now = this.now();
    const arena = this.arena;
    for (const channel of channels) {
      const slot = arena.slotOf(channel);
      if (slot !== undefined) this.evict(slot, now);
    }
    const { position, exact } = this.positionOf(channels, lastEventId);
    let complete = exact && position >= this.firstSeq;
    for (const channel of channels) {
      const slot = arena.slotOf(channel);
      if ((slot === undefined ? this.droppedUpTo : arena.evictedUpTo(slot)) > position) complete = false;
    }
    return { position, complete };
  }

  lastIds(channels: readonly string[]): Map<string, string> {
    const ids = new Map<string, string>();
    for (const channel of channels) {
      const slot = this.arena.slotOf(channel);
      if (slot !== undefined && this.arena.countOf(slot) > 0) ids.set(channel, this.arena.newestId(slot));
    }
    return ids;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Events currently kept, all channels together (for tests and stats). */
  get size(): number {
    return this.arena.count;
  }

  /** Bytes currently kept as the byte bounds count them (UTF-8 text + per-event overhead). */
  get bytes(): number {
    return this.arena.keptBytes;
  }

  /** Events kept once and dropped since for the bounds (count, age, bytes): all appended minus those kept. */
  get evicted(): number {
    return this.lastSeq - this.firstSeq - this.arena.count;
  }

  /** Memory the store holds for what it keeps (blocks and index), for tests. */
  get heldBytes(): number {
    return this.arena.heldBytes;
  }

  /**
   * Where a Last-Event-ID points. A publisher's ids are only unique within a channel (per-room
   * counters), so they are looked up among the kept ids of the stream's own channels: one
   * match is that event; several (another channel, or a reused id) cannot say which event the
   * client saw: not exact, replayed from the earliest of them (nothing the client may have
   * missed is left out). A channel that does not keep the id but evicted events with publisher
   * ids may have carried it (room-a's evicted '1' beside room-b's kept '1'): where the client
   * stands is then unknown. No match: a position this store handed out, or unknown
   * (everything kept, not exact). Resumes are rare and publishes frequent, so this scans, not indexes.
   */
  private positionOf(channels: readonly string[], lastEventId: string): { position: number; exact: boolean } {
    // Before the first event this store made (GRIP's last-id=-); evictions still make it incomplete.
    if (lastEventId === FROM_START) return { position: this.firstSeq, exact: true };
    const matches: number[] = [];
    const wanted = Buffer.from(lastEventId);
    let evictedElsewhere = false;
    for (const channel of channels) {
      const slot = this.arena.slotOf(channel);
      const before = matches.length;
      if (slot !== undefined) this.arena.positionsOfId(slot, wanted, matches);
      if (matches.length === before && this.mayHaveEvictedIds(slot)) evictedElsewhere = true;
    }
    if (matches.length > 0) {
      return evictedElsewhere ? UNKNOWN : { position: Math.min(...matches), exact: matches.length === 1 };
    }
    // Ids this store made are positions: whatever was evicted, they name one event exactly.
    const seq = /^\d{1,16}$/.test(lastEventId) ? Number(lastEventId) : Infinity;
    // An id from the future was not made by this store: unknown.
    return seq <= this.lastSeq ? { position: seq, exact: true } : UNKNOWN;
  }

  /**
   * Whether the channel evicted an event that had a publisher id (for a channel without a
   * slot: whether any dropped channel did, as it may have been one of them). What those ids
   * were is not kept, so there is no telling whether one of them was the asked id.
   */
  private mayHaveEvictedIds(slot: number | undefined): boolean {
    return slot === undefined ? this.droppedIds : this.arena.evictedIds(slot);
  }

  /** The channel's own bounds: count, age, bytes. */
  private evict(slot: number, now: number): void {
    const arena = this.arena;
    const oldestAllowed = now - this.maxAge;
    while (
      arena.countOf(slot) > 0 &&
      (arena.countOf(slot) > this.maxEvents || arena.bytesOf(slot) > this.maxBytes || arena.oldestTime(slot) < oldestAllowed)
    ) {
      if (this.dropOldest(slot)) return;
    }
  }

  /**
   * Drops the channel's oldest event, and the channel itself once it has none left (true):
   * an empty channel costs the store for nothing, and under churn (a name per event) the
   * store-wide bound would otherwise free events while their channels pile up.
   */
  private dropOldest(slot: number): boolean {
    const arena = this.arena;
    arena.dropOldest(slot);
    if (arena.countOf(slot) > 0) return false;
    this.forget(slot);
    return true;
  }

  /** Its "events were lost before here" marker folds into the store-wide floor (see sweep). */
  private forget(slot: number): void {
    const arena = this.arena;
    this.droppedUpTo = Math.max(this.droppedUpTo, arena.evictedUpTo(slot));
    this.droppedIds ||= arena.evictedIds(slot);
    arena.closeSlot(arena.channelOf(slot), slot);
  }

  /** Age eviction also has to happen on channels nobody publishes to or reads any more. */
  private startSweeping(): void {
    if (this.sweepTimer !== undefined) return;
    const every = Number.isFinite(this.maxAge) ? Math.min(this.maxAge, 60_000) : 60_000;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(1000, every));
    this.sweepTimer.unref();
  }

  /**
   * A channel left without events is dropped, or dead channels would pile up forever.
   * Its "events were lost before here" marker folds into one store-wide floor, which errs
   * towards reporting a truncation on a channel that had none, never the other way.
   */
  private sweep(): void {
    const now = this.now();
    const arena = this.arena;
    for (const [channel, slot] of arena.channels()) {
      this.evict(slot, now);
      // Still there (evict forgets a channel it empties) yet empty: opened by an empty batch.
      if (arena.slotOf(channel) === slot && arena.countOf(slot) === 0) this.forget(slot);
    }
    arena.compactIfSparse();
  }
}

/**
 * What append hands back. Its `id` and `prevId` are made only when read (GRIP reliable mode
 * reads them; local delivery does not), so an append makes no text of positions at all.
 */
class AppendedRecord implements HistoryRecord {
  readonly #id: string | undefined;
  readonly #previous: string | number | undefined;

  constructor(
    readonly seq: number,
    /** The publisher's id; without one the id is the position's text, made when read. */
    id: string | undefined,
    readonly channel: string,
    readonly event: string,
    readonly data: string,
    previous: string | number | undefined,
  ) {
    this.#id = id;
    this.#previous = previous;
  }

  /** Local delivery writes the position's digits into the frame itself and never reads this. */
  get id(): string {
    return this.#id ?? idText(this.seq);
  }

  get prevId(): string | undefined {
    const previous = this.#previous;
    return typeof previous === 'number' ? idText(previous) : previous;
  }
}

function assertInput(input: HistoryInput): void {
  if (
    typeof input !== 'object' ||
    input === null ||
    typeof input.event !== 'string' ||
    typeof input.data !== 'string' ||
    (input.id !== undefined && typeof input.id !== 'string')
  ) {
    throw new InvalidEventError('a history event needs string `event` and `data` (and `id`, if any)');
  }
}
