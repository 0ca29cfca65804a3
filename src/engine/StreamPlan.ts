import type { StreamSink, Subscriber, SubscriberHooks } from '../bus/Subscriber.js';
import type { LastEventId } from '../sse/eventId.js';
import type { HistoryStore } from '../history/HistoryStore.js';

/**
 * How a store that serves some streams its own way (a Redis Cluster's multi-channel streams,
 * which resume by a cursor of every channel's position) serves one: the subscriber to put on
 * the bus, and the replay that starts it. The request side holds the subscriber's live frames
 * until `replay` has written what the store read.
 */
export interface StreamPlan {
  /** Goes on the bus in place of a plain Subscriber. */
  readonly subscriber: Subscriber;
  /** Reads the history from `lastEventId` and starts the replay; tells what it held, for the metrics. */
  replay(lastEventId: LastEventId, failed: (err: unknown) => void): Promise<{ truncated: boolean; events: number }>;
}

/** A store that plans some of its streams (see StreamPlan). */
export interface StreamPlanner extends HistoryStore {
  /** The plan for a stream on `channels`, or undefined where the generic replay serves it. */
  planStream(sink: StreamSink, channels: readonly string[], hooks: SubscriberHooks): StreamPlan | undefined;
}

/** The store's own plan for a stream on `channels`, or undefined (the generic path). */
export function planStream(
  store: HistoryStore | undefined,
  sink: StreamSink,
  channels: readonly string[],
  hooks: SubscriberHooks,
): StreamPlan | undefined {
  const planner = store as Partial<StreamPlanner> | undefined;
  return typeof planner?.planStream === 'function' ? planner.planStream(sink, channels, hooks) : undefined;
}
