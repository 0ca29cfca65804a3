import createDebug from 'debug';
import { Frame } from '../bus/Frame.js';
import { Subscriber, type StreamSink } from '../bus/Subscriber.js';
import { CursorSubscriber } from '../engine/CursorSubscriber.js';
import { cursorStore, replayByCursor } from '../history/cursorReplay.js';
import { replayAfter } from '../history/replay.js';
import type { ConnectionInfo, StreamContext } from './context.js';
import type { LastEventId } from './lastEventId.js';

const debug = createDebug('gripstream:request');

export interface Subscription {
  /** Call once when the client has gone; removes the subscriber from the bus. */
  closed(): void;
  /** Resolves when the replay has been handed over (the opening frames went before it). */
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
): Subscription {
  // A stream on several channels of a Redis Cluster carries its own cursor id (no global order).
  const byCursor = cursorStore(ctx.history, channels);
  const subscriber = byCursor === undefined ? new Subscriber(sink, channels, ctx.subscriberHooks) : new CursorSubscriber(sink, channels, ctx.subscriberHooks);
  subscriber.hold();
  ctx.bus.add(subscriber);
  ctx.keepAlive.start();
  const { onConnect, onDisconnect } = ctx.hooks;
  // Held for the life of the stream, so only made when a hook will receive it.
  const info: ConnectionInfo | undefined =
    onConnect !== undefined || onDisconnect !== undefined ? { req, channels, proxied: false } : undefined;
  if (info !== undefined) onConnect?.(info);
  const ready =
    byCursor === undefined
      ? replayAfter(ctx.history, channels, lastEventId).then((replay) => {
          subscriber.release(Frame.of(replay.text), replay.upTo);
          debug('streaming %o (%d bytes replayed)', channels, replay.text.length);
        })
      : replayByCursor(byCursor, channels, lastEventId).then(({ text, cursor }) => {
          (subscriber as CursorSubscriber).releaseWith(Frame.of(text), cursor);
          debug('streaming %o by cursor (%d bytes replayed)', channels, text.length);
        });
  let open = true;
  return {
    ready,
    // Once per stream, whoever ended it: the client, a slow-client drop, or close().
    closed() {
      if (!open) return;
      open = false;
      subscriber.markClosed();
      ctx.bus.remove(subscriber);
      if (info !== undefined) onDisconnect?.(info);
    },
  };
}
