import type { EventNames } from './EventNames.js';
import type { HistoryRecord } from './HistoryStore.js';

/**
 * Bookkeeping counted per event on top of its UTF-8 bytes, so that the byte bounds also
 * bound the index (a row of ROW numbers below, the store-wide eviction queue, slack).
 */
export const EVENT_OVERHEAD_BYTES = 64;

/** One row per event in `rows`: */
const SEQ = 0; // position in the store's global order
const TIME = 1; // when it was appended (ms)
const START = 2; // logical offset of its bytes: event name, then id, then data
const EVENT_LEN = 3; // < 0: not in the bytes, name number −1 − value of the store's EventNames
const ID_LEN = 4; // -1: no publisher id, the id is String(seq)
const DATA_LEN = 5;
const ROW = 6;

/**
 * A moved span gets this much room per byte it holds: each byte is copied at most
 * 1 / (GROWTH − 1) = 2 times on average, and a full channel has 50 % slack at most.
 */
const GROWTH = 1.5;
const MIN_ROWS = 8;
const MIN_BYTES = 512;
/** Small buffers double (few reallocations for a quiet channel); large ones grow by GROWTH. */
const DOUBLING_BELOW = 64 * 1024;
/** Below this an emptied log keeps its buffer (usually a slice of Node's shared pool). */
const KEEP_EMPTY_BYTES = 4096;

/**
 * The retained events of one channel, packed so the garbage collector never sees them one
 * by one: their text is UTF-8 in one Buffer (outside the V8 heap), their positions, times
 * and lengths are numbers in one Float64Array used as a ring. A log is two or three heap
 * objects whatever it holds; HistoryRecord objects are made only when asked for, and die
 * young.
 *
 * Events are added at the back and removed only from the front, so their bytes form one
 * contiguous span [start, end) of a logical byte stream; `base` maps it onto `bytes`. The
 * span is moved to the front of the buffer (or into a new one, GROWTH times what it holds,
 * or twice the old one while small) only when it reaches the end, so each byte is copied
 * O(1) times on average.
 */
export class PackedLog {
  /** Events currently kept. */
  count = 0;
  /** Bytes currently kept, as the byte bounds count them. */
  size = 0;
  /** Highest position evicted from this channel: a resume from before it has lost events. */
  evictedUpTo: number;

  private rows = allocRows(MIN_ROWS * ROW);
  private head = 0;
  private mask = MIN_ROWS - 1;
  private bytes: Buffer = EMPTY;
  /** Logical offset of bytes[0]. */
  private base = 0;
  /** Logical offset where the next event's bytes go. */
  private end = 0;

  constructor(
    readonly channel: string,
    /** Where the store-wide eviction queue finds this log. */
    readonly slot: number,
    evictedUpTo: number,
    private readonly names: EventNames,
  ) {
    this.evictedUpTo = evictedUpTo;
  }

  /** Appends one event; returns its size as the byte bounds count it. */
  push(seq: number, time: number, event: string, id: string | undefined, data: string): number {
    const name = this.names.lookup(event);
    this.reserve((name < 0 ? maxUtf8(event) : 0) + (id === undefined ? 0 : maxUtf8(id)) + maxUtf8(data));
    const at = this.end - this.base;
    const eventLen = name < 0 ? this.bytes.write(event, at) : 0;
    const idLen = id === undefined ? -1 : this.bytes.write(id, at + eventLen);
    const dataLen = this.bytes.write(data, at + eventLen + Math.max(idLen, 0));
    if (this.count > this.mask) this.resizeRows((this.mask + 1) * 2);
    const r = ((this.head + this.count) & this.mask) * ROW;
    const rows = this.rows;
    rows[r + SEQ] = seq;
    rows[r + TIME] = time;
    rows[r + START] = this.end;
    rows[r + EVENT_LEN] = name < 0 ? eventLen : -1 - name;
    rows[r + ID_LEN] = idLen;
    rows[r + DATA_LEN] = dataLen;
    const written = eventLen + Math.max(idLen, 0) + dataLen;
    this.end += written;
    this.count++;
    // The bounds count the name whether it is stored here or in the table.
    const size = written + (name < 0 ? 0 : this.names.utf8Length(name)) + EVENT_OVERHEAD_BYTES;
    this.size += size;
    return size;
  }

