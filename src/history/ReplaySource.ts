import type { HistoryRecord, HistoryStore } from './HistoryStore.js';

/** Returned by a replay source in place of an event: events it owed were evicted first. */
export const EVENTS_LOST = Symbol('gripstream.eventsLost');

/**
 * A resume's events, pulled one at a time in publish order as the client takes them.
 * What it holds is a position per channel, never the events: a client that never reads
 * costs the same whether it is owed ten events or a hundred thousand.
 */
export interface ReplaySource {
  /** False when events after the asked id may be missing already (as `Replay.complete`). */
  readonly complete: boolean;
  /** Newest position it can yield (the store's newest when opened): later events come live. */
  readonly upTo: number;
  /** The next event; EVENTS_LOST when some it owed were evicted before it got to them; undefined at the end. */
  next(): HistoryRecord | typeof EVENTS_LOST | undefined;
}

/**
 * A store that can give a resume's events as the client takes them (the in-memory store,
 * src/memory/MemoryHistory.ts); others answer `readAfter` whole.
 */
export interface PacedHistoryStore extends HistoryStore {
  /** The same events as `readAfter`, pulled one at a time. */
  replaySource(channels: readonly string[], lastEventId: string): ReplaySource;
}

/** True when `store` gives its replays paced (see PacedHistoryStore). */
export function isPaced(store: HistoryStore | undefined): store is PacedHistoryStore {
  return typeof (store as Partial<PacedHistoryStore> | undefined)?.replaySource === 'function';
}
