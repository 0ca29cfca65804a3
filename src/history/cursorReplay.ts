import createDebug from 'debug';
import type { LastEventId } from '../request/lastEventId.js';
import { encodeEvent } from '../sse/encode.js';
import type { HistoryStore } from './HistoryStore.js';
import { RedisHistory } from './RedisHistory.js';
import { HISTORY_TRUNCATED_EVENT } from './replay.js';
import { isEmptyAt, StreamCursor } from './streamCursor.js';

const debug = createDebug('gripstream:history');

/** Looked up for a Last-Event-ID outside the id rule: unknown to every store, so truncated. */
const NEVER_AN_ID = '\u0000';

/** The store, when a stream on these channels resumes by cursor (a Redis Cluster). */
export function cursorStore(store: HistoryStore | undefined, channels: readonly string[]): RedisHistory | undefined {
  return channels.length > 1 && store instanceof RedisHistory && store.sharded ? store : undefined;
}

export interface CursorReplay {
  text: string;
  /** Where the stream stands once the replay is written: live frames go on from here. */
  cursor: StreamCursor;
}

/**
 * The replay of a multi-channel stream on a Redis Cluster, each event with the stream's cursor
 * as its id. Called right when the stream joined the bus (its live frames are held until the
 * replay is written). A fresh stream starts from where each channel stood when it joined
 * (read once, so that a resume later knows every channel's position, even of channels that
 * had no event while connected), and gets what was appended since then from the stream (see
 * RedisHistory.freshStart: a live frame at or below the cursor is skipped as replayed).
 * A replayed event's cursor is exact at that point: channels replayed later still stand
 * before their oldest replayed event, so a client cut off mid-replay resumes without a gap.
 */
export async function replayByCursor(store: RedisHistory, channels: readonly string[], lastEventId: LastEventId): Promise<CursorReplay> {
  const joinedAt = Date.now();
  const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
  try {
    const replay = lastEventId.kind === 'none' ? await store.freshStart(channels, joinedAt) : await store.readSharded(channels, asked ?? NEVER_AN_ID);
    const cursor = new StreamCursor(channels, replay.positions);
    for (const [channel, start] of replay.starts) cursor.set(channel, start);
    let text = replay.complete ? '' : truncatedNotice(asked);
    for (const record of replay.records) {
      cursor.advance(record.channel, record.seq);
      text += encodeEvent({ event: record.event, data: record.data, id: cursor.id() });
    }
    for (const [channel, seq] of replay.positions) if (seq > cursor.position(channel) || isEmptyAt(seq)) cursor.set(channel, seq);
    return { text, cursor };
  } catch (err) {
    debug('history read failed, resuming live only: %O', err);
    // Positions unknown: a later resume of this stream is answered as truncated.
    return { text: lastEventId.kind === 'none' ? '' : truncatedNotice(asked), cursor: new StreamCursor(channels) };
  }
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