  /**
   * Id of the newest event kept (count must be > 0). Made when asked, not kept as a string:
   * a string per channel that changes on every publish would be promoted and traced.
   */
  newestId(): string {
    return this.idAt(this.count - 1);
  }

  /**
   * The newest event's id as cheaply as it can be had (count must be > 0): the publisher's id,
   * or the position its id is made from (turning a 16-digit number into text costs more than
   * the rest of an append, so that is left to whoever reads it).
   */
  newestIdSource(): string | number {
    const r = ((this.head + this.count - 1) & this.mask) * ROW;
    return this.rows[r + ID_LEN]! < 0 ? this.rows[r + SEQ]! : this.idAt(this.count - 1);
  }

  /** Position of the oldest event kept (count must be > 0). */
  oldestSeq(): number {
    return this.rows[this.head * ROW + SEQ]!;
  }

  oldestTime(): number {
    return this.rows[this.head * ROW + TIME]!;
  }

  /** Forgets the oldest event (count must be > 0); returns its size. */
  dropOldest(): number {
    const r = this.head * ROW;
    const eventLen = this.rows[r + EVENT_LEN]!;
    const size =
      storedBytes(this.rows, r) + (eventLen < 0 ? this.names.utf8Length(-1 - eventLen) : 0) + EVENT_OVERHEAD_BYTES;
    this.evictedUpTo = this.rows[r + SEQ]!;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    this.size -= size;
    this.shrinkIfSparse();
    return size;
  }

  /** Index (0 = oldest) of the first event kept with a position after `after`. */
  firstAfter(after: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqAt(mid) > after) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  seqAt(index: number): number {
    return this.rows[((this.head + index) & this.mask) * ROW + SEQ]!;
  }

  /**
   * Appends a record for each kept event with a position after `after`, oldest first.
   * Records are made here, on read, so they die young.
   */
  recordsAfter(after: number, into: HistoryRecord[]): void {
    let prevId: string | undefined;
    for (let i = this.firstAfter(after); i < this.count; i++) {
      if (i > 0 && prevId === undefined) prevId = this.idAt(i - 1);
      const record = this.recordAt(i);
      if (prevId !== undefined) record.prevId = prevId;
      prevId = record.id;
      into.push(record);
    }
  }

  private recordAt(index: number): HistoryRecord {
    const r = ((this.head + index) & this.mask) * ROW;
    const rows = this.rows;
    const seq = rows[r + SEQ]!;
    const eventStart = rows[r + START]! - this.base;
    const eventLen = rows[r + EVENT_LEN]!;
    const idStart = eventStart + Math.max(eventLen, 0);
    const idLen = rows[r + ID_LEN]!;
    const dataStart = idStart + Math.max(idLen, 0);
    return {
      seq,
      id: idLen < 0 ? String(seq) : this.bytes.toString('utf8', idStart, dataStart),
      channel: this.channel,
      event: eventLen < 0 ? this.names.name(-1 - eventLen) : this.bytes.toString('utf8', eventStart, idStart),
      data: this.bytes.toString('utf8', dataStart, dataStart + rows[r + DATA_LEN]!),
    };
  }

  /** Positions of the kept events whose publisher id is `id` (given as UTF-8). */
  positionsOfId(id: Buffer, into: number[]): void {
    const rows = this.rows;
    for (let i = 0; i < this.count; i++) {
      const r = ((this.head + i) & this.mask) * ROW;
      if (rows[r + ID_LEN] !== id.length) continue;
      const idStart = rows[r + START]! - this.base + Math.max(rows[r + EVENT_LEN]!, 0);
      if (this.bytes.compare(id, 0, id.length, idStart, idStart + id.length) === 0) into.push(rows[r + SEQ]!);
    }
  }

