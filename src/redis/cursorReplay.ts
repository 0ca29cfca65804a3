import createDebug from 'debug';
import type { LastEventId } from '../sse/eventId.js';
import { encodeEvent } from '../sse/encode.js';
import type { HistoryRecord, Replay } from '../history/HistoryStore.js';
import { HISTORY_TRUNCATED_EVENT } from '../history/replay.js';
import { isEmptyAt, StreamCursor } from './streamCursor.js';
import { NEVER_AN_ID } from '../history/sentinels.js';

const debug = createDebug('gripstream:history');


/** A Cluster read: where each channel stood in the snapshot, and where its replayed events start. */
export interface ShardedReplay extends Replay {
  /** Newest position of each channel in the snapshot (0: none). */
  positions: Map<string, number>;
  /** Per channel with replayed events: the position before the oldest of them. */
  starts: Map<string, number>;
}

/** The reads a cursor replay makes (RedisHistory on a Cluster). */
export interface ShardedReads {
  freshStart(channels: readonly string[], joinedAt: number): Promise<ShardedReplay>;
  readSharded(channels: readonly string[], lastEventId: string): Promise<ShardedReplay>;
}

/**
 * A cursor stream's replay, encoded as the client reads it (like ReplayCursor, src/history/
 * replay.ts): each event's id is the cursor at that point, so the text is computed a batch at
 * a time from the records and a cursor of its own; what one client holds is the records read
 * and one batch, not the whole text (ids of 100 channels are ~1 KB per event).
 */
export class CursorReplay {
  private next = 0;
  /** True when the replay starts with the `history-truncated` notice (for the metrics). */
  readonly truncated: boolean;

  constructor(
    /** The `history-truncated` notice, or ''. */
    private carry: string,
    private readonly records: readonly HistoryRecord[],
    /** Where the stream stands before the first record (advanced as batches are encoded). */
    private readonly at: StreamCursor,
    /** Where the stream stands once the replay is written: live frames go on from here. */
    readonly cursor: StreamCursor,
  ) {
    this.truncated = carry !== '';
  }

  /** Events the replay holds (the notice not counted). */
  get events(): number {
    return this.records.length;
  }

  /** Same contract as ReplayCursor.nextBatch: about `maxBytes` of events, undefined when done. */
  nextBatch(maxBytes: number): string | undefined {
    let text = this.carry;
    this.carry = '';
    while (this.next < this.records.length) {
      const record = this.records[this.next++]!;
      this.at.advance(record.channel, record.seq);
      const event = encodeEvent({ event: record.event, data: record.data, id: this.at.id() });
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
 * The replay of a multi-channel stream on a Redis Cluster, each event with the stream's cursor
 * as its id. Called right when the stream joined the bus (its live frames are held until the
 * replay is written). A fresh stream starts from where each channel stood when it joined
 * (read once, so that a resume later knows every channel's position, even of channels that
 * had no event while connected), and gets what was appended since then from the stream (see
 * RedisHistory.freshStart: a live frame at or below the cursor is skipped as replayed).
 * A replayed event's cursor is exact at that point: channels replayed later still stand
 * before their oldest replayed event, so a client cut off mid-replay resumes without a gap.
 */
export async function replayByCursor(
  store: ShardedReads,
  channels: readonly string[],
  lastEventId: LastEventId,
  failed?: (err: unknown) => void,
): Promise<CursorReplay> {
  const joinedAt = Date.now();
  const asked = lastEventId.kind === 'id' ? lastEventId.value : null;
  try {
    const replay = lastEventId.kind === 'none' ? await store.freshStart(channels, joinedAt) : await store.readSharded(channels, asked ?? NEVER_AN_ID);
    const start = new StreamCursor(channels, replay.positions);
    for (const [channel, from] of replay.starts) start.set(channel, from);
    // The final cursor, for live frames: every record advanced (ids are encoded later, paced).
    const cursor = start.clone();
    for (const record of replay.records) cursor.advance(record.channel, record.seq);
    for (const [channel, seq] of replay.positions) if (seq > cursor.position(channel) || isEmptyAt(seq)) cursor.set(channel, seq);
    return new CursorReplay(replay.complete ? '' : truncatedNotice(asked), replay.records, start, cursor);
  } catch (err) {
    debug('history read failed, resuming live only: %O', err);
    failed?.(err);
    // Positions unknown: a later resume of this stream is answered as truncated.
    const cursor = new StreamCursor(channels);
    return new CursorReplay(lastEventId.kind === 'none' ? '' : truncatedNotice(asked), [], cursor, cursor);
  }
}

function truncatedNotice(lastEventId: string | null): string {
  return encodeEvent({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId }) });
}
