import createDebug from 'debug';
import { checkAccess } from './gate.js';
import { callApp, catchRejection, ignoreRejection } from '../appCallback.js';
import { refusalHeaders, refusalOfError, type StreamRefusal } from './refusal.js';
import { checkSubscribeToken, type SubscribeGate } from '../auth/subscribeGate.js';
import { tokenRefusal } from '../auth/tokenRefusal.js';
import { GripstreamError, InvalidChannelError, StreamRefusedError, TokenError } from '../errors.js';
import type { ReliableHold } from '../grip/GripTransport.js';
import { FROM_START } from '../history/HistoryStore.js';
import { replayAfter, replayEachAfter, type ReplayText } from '../history/replay.js';
import { encodeRetry } from '../sse/encode.js';
import { STREAM_OPEN } from '../sse/frames.js';
import { EVENT_STREAM_HEADERS } from '../sse/streamHeaders.js';
import { acceptsEventStream } from './accept.js';
import { type ChannelSpec, resolveChannels } from './channels.js';
import type { StreamContext } from './context.js';
import { fromHeaderBytes, toHeaderBytes } from './headerText.js';
import type { LastEventId } from '../sse/eventId.js';
import { readLastEventId } from './lastEventId.js';
import type { RequestView } from './RequestView.js';
import type { FrameworkRequest } from '../types.js';

/**
 * The part of the context deciding reads: no bus, no sockets, so a transport without them
 * (the edge entry, which only answers GRIP holds) can decide too.
 */
export type DecideContext = Pick<
  StreamContext,
  'history' | 'grip' | 'keepAliveSeconds' | 'holdReplayBytes' | 'retry' | 'hooks' | 'gates' | 'tokens' | 'incidents' | 'metrics' | 'isClosed' | 'isDraining'
>;

/** What to answer a stream request with; each transport (node, fetch) carries it out. */
export type StreamDecision =
  | {
      kind: 'refuse';
      status: number;
      reason: string;
      headers?: Record<string, string>;
      contentType?: string;
      channels?: readonly string[];
    }
  /** HEAD: the stream's head and nothing else; no subscription. */
  | { kind: 'head'; headers: Readonly<Record<string, string>> }
  /**
   * Answered once, to the proxy. With GRIP headers the proxy holds the stream; without them
   * (a bounded replay outside reliable mode) it relays the body and ends the stream.
   */
  | { kind: 'hold'; channels: string[]; headers: Record<string, string>; body: string }
  /** A stream this process serves: its head, then its subscription to `channels` from `lastEventId`. */
  | { kind: 'stream'; channels: string[]; lastEventId: LastEventId; headers: Readonly<Record<string, string>> };

const debug = createDebug('gripstream:grip');

/** Seconds until the proxy retries a recovery that history could not answer. */
const RECOVERY_RETRY_SECONDS = 1;

/** Seconds until the proxy fetches the rest of a replay cut at its bound (its shortest wait). */
const CONTINUE_SECONDS = 1;

/** Methods a stream route answers; anything else gets 405 with them in `Allow`. */
const STREAM_METHODS = 'GET, HEAD';

/**
 * method → negotiate → channels → authorize → (GRIP hold | direct stream). Bad requests
 * become `refuse` decisions; anything else thrown (a channel builder's own error) is the caller's.
 */
export async function decideStream(
  ctx: DecideContext,
  req: RequestView,
  spec: ChannelSpec | string,
): Promise<StreamDecision> {
  return decideStreamNow(ctx, req, spec);
}

/**
 * `decideStream`, answered at once when nothing has to be waited for (a route of names, no
 * access check, no GRIP, no tokens: every stream of a plain fan-out), so such a stream costs
 * no promise and no turn of the microtask queue; otherwise a Promise. A builder's own error
 * may then be thrown here rather than rejected.
 */
export function decideStreamNow(
  ctx: DecideContext,
  req: RequestView,
  spec: ChannelSpec | string,
): StreamDecision | Promise<StreamDecision> {
  // Only direct streams are refused while draining: a GRIP hold (or a proxy recovering a gap)
  // is answered once and then held by the proxy, so it outlives this instance, and a refused
  // hold would reach the client as a 503 its EventSource never retries. Without GRIP every
  // request would be a direct stream: refused before any work.
  if (ctx.isDraining() && ctx.grip === undefined) return settle(ctx, req, drainRefusal());
  const decided = decide(ctx, req, spec);
  return decided instanceof Promise ? decided.then((decision) => settle(ctx, req, decision)) : settle(ctx, req, decided);
}