  private idAt(index: number): string {
    const r = ((this.head + index) & this.mask) * ROW;
    const idLen = this.rows[r + ID_LEN]!;
    if (idLen < 0) return String(this.rows[r + SEQ]!);
    const idStart = this.rows[r + START]! - this.base + Math.max(this.rows[r + EVENT_LEN]!, 0);
    return this.bytes.toString('utf8', idStart, idStart + idLen);
  }

  /** Makes room for `needed` more bytes at the end of the span. */
  private reserve(needed: number): void {
    if (this.end - this.base + needed <= this.bytes.length) return;
    const start = this.count === 0 ? this.end : this.rows[this.head * ROW + START]!;
    const live = this.end - start;
    const wanted = live + needed;
    if (wanted * GROWTH <= this.bytes.length) {
      // Enough room once the span moves to the front.
      this.bytes.copy(this.bytes, 0, start - this.base, this.end - this.base);
    } else {
      const grown = this.bytes.length < DOUBLING_BELOW ? this.bytes.length * 2 : 0;
      const next = Buffer.allocUnsafe(Math.max(MIN_BYTES, grown, Math.ceil(wanted * GROWTH)));
      this.bytes.copy(next, 0, start - this.base, this.end - this.base);
      this.bytes = next;
    }
    this.base = start;
  }

  /** Gives memory back once a log holds far less than it has room for. */
  private shrinkIfSparse(): void {
    if (this.count === 0) {
      if (this.bytes.length > KEEP_EMPTY_BYTES) this.bytes = EMPTY;
      this.base = this.end;
      if (this.mask + 1 > MIN_ROWS) this.resizeRows(MIN_ROWS);
      return;
    }
    const rowsNow = this.mask + 1;
    if (rowsNow > MIN_ROWS && this.count * 4 < rowsNow) this.resizeRows(rowsNow / 2);
    const start = this.rows[this.head * ROW + START]!;
    const live = this.end - start;
    if (this.bytes.length > KEEP_EMPTY_BYTES && live * 4 < this.bytes.length) {
      const next = Buffer.allocUnsafe(Math.max(MIN_BYTES, Math.ceil(live * GROWTH)));
      this.bytes.copy(next, 0, start - this.base, this.end - this.base);
      this.bytes = next;
      this.base = start;
    }
  }

  private resizeRows(capacity: number): void {
    const next = allocRows(capacity * ROW);
    for (let i = 0; i < this.count; i++) {
      const from = ((this.head + i) & this.mask) * ROW;
      next.set(this.rows.subarray(from, from + ROW), i * ROW);
    }
    this.rows = next;
    this.head = 0;
    this.mask = capacity - 1;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Small row arrays are cut from shared blocks, as Node cuts small Buffers from its pool: a
 * quiet channel then costs no memory allocation of its own outside the heap. A block lives
 * as long as one of its slices does, so slices are small next to the block (at most 1/8).
 */
const ROW_BLOCK_DOUBLES = 2048;
let rowBlock = new Float64Array(ROW_BLOCK_DOUBLES);
let rowBlockUsed = 0;

function allocRows(doubles: number): Float64Array {
  if (doubles > ROW_BLOCK_DOUBLES / 8) return new Float64Array(doubles);
  if (rowBlockUsed + doubles > ROW_BLOCK_DOUBLES) {
    rowBlock = new Float64Array(ROW_BLOCK_DOUBLES);
    rowBlockUsed = 0;
  }
  const rows = rowBlock.subarray(rowBlockUsed, rowBlockUsed + doubles);
  rowBlockUsed += doubles;
  return rows;
}

/** Bytes of one event in the buffer. */
function storedBytes(rows: Float64Array, r: number): number {
  return Math.max(rows[r + EVENT_LEN]!, 0) + Math.max(rows[r + ID_LEN]!, 0) + rows[r + DATA_LEN]!;
}

/** An upper bound of a string's UTF-8 size, exact (and costlier) only for long strings. */
function maxUtf8(text: string): number {
  return text.length <= 1024 ? text.length * 3 : Buffer.byteLength(text);
}
