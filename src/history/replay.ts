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
}

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
  if (store === undefined || lastEventId.kind === 'none') return NOTHING;
  const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
  let replay: Replay;
  try {
    const pending = store.readAfter(channels, asked ?? '');
    replay = pending instanceof Promise ? await pending : pending;
  } catch (err) {
    debug('history read failed, resuming live only: %O', err);
    return { text: truncatedNotice(asked), upTo: -Infinity };
  }
  let text = replay.complete ? '' : truncatedNotice(asked);
  let upTo = -Infinity;
  for (const record of replay.records) {
    text += encodeEvent({ event: record.event, data: record.data, id: record.id });
    upTo = record.seq;
  }
  return { text, upTo };
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