/** The decision as it stands once everything it waited for has answered. */
function settle(ctx: DecideContext, req: RequestView, decided: StreamDecision): StreamDecision {
  let decision = decided;
  // close() may have run while the builder, authorize, the signature check or history was
  // awaited: a stream opened now would never be ended (and server.close() would hang).
  if (decision.kind !== 'refuse' && ctx.isClosed()) decision = refusal(503, 'event stream is closed');
  // Likewise a drain that began meanwhile: its waves would not end a stream opened now.
  if (decision.kind === 'stream' && ctx.isDraining()) decision = drainRefusal();
  if (decision.kind === 'refuse') reportRefusal(ctx, req, decision);
  return decision;
}

/** Seconds a stream request refused during a drain is told to wait (`Retry-After`): go elsewhere now. */
const DRAIN_RETRY_AFTER = '1';

/** 503 with `Retry-After`: a load balancer (nginx `proxy_next_upstream http_503`) tries another instance. */
function drainRefusal(): StreamDecision {
  return {
    kind: 'refuse',
    status: 503,
    reason: 'this instance is draining before shutdown: connect to another one',
    headers: { 'Retry-After': DRAIN_RETRY_AFTER },
  };
}

/** Tells `onRefused`; the refusal is sent whatever the hook does. */
function reportRefusal(ctx: DecideContext, req: RequestView, decision: StreamDecision & { kind: 'refuse' }): void {
  const onRefused = ctx.hooks.onRefused;
  if (onRefused === undefined) return;
  callApp(
    () => onRefused({ req: req.subject, status: decision.status, reason: decision.reason, channels: decision.channels }),
    (err) => debug('onRefused threw: %O', err),
  );
}

/**
 * Tells `onConnect` that a hold was answered (the proxy now keeps the stream). A rejection is
 * the app's to handle; unhandled, it would end the process.
 */
export function reportHold(ctx: Pick<DecideContext, 'hooks'>, subject: FrameworkRequest, channels: readonly string[]): void {
  const { onConnect } = ctx.hooks;
  if (onConnect !== undefined) catchRejection(onConnect({ req: subject, channels, proxied: true }), ignoreRejection);
}

function decide(ctx: DecideContext, req: RequestView, spec: ChannelSpec | string): StreamDecision | Promise<StreamDecision> {
  if (ctx.isClosed()) return refusal(503, 'event stream is closed');
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    return { kind: 'refuse', status: 405, reason: `an event stream is read with GET, not ${method}`, headers: { Allow: STREAM_METHODS } };
  }
  if (!acceptsEventStream(req.header('accept'))) {
    return refusal(406, 'this endpoint only serves text/event-stream');
  }
  let channels: string[] | Promise<string[]>;
  try {
    channels = resolveChannels(spec, req);
  } catch (err) {
    return channelRefusal(err);
  }
  if (channels instanceof Promise) {
    return channels.then((resolved) => decideFor(ctx, req, method, resolved), channelRefusal);
  }
  return decideFor(ctx, req, method, channels);
}

/** A channel list the request could not make: 400, or the builder's own refusal; anything else is thrown on. */
function channelRefusal(err: unknown): StreamDecision {
  if (err instanceof InvalidChannelError) return refusal(400, err.message);
  if (err instanceof StreamRefusedError) return accessRefusal(refusalOfError(err), undefined);
  throw err;
}

/** Once the channels are known. Most routes have no check: they decide without waiting for anything. */
function decideFor(ctx: DecideContext, req: RequestView, method: string, channels: string[]): StreamDecision | Promise<StreamDecision> {
  if (ctx.gates.length > 0 || ctx.hooks.authorize !== undefined || ctx.grip !== undefined || ctx.tokens !== undefined) {
    return decideChecked(ctx, req, method, channels);
  }
  const lastEventId = readLastEventId(req);
  if (method === 'HEAD') return { kind: 'head', headers: EVENT_STREAM_HEADERS };
  return { kind: 'stream', channels, lastEventId, headers: EVENT_STREAM_HEADERS };
}

