import createDebug from 'debug';
import type { LastEventId } from '../sse/eventId.js';
import { encodeEvent } from '../sse/encode.js';
import type { HistoryRecord, HistoryStore, Replay } from './HistoryStore.js';

const debug = createDebug('gripstream:history');

/** Sent before a replay that may miss events, so the client can refetch state instead. */
export const HISTORY_TRUNCATED_EVENT = 'history-truncated';

export interface ReplayText {
  text: string;
  /** Highest history position replayed; live events at or below it were already sent. */
  upTo: number;
  /** Newest id per channel in the snapshot replayed from, when the store tells. */
  lastIds?: Map<string, string>;
}

/** Looked up for a Last-Event-ID outside the id rule: unknown to every store, so truncated. */
const NEVER_AN_ID = '\u0000';

const NOTHING: ReplayText = { text: '', upTo: -Infinity };

/**
 * A replay to be written as the client reads it. It only points at the store's records
 * (shared by every client replaying them) and encodes them a batch at a time, so what one
 * client costs is one batch, not the whole replay's text.
 */
export class ReplayCursor {
  private next = 0;

  constructor(
    /** Text to send first: the `history-truncated` notice, or ''. */
    private carry: string,
    private readonly records: readonly HistoryRecord[],
    /** Highest history position in `records`; -Infinity when none. */
    readonly upTo: number,
  ) {}

  static empty(): ReplayCursor {
    return new ReplayCursor('', [], -Infinity);
  }

  /**
   * The next events as text: as many as fit in `maxBytes` (counted in UTF-16 units, which
   * undercount only multi-byte text), or one event if it alone is larger; undefined when done.
   */
  nextBatch(maxBytes: number): string | undefined {
    // The notice, then the event that did not fit in the batch before (encoded once).
    let text = this.carry;
    this.carry = '';
    const records = this.records;
    while (this.next < records.length) {
      const event = encodeRecord(records[this.next++]!);
      if (text.length > 0 && text.length + event.length > maxBytes) {
        this.carry = event;
        break;
      }
      text += event;
    }
    return text.length === 0 ? undefined : text;
  }
}

/**
 * What a resuming client gets before live events: what the store kept after its
 * Last-Event-ID, in publish order, preceded by a `history-truncated` event when the store
 * cannot vouch that nothing is missing (unknown or too old an id, or the store failed).
 */
export async function replayCursorAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
  failed?: ReadFailed,
): Promise<ReplayCursor> {
  const read = await readAfter(store, channels, lastEventId, failed);
  if (read === undefined) return ReplayCursor.empty();
  const { replay, asked } = read;
  const last = replay.records[replay.records.length - 1];
  return new ReplayCursor(replay.complete ? '' : truncatedNotice(asked), replay.records, last?.seq ?? -Infinity);
}

/** The same replay as one text, for a GRIP hold (answered once, to the proxy). */
export async function replayAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
  failed?: ReadFailed,
): Promise<ReplayText> {
  const read = await readAfter(store, channels, lastEventId, failed);
  return read === undefined ? NOTHING : toText(read.replay, read.asked);
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
  return toText({ records, complete: truncated === undefined, lastIds }, truncated?.lastId ?? null);
}

function toText(replay: Replay, asked: string | null): ReplayText {
  let text = replay.complete ? '' : truncatedNotice(asked);
  let upTo = -Infinity;
  for (const record of replay.records) {
    text += encodeRecord(record);
    upTo = record.seq;
  }
  return { text, upTo, lastIds: replay.lastIds };
}

function encodeRecord(record: HistoryRecord): string {
  return encodeEvent({ event: record.event, data: record.data, id: record.id });
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
