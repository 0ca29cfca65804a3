import { InvalidChannelError } from '../errors.js';
import { replayAfter } from '../history/replay.js';
import { encodeRetry } from '../sse/encode.js';
import { STREAM_OPEN } from '../sse/frames.js';
import { acceptsEventStream } from './accept.js';
import { type ChannelSpec, resolveChannels } from './channels.js';
import type { StreamContext } from './context.js';
import { EVENT_STREAM_HEADERS } from './reply.js';
import { readLastEventId, type LastEventId } from './lastEventId.js';
import type { RequestView } from './RequestView.js';

/** What to answer a stream request with; each transport (node, fetch) carries it out. */
export type StreamDecision =
  | { kind: 'refuse'; status: number; reason: string }
  | { kind: 'hold'; channels: string[]; headers: Record<string, string>; body: string }
  | { kind: 'stream'; channels: string[]; lastEventId: LastEventId };

/**
 * negotiate → channels → authorize → (GRIP hold | direct stream). Bad requests become
 * `refuse` decisions; anything else thrown (a channel builder's own error) is the caller's.
 */
export async function decideStream(
  ctx: StreamContext,
  req: RequestView,
  spec: ChannelSpec | string,
): Promise<StreamDecision> {
  if (ctx.isClosed()) return refusal(503, 'event stream is closed');
  if (!acceptsEventStream(req.header('accept'))) {
    return refusal(406, 'this endpoint only serves text/event-stream');
  }
  let channels: string[];
  try {
    channels = resolveChannels(spec, req);
  } catch (err) {
    if (err instanceof InvalidChannelError) return refusal(400, err.message);
    throw err;
  }
  if (ctx.hooks.authorize !== undefined && !(await ctx.hooks.authorize(req.raw, channels))) {
    return refusal(403, 'not authorized for these channels');
  }
  const lastEventId = readLastEventId(req);
  const origin = ctx.grip === undefined ? 'direct' : await ctx.grip.classify(req.header('grip-sig'));
  if (origin === 'forged') return refusal(403, 'Grip-Sig is not valid for this server');
  if (origin === 'direct') return { kind: 'stream', channels, lastEventId };
  // Through a proxy: it keeps the connection; we answer once with the opening frames.
  const replay = await replayAfter(ctx.history, channels, lastEventId);
  return {
    kind: 'hold',
    channels,
    headers: { ...EVENT_STREAM_HEADERS, ...ctx.grip!.holdHeaders(channels, ctx.keepAliveSeconds) },
    body: openingText(ctx) + replay.text,
  };
}

/** What every stream starts with: the retry setting, if any, then `stream-open`. */
export function openingText(ctx: StreamContext): string {
  return (ctx.retry === undefined ? '' : encodeRetry(ctx.retry)) + STREAM_OPEN;
}

function refusal(status: number, reason: string): StreamDecision {
  return { kind: 'refuse', status, reason };
}
