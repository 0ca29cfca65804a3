import { BLOCK_BYTES, ByteBlocks } from './ByteBlocks.js';
import type { EventNames } from './EventNames.js';
import type { HistoryRecord } from '../history/HistoryStore.js';
import { idText } from '../history/idText.js';

/**
 * Bookkeeping counted per event on top of its UTF-8 bytes, so that the byte bounds also
 * bound the index (a row below, the slack of the ring, the channel's share).
 */
export const EVENT_OVERHEAD_BYTES = 64;

// One row of numbers per event, in publish order. Float64 part:
const SEQ = 0; // position in the store's global order
const TIME = 1; // when it was appended (ms)
const F_ROW = 2;
// Int32 part:
const BLOCK = 0; // block of its bytes (ByteBlocks): event name, then id, then data
const AT = 1; // offset in the block
const EVENT_LEN = 2; // < 0: not in the bytes, name number −1 − value of the store's EventNames
const ID_LEN = 3; // -1: no publisher id, the id is the position's text
const DATA_LEN = 4;
const SLOT = 5; // channel; -1 once the event is no longer kept
const PREV = 6; // rows back to the channel's previous event; 0: none
const NEXT = 7; // rows on to the channel's next event; 0: none, or not linked yet (LINKED)
const I_ROW = 8;

// One row per channel slot, so that an append reads and writes only this row besides the
// new event's (the previous event's row is left alone: its NEXT is filled in later).
const FIRST = 0; // row number of its oldest kept event
const LAST = 1; // row number of its newest
const COUNT = 2;
const BYTES = 3; // bytes as the bounds count them
// Highest position evicted: a resume from before it lost events. Negated once an evicted event
// carried a publisher id (sticky): a Last-Event-ID not among the kept ids may then be one of
// those, at a position nobody knows any more.
const EVICTED_UP_TO = 4;
const FIRST_TIME = 5; // when its oldest kept event was appended
const LINKED = 6; // NEXT is set on every row from FIRST up to this one
const NEWEST = 7; // position of its newest event, negated when that has the publisher's own id
const C_ROW = 8;

const MIN_SLOTS = 64;

/**
 * What a channel costs the store besides its events, counted by the store-wide byte bound:
 * its row here (64 B, in an array that doubles), its Map entry and the name slot (about
 * 40 B, doubled likewise), and the name itself (a string header, then up to 2 B a character).
 * Without it, a publisher minting a channel name per event made the store hold tens of MiB
 * of channels whose events the bound had long dropped.
 */
export const CHANNEL_OVERHEAD_BYTES = 224;

/** A channel's cost to the store as the store-wide bound counts it. */
export function channelBytes(channel: string): number {
  return CHANNEL_OVERHEAD_BYTES + 2 * channel.length;
}

/** Sizes of the layout; tests make them small to reach its edges with few events. */
export interface ArenaLayout {
  /** Bytes of a shared block (events over an eighth of it get their own). */
  blockBytes: number;
  /**
   * Rows of the smallest ring, a power of two; also the dropped rows the ring may hold
   * besides twice the kept ones before it is compacted.
   */
  minRows: number;
}

export const DEFAULT_LAYOUT: ArenaLayout = { blockBytes: BLOCK_BYTES, minRows: 1024 };

/**
 * Every kept event of a store, all channels together, laid out so that the garbage
 * collector never sees them one by one: their bytes in large shared blocks (ByteBlocks),
 * their numbers in rows of two typed arrays used as one ring in publish order, each
 * channel's events chained through their rows, each channel's totals in a row of a third
 * typed array. Appending an event writes bytes and numbers and allocates nothing per event;
 * a channel costs a Map entry and a row. Records (objects with strings) are made only on
 * read, and die young.
 *
 * The ring's front is the store's oldest event, which the store-wide bound removes first.
 * Events leave their channel only from its front (count, age and byte bounds) but may sit
 * anywhere in the ring: a dropped row stays as a hole until the front passes it. When holes
 * (or blocks kept alive by a few events) outweigh what is kept, everything kept is copied
 * into a fresh ring and fresh blocks, in order: each event is copied O(1) times on average,
 * and memory stays within about twice what the bounds count.
 */
