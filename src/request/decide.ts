import createDebug from 'debug';
import { GripstreamError, InvalidChannelError } from '../errors.js';
import type { ReliableHold } from '../grip/GripTransport.js';
import { FROM_START } from '../history/HistoryStore.js';
import { replayAfter, replayEachAfter } from '../history/replay.js';
import { DRAIN_RETRY_AFTER } from '../ops/drain.js';
import { encodeRetry } from '../sse/encode.js';
import { STREAM_OPEN } from '../sse/frames.js';
import { acceptsEventStream } from './accept.js';
import { type ChannelSpec, resolveChannels } from './channels.js';
import type { StreamContext } from './context.js';
import { EVENT_STREAM_HEADERS } from './reply.js';
import { fromHeaderBytes, toHeaderBytes } from './headerText.js';
import type { LastEventId } from '../sse/eventId.js';
import { readLastEventId } from './lastEventId.js';
import type { RequestView } from './RequestView.js';

/** What to answer a stream request with; each transport (node, fetch) carries it out. */
export type StreamDecision =
  | { kind: 'refuse'; status: number; reason: string; headers?: Record<string, string> }
  /** HEAD: the stream's head and nothing else; no subscription. */
  | { kind: 'head'; headers: Readonly<Record<string, string>> }
  | { kind: 'hold'; channels: string[]; headers: Record<string, string>; body: string }
  | { kind: 'stream'; channels: string[]; lastEventId: LastEventId };

const debug = createDebug('gripstream:grip');

/** Seconds until the proxy retries a recovery that history could not answer. */
const RECOVERY_RETRY_SECONDS = 1;

/** Methods a stream route answers; anything else gets 405 with them in `Allow`. */
const STREAM_METHODS = 'GET, HEAD';

/**
 * method → negotiate → channels → authorize → (GRIP hold | direct stream). Bad requests
 * become `refuse` decisions; anything else thrown (a channel builder's own error) is the caller's.
 */
export async function decideStream(
  ctx: StreamContext,
  req: RequestView,
  spec: ChannelSpec | string,
): Promise<StreamDecision> {
  // Only direct streams are refused while draining: a GRIP hold (or a proxy recovering a gap)
  // is answered once and then held by the proxy, so it outlives this instance, and a refused
  // hold would reach the client as a 503 its EventSource never retries. Without GRIP every
  // request would be a direct stream: refused before any work.
  if (ctx.isDraining() && ctx.grip === undefined) return drainRefusal();
  const decision = await decide(ctx, req, spec);
  // close() may have run while the builder, authorize, the signature check or history was
  // awaited: a stream opened now would never be ended (and server.close() would hang).
  if (decision.kind !== 'refuse' && ctx.isClosed()) return refusal(503, 'event stream is closed');
  // Likewise a drain that began meanwhile: its waves would not end a stream opened now.
  if (decision.kind === 'stream' && ctx.isDraining()) return drainRefusal();
  return decision;
}

/** 503 with `Retry-After`: a load balancer (nginx `proxy_next_upstream http_503`) tries another instance. */
function drainRefusal(): StreamDecision {
  return {
    kind: 'refuse',
    status: 503,
    reason: 'this instance is draining before shutdown: connect to another one',
    headers: { 'Retry-After': DRAIN_RETRY_AFTER },
  };
}

async function decide(ctx: StreamContext, req: RequestView, spec: ChannelSpec | string): Promise<StreamDecision> {
  if (ctx.isClosed()) return refusal(503, 'event stream is closed');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    return { kind: 'refuse', status: 405, reason: `an event stream is read with GET, not ${method}`, headers: { Allow: STREAM_METHODS } };
  }
  if (!acceptsEventStream(req.header('accept'))) {
    return refusal(406, 'this endpoint only serves text/event-stream');
  }
  let channels: string[];
  try {
    channels = await resolveChannels(spec, req);
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
  if (method === 'HEAD') return { kind: 'head', headers: EVENT_STREAM_HEADERS };
  if (origin === 'direct') return { kind: 'stream', channels, lastEventId };
  return holdDecision(ctx, req, channels, lastEventId, origin === 'signed');
}

/**
 * Through a proxy, which keeps the connection: answer once with hold instructions and the
 * opening frames plus any replay. A request carrying `Grip-Last` is the proxy recovering a
 * gap of a stream it already holds: it gets only the missed events, no `stream-open`.
 */
