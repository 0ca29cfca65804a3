import type { HistoryOptions } from '../types.js';
import { FROM_START, type HistoryInput, type HistoryRecord, type HistoryStore, type Replay } from './HistoryStore.js';

export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
export const DEFAULT_HISTORY_MAX_AGE = 5 * 60_000;

interface ChannelLog {
  records: HistoryRecord[];
  /** Index of the oldest live record; records before it are evicted (compacted lazily). */
  head: number;
  /** Highest seq evicted from this channel: a resume from before it has lost events. */
  evictedUpTo: number;
  /** When each live record was appended, parallel to `records`. */
  times: number[];
}

/**
 * Recent events of each channel, in this process, bounded by count and by age.
 *
 * Positions start at the clock in microseconds, so ids made after a restart are larger than
 * any id the previous process handed out: a client resuming across a restart is recognised as
 * "from before what we keep" instead of being mistaken for a position in the new sequence.
 */
export class MemoryHistory implements HistoryStore {
  private readonly maxEvents: number;
  private readonly maxAge: number;
  private readonly logs = new Map<string, ChannelLog>();
  private readonly seqOfCustomId = new Map<string, number>();
  private readonly firstSeq: number;
  private lastSeq: number;
  private droppedUpTo = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(options: HistoryOptions = {}, now: () => number = Date.now) {
    this.maxEvents = options.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
    this.maxAge = options.maxAge ?? DEFAULT_HISTORY_MAX_AGE;
    this.now = now;
    this.firstSeq = now() * 1000;
    this.lastSeq = this.firstSeq;
  }

  append(channel: string, inputs: readonly HistoryInput[]): HistoryRecord[] {
    const log = this.logFor(channel);
    const now = this.now();
    const records = inputs.map((input) => this.keep(log, channel, input, now));
    this.evict(log, now);
    this.startSweeping();
    return records;
  }

  private keep(log: ChannelLog, channel: string, input: HistoryInput, now: number): HistoryRecord {
    const seq = ++this.lastSeq;
    const previous = log.records.length > log.head ? log.records[log.records.length - 1] : undefined;
    const record: HistoryRecord = {
      seq,
      id: input.id ?? String(seq),
      channel,
      event: input.event,
      data: input.data,
    };
    if (previous !== undefined) record.prevId = previous.id;
    if (input.id !== undefined) this.seqOfCustomId.set(input.id, seq);
    log.records.push(record);
    log.times.push(now);
    return record;
  }

  readAfter(channels: readonly string[], lastEventId: string): Replay {
    const position = this.positionOf(lastEventId);
    const now = this.now();
    const records: HistoryRecord[] = [];
    let complete = position !== undefined && position >= this.firstSeq;
    const after = position ?? -Infinity;
    for (const channel of channels) {
      const log = this.logs.get(channel);
      if (log === undefined) {
        if (this.droppedUpTo > after) complete = false;
        continue;
      }
      this.evict(log, now);
      if (log.evictedUpTo > after) complete = false;
      for (let i = firstAfter(log, after); i < log.records.length; i++) records.push(log.records[i]!);
    }
    if (channels.length > 1) records.sort((a, b) => a.seq - b.seq);
    return { records, complete, lastIds: this.lastIds(channels) };
  }

  lastIds(channels: readonly string[]): Map<string, string> {
    const ids = new Map<string, string>();
    for (const channel of channels) {
      const log = this.logs.get(channel);
      if (log !== undefined && log.records.length > log.head) ids.set(channel, log.records[log.records.length - 1]!.id);
    }
    return ids;
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Events currently kept, all channels together (for tests and stats). */
  get size(): number {
    let size = 0;
    for (const log of this.logs.values()) size += log.records.length - log.head;
    return size;
  }

  private positionOf(lastEventId: string): number | undefined {
    // Before the first event this store made; evictions still make it incomplete.
    if (lastEventId === FROM_START) return this.firstSeq;
    const custom = this.seqOfCustomId.get(lastEventId);
    if (custom !== undefined) return custom;
    if (!/^\d{1,16}$/.test(lastEventId)) return undefined;
    const seq = Number(lastEventId);
    // An id from the future was not made by this store: treat it as unknown.
    return seq <= this.lastSeq ? seq : undefined;
  }

  private logFor(channel: string): ChannelLog {
    let log = this.logs.get(channel);
    if (log === undefined) {
      // A channel re-created after a sweep inherits the floor of what was dropped.
      log = { records: [], head: 0, evictedUpTo: this.droppedUpTo, times: [] };
      this.logs.set(channel, log);
    }
    return log;
  }

  private evict(log: ChannelLog, now: number): void {
    const oldestAllowed = now - this.maxAge;
    while (log.head < log.records.length) {
      const live = log.records.length - log.head;
      if (live <= this.maxEvents && log.times[log.head]! >= oldestAllowed) break;
      this.forget(log.records[log.head]!);
      log.evictedUpTo = log.records[log.head]!.seq;
      log.head++;
    }
    // Compact once the dead prefix outweighs the live part: amortised O(1) per event.
    if (log.head > 64 && log.head * 2 > log.records.length) {
      log.records = log.records.slice(log.head);
      log.times = log.times.slice(log.head);
      log.head = 0;
    }
  }

  private forget(record: HistoryRecord): void {
    if (this.seqOfCustomId.get(record.id) === record.seq) this.seqOfCustomId.delete(record.id);
  }

  /** Age eviction also has to happen on channels nobody publishes to or reads any more. */
  private startSweeping(): void {
    if (this.sweepTimer !== undefined || !Number.isFinite(this.maxAge)) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.maxAge, 60_000)));
    this.sweepTimer.unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const [channel, log] of this.logs) {
      this.evict(log, now);
      if (log.head === log.records.length) this.dropEmpty(channel, log);
    }
  }

  /**
   * A channel whose events all expired is dropped, or dead channels would pile up forever.
   * Its "events were lost before here" marker folds into one store-wide floor, which errs
   * towards reporting a truncation on a channel that had none, never the other way.
   */
  private dropEmpty(channel: string, log: ChannelLog): void {
    this.droppedUpTo = Math.max(this.droppedUpTo, log.evictedUpTo);
    this.logs.delete(channel);
  }
}

/** Index of the first live record with seq > after (records are sorted by seq). */
function firstAfter(log: ChannelLog, after: number): number {
  let lo = log.head;
  let hi = log.records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.records[mid]!.seq > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