export class RecordArena {
  private nums: Float64Array;
  private ints: Int32Array;
  private mask: number;
  /** Row number (absolute, ever increasing) of the ring's front, kept or not. */
  private front = 0;
  /** Row number the next event gets. */
  private end = 0;
  private blocks: ByteBlocks;
  private chans = new Float64Array(MIN_SLOTS * C_ROW);
  private readonly slots = new Map<string, number>();
  /** Channel name of each slot in use (undefined when free). */
  private slotNames: (string | undefined)[] = [];
  private freeSlots: number[] = [];
  private slotsUsed = 0;
  /** Events kept. */
  count = 0;
  /** Bytes kept, as the bounds count them (`count` is the events). */
  keptBytes = 0;

  constructor(
    private readonly eventNames: EventNames,
    private readonly layout: ArenaLayout = DEFAULT_LAYOUT,
  ) {
    this.nums = new Float64Array(layout.minRows * F_ROW);
    this.ints = new Int32Array(layout.minRows * I_ROW);
    this.mask = layout.minRows - 1;
    this.blocks = new ByteBlocks(layout.blockBytes);
  }

  slotOf(channel: string): number | undefined {
    return this.slots.get(channel);
  }

  /**
   * The channel's slot, made when it has none; a new channel starts at `evictedUpTo`, and
   * as having evicted publisher ids when `evictedIds` (it may have had events before).
   */
  openSlot(channel: string, evictedUpTo: number, evictedIds = false): number {
    const existing = this.slots.get(channel);
    if (existing !== undefined) return existing;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotsUsed++;
      if (slot * C_ROW >= this.chans.length) {
        const grown = new Float64Array(this.chans.length * 2);
        grown.set(this.chans);
        this.chans = grown;
      }
    }
    const c = slot * C_ROW;
    this.chans.fill(0, c, c + C_ROW);
    this.chans[c + EVICTED_UP_TO] = evictedIds ? -evictedUpTo : evictedUpTo;
    this.slots.set(channel, slot);
    this.slotNames[slot] = channel;
    this.keptBytes += channelBytes(channel);
    return slot;
  }

  /** The channel of a slot in use. */
  channelOf(slot: number): string {
    return this.slotNames[slot]!;
  }

  /** The channels with a slot, for a sweep (deleting the current one while iterating is fine). */
  channels(): IterableIterator<[string, number]> {
    return this.slots.entries();
  }

  /** Forgets an empty channel (count must be 0). */
  closeSlot(channel: string, slot: number): void {
    this.slots.delete(channel);
    this.slotNames[slot] = undefined;
    this.freeSlots.push(slot);
    this.keptBytes -= channelBytes(channel);
    if (this.slots.size === 0) this.clear();
  }

  countOf(slot: number): number {
    return this.chans[slot * C_ROW + COUNT]!;
  }

  /** Bytes the channel keeps, as the bounds count them. */
  bytesOf(slot: number): number {
    return this.chans[slot * C_ROW + BYTES]!;
  }

  evictedUpTo(slot: number): number {
    return Math.abs(this.chans[slot * C_ROW + EVICTED_UP_TO]!);
  }

  /** Whether an event the channel evicted (or a channel of that name dropped before) had a publisher id. */
  evictedIds(slot: number): boolean {
    return this.chans[slot * C_ROW + EVICTED_UP_TO]! < 0;
  }

  /** Time of the channel's oldest kept event (count must be > 0). */
  oldestTime(slot: number): number {
    return this.chans[slot * C_ROW + FIRST_TIME]!;
  }

  /** Slot of the store's oldest kept event (count must be > 0). */
  frontSlot(): number {
    return this.ints[(this.front & this.mask) * I_ROW + SLOT]!;
  }

  /**
   * The newest kept event's id as cheaply as it can be had (count must be > 0): the
   * publisher's id, or the position its id is made from (left for whoever reads it).
   */
  newestIdSource(slot: number): string | number {
    const newest = this.chans[slot * C_ROW + NEWEST]!;
    return newest > 0 ? newest : this.idOf(this.chans[slot * C_ROW + LAST]!);
  }

  newestId(slot: number): string {
    return this.idOf(this.chans[slot * C_ROW + LAST]!);
  }

  /** Appends one event to the channel; returns its bytes as the bounds count them. */
  push(slot: number, seq: number, time: number, event: string, id: string | undefined, data: string): number {
    const name = this.eventNames.lookup(event);
    const blocks = this.blocks;
    blocks.reserve((name < 0 ? maxUtf8(event) : 0) + (id === undefined ? 0 : maxUtf8(id)) + maxUtf8(data));
    const target = blocks.target;
    const at = blocks.at;
    const eventLen = name < 0 ? target.write(event, at) : 0;
    const idLen = id === undefined ? -1 : target.write(id, at + eventLen);
    const idBytes = idLen < 0 ? 0 : idLen;
    const dataLen = data.length === 0 ? 0 : target.write(data, at + eventLen + idBytes);
    const written = eventLen + idBytes + dataLen;
    blocks.commit(written);

    if (this.end - this.front > this.mask) this.resize((this.mask + 1) * 2);
    const row = this.end++;
    const f = (row & this.mask) * F_ROW;
    const i = (row & this.mask) * I_ROW;
    const nums = this.nums;
    const ints = this.ints;
    nums[f + SEQ] = seq;
    nums[f + TIME] = time;
    ints[i + BLOCK] = blocks.block;
    ints[i + AT] = at;
    ints[i + EVENT_LEN] = name < 0 ? eventLen : -1 - name;
    ints[i + ID_LEN] = idLen;
    ints[i + DATA_LEN] = dataLen;
    ints[i + SLOT] = slot;
    ints[i + NEXT] = 0;

    const chans = this.chans;
    const c = slot * C_ROW;
    if (chans[c + COUNT]! > 0) {
      ints[i + PREV] = row - chans[c + LAST]!;
    } else {
      ints[i + PREV] = 0;
      chans[c + FIRST] = row;
      chans[c + FIRST_TIME] = time;
      chans[c + LINKED] = row;
    }
    chans[c + LAST] = row;
    chans[c + NEWEST] = id === undefined ? seq : -seq;
    chans[c + COUNT]!++;
    // The bounds count the name whether it is stored here or in the table.
    const eventBytes = written + (name < 0 ? 0 : this.eventNames.utf8Length(name)) + EVENT_OVERHEAD_BYTES;
    chans[c + BYTES]! += eventBytes;
    this.count++;
    this.keptBytes += eventBytes;
    return eventBytes;
  }

  /** Forgets the channel's oldest event (count must be > 0); returns its bytes as the bounds count them. */
  dropOldest(slot: number): number {
    const chans = this.chans;
    const c = slot * C_ROW;
    if (chans[c + COUNT]! > 1) this.link(slot);
    const row = chans[c + FIRST]!;
    const i = (row & this.mask) * I_ROW;
    const ints = this.ints;
    const eventLen = ints[i + EVENT_LEN]!;
    const stored = Math.max(eventLen, 0) + Math.max(ints[i + ID_LEN]!, 0) + ints[i + DATA_LEN]!;
    const eventBytes = stored + (eventLen < 0 ? this.eventNames.utf8Length(-1 - eventLen) : 0) + EVENT_OVERHEAD_BYTES;
    this.blocks.release(ints[i + BLOCK]!, stored);
    ints[i + SLOT] = -1;
    const seq = this.nums[(row & this.mask) * F_ROW + SEQ]!;
    chans[c + EVICTED_UP_TO] = ints[i + ID_LEN]! >= 0 || chans[c + EVICTED_UP_TO]! < 0 ? -seq : seq;
    const next = row + ints[i + NEXT]!;
    chans[c + FIRST] = next;
    chans[c + FIRST_TIME] = this.nums[(next & this.mask) * F_ROW + TIME]!;
    chans[c + COUNT]!--;
    chans[c + BYTES]! -= eventBytes;
    this.count--;
    this.keptBytes -= eventBytes;
    if (row === this.front) this.trimFront();
    return eventBytes;
  }

  /**
   * Appends a record for each of the channel's kept events with a position after `after`,
   * oldest first, each with the id of the event before it (when that is still kept).
   */
  recordsAfter(slot: number, channel: string, after: number, into: HistoryRecord[]): void {
    this.link(slot);
    const c = slot * C_ROW;
    let row = this.chans[c + FIRST]!;
    let previous = -1;
    let prevId: string | undefined;
    for (let n = this.chans[c + COUNT]!; n > 0; n--) {
      if (this.nums[(row & this.mask) * F_ROW + SEQ]! > after) {
        if (prevId === undefined && previous >= 0) prevId = this.idOf(previous);
        const record = this.recordOf(row, channel);
        if (prevId !== undefined) record.prevId = prevId;
        prevId = record.id;
        into.push(record);
      }
      previous = row;
      row += this.ints[(row & this.mask) * I_ROW + NEXT]!;
    }
  }

  /**
   * Row of the channel's oldest kept event with a position after `after`; -1 if none.
   * Walks the channel from its oldest event: a resume does this once per channel.
   */
  firstRowAfter(slot: number, after: number): number {
    if (this.chans[slot * C_ROW + COUNT]! === 0) return -1;
    this.link(slot);
    const c = slot * C_ROW;
    let row = this.chans[c + FIRST]!;
    for (let n = this.chans[c + COUNT]!; n > 0; n--) {
      if (this.nums[(row & this.mask) * F_ROW + SEQ]! > after) return row;
      row += this.ints[(row & this.mask) * I_ROW + NEXT]!;
    }
    return -1;
  }

  /** Row of the event after `row` in its channel (`row` must be kept); -1 at the newest. */
  nextRowOf(row: number): number {
    const slot = this.ints[(row & this.mask) * I_ROW + SLOT]!;
    if (row === this.chans[slot * C_ROW + LAST]) return -1;
    this.link(slot);
    return row + this.ints[(row & this.mask) * I_ROW + NEXT]!;
  }

  /** Position of a kept row. */
  seqAt(row: number): number {
    return this.nums[(row & this.mask) * F_ROW + SEQ]!;
  }

  /**
   * Whether `row` still holds the event at position `seq` (positions are unique: it is that
   * event, kept). False once it was evicted, or its row reused by the ring.
   */
  holds(row: number, seq: number): boolean {
    return (
      row >= this.front &&
      row < this.end &&
      this.ints[(row & this.mask) * I_ROW + SLOT]! >= 0 &&
      this.nums[(row & this.mask) * F_ROW + SEQ] === seq
    );
  }

  /** The event of a kept row as a record (without prevId), for a replay that encodes it at once. */
  recordAt(row: number, channel: string): HistoryRecord {
    return this.recordOf(row, channel);
  }

  /** Positions of the channel's kept events whose publisher id is `id` (given as UTF-8). */
  positionsOfId(slot: number, id: Buffer, into: number[]): void {
    this.link(slot);
    const c = slot * C_ROW;
    let row = this.chans[c + FIRST]!;
    for (let n = this.chans[c + COUNT]!; n > 0; n--) {
      const i = (row & this.mask) * I_ROW;
      const ints = this.ints;
      if (ints[i + ID_LEN] === id.length) {
        const start = ints[i + AT]! + Math.max(ints[i + EVENT_LEN]!, 0);
        const block = this.blocks.buffer(ints[i + BLOCK]!);
        if (block.compare(id, 0, id.length, start, start + id.length) === 0) {
          into.push(this.nums[(row & this.mask) * F_ROW + SEQ]!);
        }
      }
      row += ints[i + NEXT]!;
    }
  }

  /** Copies what is kept into a fresh ring and fresh blocks once holes outweigh it. */
  compactIfSparse(): void {
    const span = this.end - this.front;
    const capacity = this.mask + 1;
    // Holes, or a ring grown for a burst that has since left.
    const rowsSparse = span > 2 * this.count + this.layout.minRows || (capacity > this.layout.minRows && capacity > 8 * span);
    const bytesSparse = this.blocks.allocated > 2 * this.blocks.liveBytes + 2 * this.layout.blockBytes;
    if (rowsSparse || bytesSparse) this.compact();
    if (this.slotsUsed > 2 * this.slots.size + MIN_SLOTS) this.compactSlots();
  }

  /**
   * Channels that come and go (a name per user, per order) leave their slot numbers spread
   * over an array sized for the most there ever were: once most are free, the channels in
   * use are renumbered from 0 into an array sized for them, and their kept rows follow.
   */
  private compactSlots(): void {
    const renumbered = new Int32Array(this.slotsUsed).fill(-1);
    let capacity = MIN_SLOTS;
    while (capacity < 2 * this.slots.size) capacity *= 2;
    const chans = new Float64Array(capacity * C_ROW);
    const names: (string | undefined)[] = [];
    let next = 0;
    for (const [channel, slot] of this.slots) {
      renumbered[slot] = next;
      chans.set(this.chans.subarray(slot * C_ROW, (slot + 1) * C_ROW), next * C_ROW);
      names[next] = channel;
      this.slots.set(channel, next++);
    }
    const ints = this.ints;
    for (let row = this.front; row < this.end; row++) {
      const i = (row & this.mask) * I_ROW + SLOT;
      if (ints[i]! >= 0) ints[i] = renumbered[ints[i]!]!;
    }
    this.chans = chans;
    this.slotNames = names;
    this.freeSlots = [];
    this.slotsUsed = next;
  }

  /** Memory held, for tests: bytes of blocks and of the typed arrays. */
  get heldBytes(): number {
    return this.blocks.allocated + this.nums.byteLength + this.ints.byteLength + this.chans.byteLength;
  }

  /**
   * Fills in NEXT on the rows appended since the channel was last linked, walking back from
   * its newest row: each row is linked once, so this costs O(1) per event on average.
   */
  private link(slot: number): void {
    const c = slot * C_ROW;
    const linked = this.chans[c + LINKED]!;
    let row = this.chans[c + LAST]!;
    if (row === linked || this.chans[c + COUNT]! === 0) return;
    const ints = this.ints;
    const mask = this.mask;
    while (row !== linked) {
      const back = ints[(row & mask) * I_ROW + PREV]!;
      ints[((row - back) & mask) * I_ROW + NEXT] = back;
      row -= back;
    }
    this.chans[c + LINKED] = this.chans[c + LAST]!;
  }

  private idOf(row: number): string {
    const i = (row & this.mask) * I_ROW;
    const idLen = this.ints[i + ID_LEN]!;
    if (idLen < 0) return idText(this.nums[(row & this.mask) * F_ROW + SEQ]!);
    const start = this.ints[i + AT]! + Math.max(this.ints[i + EVENT_LEN]!, 0);
    return this.blocks.buffer(this.ints[i + BLOCK]!).toString('utf8', start, start + idLen);
  }

  private recordOf(row: number, channel: string): HistoryRecord {
    const i = (row & this.mask) * I_ROW;
    const ints = this.ints;
    const seq = this.nums[(row & this.mask) * F_ROW + SEQ]!;
    const block = this.blocks.buffer(ints[i + BLOCK]!);
    const eventStart = ints[i + AT]!;
    const eventLen = ints[i + EVENT_LEN]!;
    const idStart = eventStart + Math.max(eventLen, 0);
    const idLen = ints[i + ID_LEN]!;
    const event = eventLen < 0 ? this.eventNames.name(-1 - eventLen) : block.toString('utf8', eventStart, idStart);
    return new KeptRecord(seq, channel, event, block, idStart, idLen, ints[i + DATA_LEN]!);
  }

  /** Moves the front past rows no longer kept. */
  private trimFront(): void {
    while (this.front < this.end && this.ints[(this.front & this.mask) * I_ROW + SLOT]! < 0) this.front++;
    if (this.count === 0) this.clear();
  }

  /** Nothing kept: give the blocks back (a quiet store holds no block). */
  private clear(): void {
    if (this.count > 0) return;
    this.front = this.end;
    this.blocks.clear();
    const rows = this.layout.minRows;
    if (this.mask + 1 > rows) {
      this.nums = new Float64Array(rows * F_ROW);
      this.ints = new Int32Array(rows * I_ROW);
      this.mask = rows - 1;
    }
  }

  private resize(capacity: number): void {
    const nums = new Float64Array(capacity * F_ROW);
    const ints = new Int32Array(capacity * I_ROW);
    const mask = capacity - 1;
    // In runs that are contiguous in both rings (at most three): a copy per run, not per row.
    for (let row = this.front; row < this.end; ) {
      const from = row & this.mask;
      const to = row & mask;
      const run = Math.min(this.end - row, this.mask + 1 - from, capacity - to);
      nums.set(this.nums.subarray(from * F_ROW, (from + run) * F_ROW), to * F_ROW);
      ints.set(this.ints.subarray(from * I_ROW, (from + run) * I_ROW), to * I_ROW);
      row += run;
    }
    this.nums = nums;
    this.ints = ints;
    this.mask = mask;
  }

  /**
   * Kept rows, in order, into a fresh ring numbered from 0, their bytes into fresh blocks;
   * each channel's chain is rebuilt as its rows go by.
   */
  private compact(): void {
    let capacity = this.layout.minRows;
    while (capacity < 2 * this.count) capacity *= 2;
    const nums = new Float64Array(capacity * F_ROW);
    const ints = new Int32Array(capacity * I_ROW);
    const bytes = new ByteBlocks(this.layout.blockBytes);
    const chans = this.chans;
    let to = 0;
    for (let row = this.front; row < this.end; row++) {
      const f = (row & this.mask) * F_ROW;
      const i = (row & this.mask) * I_ROW;
      const slot = this.ints[i + SLOT]!;
      if (slot < 0) continue;
      const stored =
        Math.max(this.ints[i + EVENT_LEN]!, 0) + Math.max(this.ints[i + ID_LEN]!, 0) + this.ints[i + DATA_LEN]!;
      bytes.reserve(stored);
      const at = this.ints[i + AT]!;
      this.blocks.buffer(this.ints[i + BLOCK]!).copy(bytes.target, bytes.at, at, at + stored);
      const nf = to * F_ROW;
      const ni = to * I_ROW;
      nums[nf + SEQ] = this.nums[f + SEQ]!;
      nums[nf + TIME] = this.nums[f + TIME]!;
      ints[ni + BLOCK] = bytes.block;
      ints[ni + AT] = bytes.at;
      ints[ni + EVENT_LEN] = this.ints[i + EVENT_LEN]!;
      ints[ni + ID_LEN] = this.ints[i + ID_LEN]!;
      ints[ni + DATA_LEN] = this.ints[i + DATA_LEN]!;
      ints[ni + SLOT] = slot;
      ints[ni + NEXT] = 0;
      bytes.commit(stored);
      const c = slot * C_ROW;
      // FIRST is this channel's oldest row of the old ring until the chain reaches it.
      if (chans[c + FIRST] === row) {
        chans[c + FIRST] = to;
        ints[ni + PREV] = 0;
      } else {
        const last = chans[c + LAST]!;
        ints[last * I_ROW + NEXT] = to - last;
        ints[ni + PREV] = to - last;
      }
      chans[c + LAST] = to;
      chans[c + LINKED] = to;
      to++;
    }
    this.nums = nums;
    this.ints = ints;
    this.mask = capacity - 1;
    this.front = 0;
    this.end = to;
    this.blocks = bytes;
  }
}