async function decideChecked(ctx: DecideContext, req: RequestView, method: string, channels: string[]): Promise<StreamDecision> {
  // Most routes have no check: they skip the await (and its turn of the microtask queue).
  if (ctx.gates.length > 0 || ctx.hooks.authorize !== undefined) {
    const refused = await checkAccess(ctx.gates, ctx.hooks.authorize, req, channels);
    if (refused !== undefined) return accessRefusal(refused, channels);
  }
  const lastEventId = readLastEventId(req);
  const origin = ctx.grip === undefined ? 'direct' : await ctx.grip.classify(req.header('grip-sig'));
  if (origin === 'forged') return refusal(403, 'Grip-Sig is not valid for this server');
  if (ctx.tokens !== undefined && !isProxyRecovery(ctx, req, origin === 'signed')) {
    const refused = await tokenDecision(ctx.tokens, req, channels);
    if (refused !== undefined) return refused;
  }
  if (method === 'HEAD') return { kind: 'head', headers: EVENT_STREAM_HEADERS };
  if (origin === 'direct') return { kind: 'stream', channels, lastEventId, headers: EVENT_STREAM_HEADERS };
  return holdDecision(ctx, req, channels, lastEventId, origin === 'signed');
}

/** A signed proxy asking for the events a stream it holds missed (GRIP reliable mode). */
function isProxyRecovery(ctx: DecideContext, req: RequestView, signed: boolean): boolean {
  return ctx.grip?.reliable === true && signed && ctx.history !== undefined && req.header('grip-last') !== undefined;
}

/**
 * The token gate, after the route's channels and `authorize`: it can only refuse more. A
 * proxy's signed recovery request is let through: the proxy sends none of the client's
 * cookies or headers then, and it holds a stream whose token was checked when it opened.
 */
async function tokenDecision(gate: SubscribeGate, req: RequestView, channels: readonly string[]): Promise<StreamDecision | undefined> {
  try {
    await checkSubscribeToken(gate, req, channels);
    return undefined;
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    const { status, headers, body } = tokenRefusal(err);
    return { kind: 'refuse', status, reason: body, headers, contentType: 'application/json' };
  }
}

/**
 * Through a proxy, which keeps the connection: answer once with hold instructions and the
 * opening frames plus any replay. A request carrying `Grip-Last` is the proxy recovering a
 * gap of a stream it already holds: it gets only the missed events, no `stream-open`.
 */
async function holdDecision(
  ctx: DecideContext,
  req: RequestView,
  channels: string[],
  lastEventId: LastEventId,
  signed: boolean,
): Promise<StreamDecision> {
  const grip = ctx.grip!;
  // Grip-Last is believed only from a proxy that proved itself with a signed Grip-Sig, and
  // only for the channels this route gave (after authorize). Without a key anyone can send
  // it: the request is then an ordinary hold.
  const gripLast = isProxyRecovery(ctx, req, signed) ? req.header('grip-last') : undefined;
  const recovery = gripLast === undefined ? undefined : grip.parseGripLast(fromHeaderBytes(gripLast), channels);
  if (recovery !== undefined) {
    // The proxy re-holds the client's connection on whatever this answer names, and a recovery
    // skips the checks a client brings (tokens, cookies): so it may only renew what the proxy
    // already holds. A route that now resolves to a channel the hold did not have (its URL read
    // differently, a channel function that depends on the client) is not a recovery of it.
    if (recovery.size !== channels.length) return refusal(403, 'this recovery names channels the held stream does not have');
    return recoveryDecision(ctx, req, channels, recovery);
  }
  const replay = await replayAfter(ctx.history, channels, lastEventId, ctx.holdReplayBytes, (err) =>
    ctx.incidents.historyReadFailed(err, 'replaying to GRIP holds; they were sent history-truncated and went on live'),
  );
  if (lastEventId.kind !== 'none') ctx.metrics.resumed(replay.truncated, replay.events);
  ctx.metrics.holdsAnswered++;
  const body = openingText(ctx.retry) + replay.text;
  // Outside reliable mode the proxy has no next link to fetch the rest with. The stream ends
  // after this part instead: the client reconnects from the last id it got and is given the
  // next part. Nothing is lost, and no `history-truncated` claims otherwise.
  if (replay.cut !== undefined && !grip.reliable) return { kind: 'hold', channels, headers: { ...EVENT_STREAM_HEADERS }, body };
  const reliable = grip.reliable ? await reliableHold(ctx, req, channels, replay) : undefined;
  return holdOf(ctx, channels, body, reliable);
}

/**
 * The proxy recovering a gap: only the missed events. When history cannot be read now (Redis
 * restarting, a link still reconnecting), an error would leave the gap open until the next
 * publish on the channel, which may never come. The hold is renewed at the positions the
 * proxy already has, with a next link due in a second: the proxy asks again on its own.
 */
