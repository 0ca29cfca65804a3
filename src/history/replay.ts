import createDebug from 'debug';
import type { LastEventId } from '../sse/eventId.js';
import { encodeEvent } from '../sse/encode.js';
import { FROM_START, type HistoryRecord, type HistoryStore, type Replay } from './HistoryStore.js';
import { EVENTS_LOST, isPaced, type ReplaySource } from './ReplaySource.js';
import { NEVER_AN_ID } from './sentinels.js';

const debug = createDebug('gripstream:history');

/** Sent before a replay that may miss events, so the client can refetch state instead. */
export const HISTORY_TRUNCATED_EVENT = 'history-truncated';

export interface ReplayText {
  text: string;
  /** Highest history position replayed; live events at or below it were already sent. */
  upTo: number;
  /** Newest id per channel in the snapshot replayed from, when the store tells. */
  lastIds?: Map<string, string>;
  /**
   * Set when the replay stopped at its byte bound with events left: each channel that had
   * events in the replay, at the position its client now stands (the id of its last event
   * sent, or the id before its first event not sent; FROM_START when that is its start).
   */
  cut?: Map<string, string>;
  /** True when the text starts with the `history-truncated` notice. */
  truncated: boolean;
  /** Events in the text (the notice not counted). */
  events: number;
}


const NOTHING: ReplayText = { text: '', upTo: -Infinity, truncated: false, events: 0 };

/** Where a replay counts the events it encoded (the metrics' `eventsReplayed`). */
export interface ReplayCounter {
  eventsReplayed: number;
}

/**
 * A replay to be written as the client reads it. It pulls events from the store's source
 * a batch at a time and encodes them, so what one client costs is its source (a position per
 * channel, for the in-memory store) and one batch, not the whole replay.
 */
export class ReplayCursor {
  /** The last event encoded: the id a mid-replay `history-truncated` names. */
  private last: HistoryRecord | undefined;
  /** Where the events encoded are counted (the metrics), once attached. */
  private counter: ReplayCounter | undefined;
  /** True when the replay starts with the `history-truncated` notice (for the metrics). */
  readonly truncated: boolean;

  constructor(
    /** Text to send first: the `history-truncated` notice, or ''. */
    private carry: string,
    private readonly source: ReplaySource,
    /** Highest history position the replay covers; -Infinity when none. */
    readonly upTo: number,
    /** The Last-Event-ID the client resumed from (named by a notice when nothing was sent yet). */
    private readonly asked: string | null = null,
  ) {
    this.truncated = carry !== '';
  }

  /**
   * Counts each event into `counter.eventsReplayed` as it is encoded: the replay is pulled
   * lazily, so how many events it holds is only known as the client reads them.
   */
  countInto(counter: ReplayCounter): void {
    this.counter = counter;
  }

  static empty(): ReplayCursor {
    return new ReplayCursor('', NO_EVENTS, -Infinity);
  }

  /**
   * The next events as text: as many as fit in `maxBytes` (counted in UTF-16 units, which
   * undercount only multi-byte text), or one event if it alone is larger; undefined when done.
   */
  nextBatch(maxBytes: number): string | undefined {
    // The notice, then the event that did not fit in the batch before (encoded once).
    let text = this.carry;
    this.carry = '';
    for (let next = this.source.next(); next !== undefined; next = this.source.next()) {
      const event = next === EVENTS_LOST ? truncatedNotice(this.last?.id ?? this.asked) : encodeRecord(next);
      if (next !== EVENTS_LOST) {
        this.last = next;
        if (this.counter !== undefined) this.counter.eventsReplayed++;
      }
      if (text.length > 0 && text.length + event.length > maxBytes) {
        this.carry = event;
        break;
      }
      text += event;
    }
    return text.length === 0 ? undefined : text;
  }
}

/** A replay read whole (stores without `replaySource`), given out one event at a time. */
class RecordsSource implements ReplaySource {
  private at = 0;
  readonly upTo: number;

  constructor(
    private readonly records: readonly HistoryRecord[],
    readonly complete: boolean,
  ) {
    this.upTo = records[records.length - 1]?.seq ?? -Infinity;
  }

  next(): HistoryRecord | undefined {
    return this.records[this.at++];
  }
}

const NO_EVENTS: ReplaySource = new RecordsSource([], true);

/**
 * What a resuming client gets before live events: what the store kept after its
 * Last-Event-ID, in publish order, preceded by a `history-truncated` event when the store
 * cannot vouch that nothing is missing (unknown or too old an id, or the store failed).
 * The in-memory store gives the events as the client takes them (MemoryHistory.replaySource).
 */