/**
 * A kept event as a read hands it out: it points at the event's bytes and decodes its data
 * (and publisher id) only when asked, so a resuming client holds a reference per event, not
 * a copy of what it is owed; the replay encodes a batch at a time. The bytes stay valid after
 * the event is evicted: blocks are never written again, only dropped (or copied, on
 * compaction), and this reference keeps the block alive.
 */
class KeptRecord implements HistoryRecord {
  prevId?: string;
  readonly #bytes: Buffer;
  readonly #idStart: number;
  readonly #idLength: number;
  readonly #dataLength: number;

  constructor(
    readonly seq: number,
    readonly channel: string,
    readonly event: string,
    bytes: Buffer,
    idStart: number,
    /** -1: no publisher id, the id is the position's text. */
    idLength: number,
    dataLength: number,
  ) {
    this.#bytes = bytes;
    this.#idStart = idStart;
    this.#idLength = idLength;
    this.#dataLength = dataLength;
  }

  get id(): string {
    if (this.#idLength < 0) return idText(this.seq);
    return this.#bytes.toString('utf8', this.#idStart, this.#idStart + this.#idLength);
  }

  get data(): string {
    const start = this.#idStart + Math.max(this.#idLength, 0);
    return this.#bytes.toString('utf8', start, start + this.#dataLength);
  }
}

/** An upper bound of a string's UTF-8 size, exact (and costlier) only for long strings. */
function maxUtf8(text: string): number {
  return text.length <= 1024 ? text.length * 3 : Buffer.byteLength(text);
}
