import type { GripFrame } from '../grip/GripTransport.js';
import type { HistoryInput, HistoryStore } from '../history/HistoryStore.js';

/**
 * What carries a validated publish to every subscriber of its channel: it owns the channel's
 * order (history) and the delivery (fan-out), which belong together once several instances
 * serve the same channel. The Dispatcher validates and hands the batch over; the engine keeps
 * it (all or nothing), delivers it to the local bus — and, for the Redis engine, to every
 * other instance — and gives back the encoded events for the GRIP proxies.
 */
export interface Engine {
  /** What the request side replays from (and GRIP reliable mode asks for prev-ids). */
  readonly history: HistoryStore | undefined;
  /**
   * Keeps the batch in one step, then delivers it. Nothing is delivered unless the whole
   * batch was kept. Encoded events are pushed onto `collect` when given (for GRIP).
   * Answers synchronously when it can (the in-memory path), a Promise otherwise.
   */
  publish(channel: string, events: readonly HistoryInput[], collect: GripFrame[] | undefined): void | Promise<void>;
  close(): Promise<void>;
  /**
   * For a stream that just joined the bus without a Last-Event-ID: a position such that it
   * gets every event of its channels above it and none at or below it (the Redis engine on one
   * Redis, see RedisEngine.joinPosition); undefined where there is nothing to skip.
   */
  joinPosition?(): number | undefined;
}