async function holdDecision(
  ctx: StreamContext,
  req: RequestView,
  channels: string[],
  lastEventId: LastEventId,
  signed: boolean,
): Promise<StreamDecision> {
  const grip = ctx.grip!;
  // Grip-Last is believed only from a proxy that proved itself with a signed Grip-Sig, and
  // only for the channels this route gave (after authorize). Without a key anyone can send
  // it: the request is then an ordinary hold.
  const gripLast = grip.reliable && signed && ctx.history !== undefined ? req.header('grip-last') : undefined;
  const recovery = gripLast === undefined ? undefined : grip.parseGripLast(fromHeaderBytes(gripLast), channels);
  if (recovery !== undefined) return recoveryDecision(ctx, req, channels, recovery);
  const replay = await replayAfter(ctx.history, channels, lastEventId, (err) =>
    ctx.incidents.historyReadFailed(err, 'replaying to GRIP holds; they were sent history-truncated and went on live'),
  );
  const reliable = grip.reliable ? await reliableHold(ctx, req, channels, replay.lastIds) : undefined;
  return holdOf(ctx, channels, openingText(ctx.retry) + replay.text, reliable);
}

/**
 * The proxy recovering a gap: only the missed events. When history cannot be read now (Redis
 * restarting, a link still reconnecting), an error would leave the gap open until the next
 * publish on the channel, which may never come. The hold is renewed at the positions the
 * proxy already has, with a next link due in a second: the proxy asks again on its own.
 */
async function recoveryDecision(
  ctx: StreamContext,
  req: RequestView,
  channels: string[],
  recovery: Map<string, string>,
): Promise<StreamDecision> {
  try {
    const replay = await replayEachAfter(ctx.history!, recovery);
    return holdOf(ctx, channels, replay.text, await reliableHold(ctx, req, channels, replay.lastIds));
  } catch (err) {
    if (!(err instanceof GripstreamError)) throw err;
    ctx.incidents.historyReadFailed(err, 'answering GRIP recoveries (Grip-Last); the proxy asks again in 1 s');
    debug('recovery read failed, the proxy retries in %d s: %O', RECOVERY_RETRY_SECONDS, err);
    // A channel left out is held at `-` (holdHeaders), which is what FROM_START came from.
    const prevIds = new Map([...recovery].filter(([, id]) => id !== FROM_START));
    return holdOf(ctx, channels, '', { prevIds, nextLink: nextLinkFor(req), nextLinkTimeout: RECOVERY_RETRY_SECONDS });
  }
}

function holdOf(ctx: StreamContext, channels: string[], body: string, reliable: ReliableHold | undefined): StreamDecision {
  const grip = ctx.grip!;
  return {
    kind: 'hold',
    channels,
    headers: { ...EVENT_STREAM_HEADERS, ...asHeaderBytes(grip.holdHeaders(channels, ctx.keepAliveSeconds, reliable)) },
    body,
  };
}

async function reliableHold(
  ctx: StreamContext,
  req: RequestView,
  channels: readonly string[],
  snapshot: Map<string, string> | undefined,
): Promise<ReliableHold> {
  return { prevIds: await prevIdsOf(ctx, channels, snapshot), nextLink: nextLinkFor(req) };
}

/**
 * Each channel's `prev-id`: the newest id the client has (a channel left out is held at `-`).
 * When a replay was read, they come from that same snapshot, where a channel without an id has
 * no events. Reading the ids again would race a publish: an id newer than the replay would
 * make the proxy drop that event as already delivered.
 */
async function prevIdsOf(
  ctx: StreamContext,
  channels: readonly string[],
  snapshot: Map<string, string> | undefined,
): Promise<ReadonlyMap<string, string>> {
  if (snapshot !== undefined) return snapshot;
  const prevIds = new Map<string, string>();
  if (ctx.history?.lastIds === undefined) return prevIds;
  try {
    for (const [channel, id] of await ctx.history.lastIds(channels)) prevIds.set(channel, id);
  } catch {
    // History unreachable: hold anyway. The first publish after it is back reveals the
    // gap to the proxy, which then recovers through the next link.
  }
  return prevIds;
}

/**
 * The proxy fetches the same URL to recover. Resume parameters are dropped from it: on
 * recovery, `Grip-Last` is the only true position (a stale `lastEventId` would replay twice).
 */
function nextLinkFor(req: RequestView): string {
  const url = new URL(req.url ?? '/', 'http://origin.invalid');
  url.searchParams.delete('lastEventId');
  url.searchParams.delete('last_event_id');
  return url.pathname + url.search;
}

/** What every stream starts with: the retry setting, if any, then `stream-open`. */
export function openingText(retry: number | undefined): string {
  return (retry === undefined ? '' : encodeRetry(retry)) + STREAM_OPEN;
}

/** GRIP names channels (and ids) in headers: UTF-8 names such as `café` leave as UTF-8. */
function asHeaderBytes(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = toHeaderBytes(value);
  return out;
}

function refusal(status: number, reason: string): StreamDecision {
  return { kind: 'refuse', status, reason };
}