export async function replayCursorAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
  failed?: ReadFailed,
): Promise<ReplayCursor> {
  // The in-memory store gives its events as the client takes them; others are read whole.
  if (lastEventId.kind !== 'none' && isPaced(store)) {
    const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
    try {
      const source = store.replaySource(channels, asked ?? NEVER_AN_ID);
      return new ReplayCursor(source.complete ? '' : truncatedNotice(asked), source, source.upTo, asked);
    } catch (err) {
      debug('history read failed, resuming live only: %O', err);
      failed?.(err);
      return new ReplayCursor(truncatedNotice(asked), NO_EVENTS, -Infinity, asked);
    }
  }
  const read = await readAfter(store, channels, lastEventId, failed);
  if (read === undefined) return ReplayCursor.empty();
  const { replay, asked } = read;
  const source = new RecordsSource(replay.records, replay.complete);
  // The snapshot too: an event the client had already (at or before its id) can still reach
  // the bus after the read, and an empty replay would not say to skip it.
  const upTo = Math.max(source.upTo, replay.snapshot ?? -Infinity);
  return new ReplayCursor(replay.complete ? '' : truncatedNotice(asked), source, upTo, asked);
}

/**
 * The same replay as one text, for a GRIP hold (answered once, to the proxy): at most
 * `maxBytes` of events (at least one), the rest left for the next request (see `cut`).
 */
export async function replayAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
  maxBytes: number,
  failed?: ReadFailed,
): Promise<ReplayText> {
  const read = await readAfter(store, channels, lastEventId, failed);
  return read === undefined ? NOTHING : toText(read.replay, read.asked, maxBytes);
}

/** Hears a failed history read that the replay answered with `history-truncated` (the incident log). */
export type ReadFailed = (err: unknown) => void;

async function readAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
  failed?: ReadFailed,
): Promise<{ replay: Replay; asked: string | null } | undefined> {
  if (lastEventId.kind === 'none') return undefined;
  const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
  // Without history nothing the client missed can be vouched for.
  if (store === undefined) return { replay: { records: [], complete: false }, asked };
  try {
    return { replay: await store.readAfter(channels, asked ?? NEVER_AN_ID), asked };
  } catch (err) {
    debug('history read failed, resuming live only: %O', err);
    failed?.(err);
    // Nothing to vouch for: the notice alone, then live events.
    return { replay: { records: [], complete: false }, asked };
  }
}

/**
 * For GRIP recovery: the proxy says, per channel, the last id it delivered (`Grip-Last`).
 * Each channel resumes from its own position; the events are merged in publish order.
 */
export async function replayEachAfter(
  store: HistoryStore,
  positions: ReadonlyMap<string, string>,
  maxBytes: number,
): Promise<ReplayText> {
  const replays = await Promise.all(
    [...positions].map(async ([channel, lastId]) => {
      return { lastId, replay: await store.readAfter([channel], lastId) };
    }),
  );
  const records = replays.flatMap(({ replay }) => replay.records).sort((a, b) => a.seq - b.seq);
  const truncated = replays.find(({ replay }) => !replay.complete);
  // A store that does not tell its snapshot's ids for one channel tells none: the hold reads them.
  let lastIds: Map<string, string> | undefined = new Map<string, string>();
  for (const { replay } of replays) {
    if (replay.lastIds === undefined) lastIds = undefined;
    for (const [channel, id] of replay.lastIds ?? []) lastIds?.set(channel, id);
  }
  return toText({ records, complete: truncated === undefined, lastIds }, truncated?.lastId ?? null, maxBytes);
}

// A hold is answered in one body, which the origin builds whole and the proxy then relays:
// without a bound, every request for an old id would build the channel's whole history.
function toText(replay: Replay, asked: string | null, maxBytes: number): ReplayText {
  let text = replay.complete ? '' : truncatedNotice(asked);
  let upTo = -Infinity;
  const records = replay.records;
  let sent = 0;
  for (; sent < records.length; sent++) {
    const record = records[sent]!;
    const event = encodeRecord(record);
    // Counted in UTF-16 units, as ReplayCursor does; one event always goes, however large.
    if (sent > 0 && text.length + event.length > maxBytes) break;
    text += event;
    upTo = record.seq;
  }
  const result: ReplayText = { text, upTo, lastIds: replay.lastIds, truncated: !replay.complete, events: sent };
  if (sent < records.length) result.cut = positionsAt(records, sent);
  return result;
}

/** Where each channel of `records` stands once the first `sent` of them went out. */
function positionsAt(records: readonly HistoryRecord[], sent: number): Map<string, string> {
  const positions = new Map<string, string>();
  for (let i = 0; i < sent; i++) positions.set(records[i]!.channel, records[i]!.id);
  for (let i = sent; i < records.length; i++) {
    const record = records[i]!;
    // A store that no longer knows the id before (evicted) makes it the channel's start.
    if (!positions.has(record.channel)) positions.set(record.channel, record.prevId ?? FROM_START);
  }
  return positions;
}

function encodeRecord(record: HistoryRecord): string {
  return encodeEvent({ event: record.event, data: record.data, id: record.id });
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
