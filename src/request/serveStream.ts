import createDebug from 'debug';
import type { ChannelBus } from '../bus/ChannelBus.js';
import type { KeepAlive } from '../bus/KeepAlive.js';
import { Subscriber, type SubscriberHooks } from '../bus/Subscriber.js';
import { InvalidChannelError } from '../errors.js';
import type { GripTransport } from '../grip/GripTransport.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import { replayAfter } from '../history/replay.js';
import { STREAM_OPEN } from '../sse/frames.js';
import { encodeRetry } from '../sse/encode.js';
import type { StreamRequest, StreamResponse } from '../types.js';
import { acceptsEventStream } from './accept.js';
import { type ChannelSpec, resolveChannels } from './channels.js';
import { readLastEventId, type LastEventId } from './lastEventId.js';
import { EVENT_STREAM_HEADERS, refuse } from './reply.js';

const debug = createDebug('gripstream:request');

export interface ConnectionInfo {
  req: StreamRequest;
  channels: readonly string[];
  /** True when a GRIP proxy holds the connection and this process only answered once. */
  proxied: boolean;
}

export interface RequestHooks {
  authorize?: (req: StreamRequest, channels: readonly string[]) => boolean | Promise<boolean>;
  onConnect?: (info: ConnectionInfo) => void;
  onDisconnect?: (info: ConnectionInfo) => void;
}

/** Everything the request side needs from its EventStream. */
export interface StreamContext {
  readonly bus: ChannelBus;
  readonly keepAlive: KeepAlive;
  readonly subscriberHooks: SubscriberHooks;
  readonly history: HistoryStore | undefined;
  readonly grip: GripTransport | undefined;
  readonly maxBufferedBytes: number;
  readonly keepAliveSeconds: number;
  readonly retry: number | undefined;
  readonly hooks: RequestHooks;
  isClosed(): boolean;
}

/**
 * request → negotiate → channels → (GRIP hold | subscribe + replay) → socket.
 * Bad requests are answered here (406/400/403/503); anything else thrown is the caller's
 * (a channel builder's own error, for instance) and goes to `next(err)`.
 */
export async function serveStream(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  spec: ChannelSpec | string,
): Promise<void> {
  if (ctx.isClosed()) return refuse(res, 503, 'event stream is closed');
  if (!acceptsEventStream(req.headers.accept)) {
    return refuse(res, 406, 'this endpoint only serves text/event-stream');
  }
  let channels: string[];
  try {
    channels = resolveChannels(spec, req);
  } catch (err) {
    if (err instanceof InvalidChannelError) return refuse(res, 400, err.message);
    throw err;
  }
  if (ctx.hooks.authorize !== undefined && !(await ctx.hooks.authorize(req, channels))) {
    return refuse(res, 403, 'not authorized for these channels');
  }
  const lastEventId = readLastEventId(req);
  const origin = ctx.grip === undefined ? 'direct' : await ctx.grip.classify(req);
  if (origin === 'forged') return refuse(res, 403, 'Grip-Sig is not valid for this server');
  if (origin === 'proxied') return holdThroughProxy(ctx, req, res, channels, lastEventId);
  return streamDirectly(ctx, req, res, channels, lastEventId);
}

/** The proxy keeps the connection; we answer with instructions and the opening frames, then end. */
async function holdThroughProxy(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  channels: string[],
  lastEventId: LastEventId,
): Promise<void> {
  const grip = ctx.grip!;
  const replay = await replayAfter(ctx.history, channels, lastEventId);
  const body = openingText(ctx) + replay.text;
  res.writeHead(200, {
    ...EVENT_STREAM_HEADERS,
    ...grip.holdHeaders(channels, ctx.keepAliveSeconds),
  });
  res.end(body);
  debug('held %o through GRIP', channels);
  ctx.hooks.onConnect?.({ req, channels, proxied: true });
}

async function streamDirectly(
  ctx: StreamContext,
  req: StreamRequest,
  res: StreamResponse,
  channels: string[],
  lastEventId: LastEventId,
): Promise<void> {
  // The client may have left while authorize or the signature check was awaited.
  if (res.destroyed || req.socket.destroyed) return;
  const subscriber = new Subscriber(res, channels, ctx.maxBufferedBytes, ctx.subscriberHooks);
  const info: ConnectionInfo = { req, channels, proxied: false };
  res.writeHead(200, EVENT_STREAM_HEADERS);
  res.flushHeaders();
  res.once('close', () => {
    subscriber.markClosed();
    if (ctx.bus.remove(subscriber)) ctx.hooks.onDisconnect?.(info);
  });
  // Subscribe before reading history, holding live frames, so a publish racing the replay
  // is neither lost (published after the read) nor doubled (already in the replay).
  subscriber.hold();
  ctx.bus.add(subscriber);
  ctx.keepAlive.start();
  ctx.hooks.onConnect?.(info);
  const replay = await replayAfter(ctx.history, channels, lastEventId);
  subscriber.release(Buffer.from(openingText(ctx) + replay.text), replay.upTo);
  debug('streaming %o (%d bytes replayed)', channels, replay.text.length);
}

function openingText(ctx: StreamContext): string {
  return (ctx.retry === undefined ? '' : encodeRetry(ctx.retry)) + STREAM_OPEN;
}