async function recoveryDecision(
  ctx: DecideContext,
  req: RequestView,
  channels: string[],
  recovery: Map<string, string>,
): Promise<StreamDecision> {
  try {
    const replay = await replayEachAfter(ctx.history!, recovery, ctx.holdReplayBytes);
    ctx.metrics.gripLastRecoveries++;
    ctx.metrics.eventsReplayed += replay.events;
    return holdOf(ctx, channels, replay.text, await reliableHold(ctx, req, channels, replay));
  } catch (err) {
    if (!(err instanceof GripstreamError)) throw err;
    ctx.incidents.historyReadFailed(err, 'answering GRIP recoveries (Grip-Last); the proxy asks again in 1 s');
    debug('recovery read failed, the proxy retries in %d s: %O', RECOVERY_RETRY_SECONDS, err);
    // A channel left out is held at `-` (holdHeaders), which is what FROM_START came from.
    const prevIds = new Map([...recovery].filter(([, id]) => id !== FROM_START));
    return holdOf(ctx, channels, '', { prevIds, nextLink: nextLinkFor(ctx, req), nextLinkTimeout: RECOVERY_RETRY_SECONDS });
  }
}

function holdOf(ctx: DecideContext, channels: string[], body: string, reliable: ReliableHold | undefined): StreamDecision {
  const grip = ctx.grip!;
  return {
    kind: 'hold',
    channels,
    headers: { ...EVENT_STREAM_HEADERS, ...asHeaderBytes(grip.holdHeaders(channels, ctx.keepAliveSeconds, reliable)) },
    body,
  };
}

/**
 * A replay cut at its bound leaves each channel it touched at the cut, not at its newest id:
 * the proxy then asks for the rest (Grip-Last) a second later, and again until it has it all.
 */
async function reliableHold(
  ctx: DecideContext,
  req: RequestView,
  channels: readonly string[],
  replay: ReplayText,
): Promise<ReliableHold> {
  const snapshot = await prevIdsOf(ctx, channels, replay.lastIds);
  if (replay.cut === undefined) return { prevIds: snapshot, nextLink: nextLinkFor(ctx, req) };
  const prevIds = new Map(snapshot);
  for (const [channel, id] of replay.cut) {
    // A channel left out is held at `-`, its start.
    if (id === FROM_START) prevIds.delete(channel);
    else prevIds.set(channel, id);
  }
  return { prevIds, nextLink: nextLinkFor(ctx, req), nextLinkTimeout: CONTINUE_SECONDS };
}

/**
 * Each channel's `prev-id`: the newest id the client has (a channel left out is held at `-`).
 * When a replay was read, they come from that same snapshot, where a channel without an id has
 * no events. Reading the ids again would race a publish: an id newer than the replay would
 * make the proxy drop that event as already delivered.
 */
async function prevIdsOf(
  ctx: DecideContext,
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
function nextLinkFor(ctx: DecideContext, req: RequestView): string {
  const raw = req.url ?? '/';
  const url = new URL(raw, 'http://origin.invalid');
  // The path goes back exactly as the client sent it: the URL parser would resolve `..` and
  // `%2e%2e`, and the proxy's recovery would then reach another route than the one it holds.
  const queryAt = raw.indexOf('?');
  const path = queryAt === -1 ? raw : raw.slice(0, queryAt);
  url.searchParams.delete('lastEventId');
  url.searchParams.delete('last_event_id');
  // Recovery needs no token (see tokenDecision): keep it out of the proxy's URLs and logs.
  const tokenQuery = ctx.tokens?.sources.query;
  if (tokenQuery !== undefined && tokenQuery !== false) url.searchParams.delete(tokenQuery);
  return escapeForLink(path) + escapeForLink(url.search);
}

/**
 * A URL as one `Grip-Link` element: `<` `>` `"` would end it, `,` `;` split it into further
 * elements or parameters, and a raw path may hold spaces or bytes past ASCII (node gives them
 * as latin1 characters, one per byte).
 */
function escapeForLink(text: string): string {
  return text.replace(/[^\x21-\x7e]|[<>",;]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
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

function accessRefusal(refused: StreamRefusal, channels: readonly string[] | undefined): StreamDecision {
  const headers = refusalHeaders(refused);
  return { kind: 'refuse', status: refused.status, reason: refused.reason, ...(headers && { headers }), ...(channels && { channels }) };
}
