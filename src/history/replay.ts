import createDebug from 'debug';
import type { LastEventId } from '../request/lastEventId.js';
import { encodeEvent } from '../sse/encode.js';
import type { HistoryStore, Replay } from './HistoryStore.js';

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
 * The frames a resuming client gets before live events: what the store kept after its
 * Last-Event-ID, in publish order, preceded by a `history-truncated` event when the store
 * cannot vouch that nothing is missing (unknown or too old an id, or the store failed).
 */
export async function replayAfter(
  store: HistoryStore | undefined,
  channels: readonly string[],
  lastEventId: LastEventId,
): Promise<ReplayText> {
  if (lastEventId.kind === 'none') return NOTHING;
  const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
  // Without history nothing the client missed can be vouched for.
  if (store === undefined) return { text: truncatedNotice(asked), upTo: -Infinity };
  let replay: Replay;
  try {
    replay = await store.readAfter(channels, asked ?? NEVER_AN_ID);
  } catch (err) {
    debug('history read failed, resuming live only: %O', err);
    return { text: truncatedNotice(asked), upTo: -Infinity };
  }
  return toText(replay, asked);
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
  const lastIds = new Map<string, string>();
  for (const { replay } of replays) for (const [channel, id] of replay.lastIds ?? []) lastIds.set(channel, id);
  return toText({ records, complete: truncated === undefined, lastIds }, truncated?.lastId ?? null);
}

function toText(replay: Replay, asked: string | null): ReplayText {
  let text = replay.complete ? '' : truncatedNotice(asked);
  let upTo = -Infinity;
  for (const record of replay.records) {
    text += encodeEvent({ event: record.event, data: record.data, id: record.id });
    upTo = record.seq;
  }
  return { text, upTo, lastIds: replay.lastIds };
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
