import createDebug from 'debug';
import { callApp, catchRejection } from '../appCallback.js';
import { Subscriber, type StreamSink } from '../bus/Subscriber.js';
import { replayCursorAfter } from '../history/replay.js';
import { planStream } from '../engine/StreamPlan.js';
import type { StreamTransport } from '../telemetry/Metrics.js';
import type { ConnectionInfo, StreamContext } from './context.js';
import type { LastEventId } from '../sse/eventId.js';

const debug = createDebug('gripstream:request');

const NO_REPLAY: Promise<void> = Promise.resolve();

const RESUME_FAILED = 'resuming streams; they were sent history-truncated and went on live';

export interface Subscription {
  /** Call once when the client has gone; removes the subscriber from the bus. */
  release(): void;
  /**
   * Resolves when the history has been read and its replay started (the opening frames went
   * before it). The replay itself is written as the client reads it.
   */
  ready: Promise<void>;
}

/**
 * Puts a sink, whose opening frames are already written, on the bus and writes its replay.
 * It subscribes BEFORE reading history, holding live frames meanwhile, so a publish racing
 * the replay is neither lost (published after the read) nor doubled (already in the replay).
 */
export function subscribe(
  ctx: StreamContext,
  sink: StreamSink,
  req: ConnectionInfo['req'],
  channels: readonly string[],
  lastEventId: LastEventId,
  transport: StreamTransport,
): Subscription {
  // A store may serve a stream its own way (a Redis Cluster's multi-channel stream writes its
  // own cursor id, there being no global order); such a plan always reads where its channels
  // stand first, so it always holds.
  const plan = planStream(ctx.history, sink, channels, ctx.subscriberHooks);
  const subscriber = plan?.subscriber ?? new Subscriber(sink, channels, ctx.subscriberHooks);
  // Without a position to resume from there is nothing to replay, and nothing to hold.
  const resumes = lastEventId.kind !== 'none' || plan !== undefined;
  if (resumes) subscriber.hold();
  ctx.bus.add(subscriber);
  if (!resumes) {
    // After add: the feeds of its new channels have begun, below this position.
    const above = ctx.joinPosition?.();
    if (above !== undefined) subscriber.startAbove(above);
  }
  ctx.keepAlive.start();
  const metrics = ctx.metrics;
  metrics.streamsOpen[transport]++;
  const { onConnect, onDisconnect } = ctx.hooks;
  // Held for the life of the stream, so only made when a hook will receive it.
  const info: ConnectionInfo | undefined =
    onConnect !== undefined || onDisconnect !== undefined ? { req, channels, proxied: false } : undefined;
  if (info !== undefined && onConnect !== undefined) {
    try {
      // Only a synchronous throw refuses the stream; a rejection comes after it opened.
      catchRejection(onConnect(info), (err) => debug('onConnect rejected: %O', err));
    } catch (err) {
      // The stream is not served: its subscription must not outlive it. The caller ends the response.
      subscriber.markClosed();
      ctx.bus.remove(subscriber);
      metrics.streamsOpen[transport]--;
      throw err;
    }
  }
  const ready =
    plan !== undefined
      ? plan.replay(lastEventId, (err) => ctx.incidents.historyReadFailed(err, RESUME_FAILED)).then((replay) => {
          if (lastEventId.kind !== 'none') metrics.resumed(replay.truncated, replay.events);
          debug('streaming %o by the store\'s plan', channels);
        })
      : resumes
        ? replayCursorAfter(ctx.history, channels, lastEventId, (err) => ctx.incidents.historyReadFailed(err, RESUME_FAILED)).then((cursor) => {
            metrics.resumed(cursor.truncated, 0);
            cursor.countInto(metrics);
            subscriber.replayFrom(cursor);
            debug('streaming %o (replay up to %d)', channels, cursor.upTo);
          })
        : NO_REPLAY;
  let released = false;
  return {
    ready,
    // Once per stream, whoever ended it: the client, a slow-client drop, or close().
    release() {
      if (released) return;
      released = true;
      subscriber.markClosed();
      ctx.bus.remove(subscriber);
      metrics.streamsOpen[transport]--;
      if (info === undefined || onDisconnect === undefined) return;
      // Called from the response's 'close' listener, where a throw would crash the process.
      callApp(
        () => onDisconnect(info),
        (err) => {
          debug('onDisconnect threw: %O', err);
          metrics.onDisconnectErrors++;
          ctx.incidents.onDisconnectThrew(err);
        },
      );
    },
  };
}

