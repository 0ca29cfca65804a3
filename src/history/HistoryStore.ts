/**
 * Where published events are kept for Last-Event-ID resume. The request and publish paths
 * speak only this interface, so a shared store (for several instances) can replace the
 * in-memory one without touching them. Methods may answer synchronously or with a Promise.
 */
export interface HistoryStore {
  /**
   * Keeps the events of one publish call, in order, and gives each its place in the global
   * publish order: all of them or none (a failed append keeps nothing, so a retry cannot
   * duplicate). `id` is the publisher's own id when it gave one; otherwise the store makes
   * one from the position.
   */
  append(channel: string, events: readonly HistoryInput[]): HistoryRecord[] | Promise<HistoryRecord[]>;
  /**
   * The retained events of `channels` published after `lastEventId`, in publish order.
   * `FROM_START` asks for everything from the channels' start: complete unless some of their
   * events were evicted.
   */
  readAfter(channels: readonly string[], lastEventId: string): Replay | Promise<Replay>;
  /**
   * The newest id of each channel that has events. Needed for GRIP reliable mode, where the
   * proxy is told each channel's `prev-id` when it starts holding a stream.
   */
  lastIds?(channels: readonly string[]): Map<string, string> | Promise<Map<string, string>>;
  /** Releases timers and connections. */
  close?(): void | Promise<void>;
}

/** An event as a store is given it: already checked and serialised. */
export interface HistoryInput {
  /** The SSE event name (`''` for none). */
  event: string;
  /** Serialised data, exactly as it goes on the wire. */
  data: string;
  /** The publisher's own id; without it the store assigns one. */
  id?: string;
}

/** An event as a store keeps it, with the id and position it was given. */
export interface HistoryRecord {
  /** Position in the store's global publish order: larger is later, across all channels. */
  seq: number;
  /** The SSE id sent to clients. */
  id: string;
  /** Id of the previous event on the same channel, if the store still knows it. */
  prevId?: string;
  /** The channel it was published to. */
  channel: string;
  /** The SSE event name. */
  event: string;
  /** Serialised data, as on the wire. */
  data: string;
}

/** What a store answers a resume with: the events after an id, and whether that is all of them. */
export interface Replay {
  /** The kept events after the id, in publish order. */
  records: HistoryRecord[];
  /**
   * False when events after `lastEventId` may have been lost: the id was unknown, or
   * older than what the store still keeps for one of the channels.
   */
  complete: boolean;
  /** The newest id of each channel in the same snapshot (stores that support `lastIds`). */
  lastIds?: Map<string, string>;
  /**
   * A position such that every event of these channels at or below it is in `records` or was
   * at or before `lastEventId` (stores whose positions are one order across channels, when
   * they tell): live events up to it are not sent again, even when `records` is empty.
   */
  snapshot?: number;
}

/**
 * The position before every event a store ever held (GRIP's `last-id=-`). No event id can be
 * empty (src/sse/eventId.ts), so it never collides with a real one.
 */
export const FROM_START = '';
