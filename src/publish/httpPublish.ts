import { grantsAll } from '../auth/channelPattern.js';
import { bearerToken } from '../auth/tokenFromRequest.js';
import { tokenRefusal } from '../auth/tokenRefusal.js';
import { GripPublishError, GripstreamError, TokenError } from '../errors.js';
import { normalizeChannel } from '../channelName.js';
import type { TokenVerifierLike } from '../config/tokenVerifierMark.js';
import type { BatchPublisher, IdempotencyStore, ServerSentEvent } from '../types.js';
import { checkBatch } from './checkEvent.js';

/** How long a claim of an id lasts while its publish runs, in ms: a crashed publisher frees it then. */
const PENDING_MS = 30_000;

/** Codes of the publish handler's own refusals, besides every `GripstreamErrorCode`. */
export type PublishRequestErrorCode =
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_MALFORMED_BODY'
  | 'ERR_PUBLISH_IN_PROGRESS';

/** An HTTP answer of the publish handler, whatever the transport. */
export interface PublishReply {
  status: number;
  headers: Record<string, string>;
  /** One line of JSON: `{"published":n,"duplicates":m}`, or `{"code":"...","message":"..."}`. */
  body: string;
}

// A public option type (createPublishHandler's first argument), defined in types.ts where config/ reads it.
export type { BatchPublisher } from '../types.js';

/** The handler's settings, resolved. */
export interface PublishSettings {
  readonly publisher: BatchPublisher;
  readonly verifier: TokenVerifierLike;
  readonly maxBodyBytes: number;
  readonly maxEvents: number;
  readonly idempotency: { readonly store: IdempotencyStore; readonly windowMs: number } | undefined;
}

/** The parts of a request the core reads; each transport supplies them. */
export interface PublishRequest {
  readonly method: string | undefined;
  header(name: string): string | undefined;
  /** Reads the body up to `limit` bytes; `undefined` when it is longer. */
  readBody(limit: number): Promise<Uint8Array | undefined>;
}

interface ParsedEvent extends ServerSentEvent {
  channel: string;
}

/**
 * POST → token → body → events → scope → checks → dedup → publish. Every refusal happens
 * before the first event is published: nothing of a refused request reaches anyone.
 */
export async function handlePublish(settings: PublishSettings, req: PublishRequest): Promise<PublishReply> {
  if (req.method !== 'POST') return fail(405, 'ERR_METHOD_NOT_ALLOWED', `publish with POST, not ${String(req.method)}`, { Allow: 'POST' });
  try {
    // The token first: a stranger's body is never read.
    const token = bearerToken(req.header('authorization'));
    if (token === undefined) throw new TokenError('ERR_TOKEN_MISSING', 401, 'publishing needs an Authorization: Bearer token');
    const grant = await settings.verifier.verify(token);
    if (!isJson(req.header('content-type'))) {
      return fail(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'send the events as JSON with Content-Type: application/json');
    }
    const declared = Number(req.header('content-length'));
    if (declared > settings.maxBodyBytes) return tooLarge(settings.maxBodyBytes);
    const bytes = await req.readBody(settings.maxBodyBytes);
    if (bytes === undefined) return tooLarge(settings.maxBodyBytes);
    const events = parseEvents(bytes, settings.maxEvents);
    if (!grantsAll(grant.publish, events.map((event) => event.channel))) {
      throw new TokenError('ERR_TOKEN_SCOPE', 403, 'the token does not grant publishing to every channel of this request');
    }
    const byChannel = groupChecked(events);
    return await publishGroups(settings, byChannel);
  } catch (err) {
    if (err instanceof TokenError) {
      const refusal = tokenRefusal(err);
      return { ...refusal, headers: { ...refusal.headers, ...JSON_HEADERS } };
    }
    if (err instanceof GripstreamError || err instanceof BodyError) return failWith(err);
    throw err;
  }
}

function parseEvents(bytes: Uint8Array, maxEvents: number): ParsedEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new BodyError(`the body is not valid UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const list = isObject(body) && Array.isArray(body.events) ? body.events : isObject(body) && 'channel' in body ? [body] : undefined;
  if (list === undefined) {
    throw new BodyError('send one event { "channel", "event", "data"?, "id"? } or a batch { "events": [ ... ] }');
  }
  if (list.length === 0) throw new BodyError('"events" is empty');
  if (list.length > maxEvents) throw new BodyError(`at most ${maxEvents} events per request, got ${list.length}`);
  return list.map((item: unknown, i) => {
    if (!isObject(item)) throw new BodyError(`event ${i} must be an object`);
    const { channel, event, data, id } = item;
    return { channel: normalizeChannel(channel), event: event as string, data, id: id as string | undefined };
  });
}

/** Events by channel in request order, each batch checked as publishEvents will check it. */
function groupChecked(events: readonly ParsedEvent[]): Map<string, ServerSentEvent[]> {
  const byChannel = new Map<string, ServerSentEvent[]>();
  for (const { channel, event, data, id } of events) {
    let batch = byChannel.get(channel);
    if (batch === undefined) byChannel.set(channel, (batch = []));
    batch.push(id === undefined ? { event, data } : { event, data, id });
  }
  for (const batch of byChannel.values()) checkBatch(batch);
  return byChannel;
}

async function publishGroups(settings: PublishSettings, byChannel: Map<string, ServerSentEvent[]>): Promise<PublishReply> {
  const keys = idKeys(byChannel);
  const dedup = settings.idempotency;
  let done: ReadonlySet<string> = new Set();
  if (dedup !== undefined && keys.length > 0) {
    const claim = await dedup.store.claim(keys, PENDING_MS);
    if (claim.pending) {
      return fail(409, 'ERR_PUBLISH_IN_PROGRESS', 'another request is publishing an event with one of these ids: retry in a moment', { 'Retry-After': '1' });
    }
    done = claim.done;
  }
  const claimed = keys.filter((key) => !done.has(key));
  let published = 0;
  const committed: string[] = [];
  try {
    for (const [channel, batch] of byChannel) {
      const fresh = batch.filter((event) => event.id === undefined || !done.has(idKey(channel, event.id)));
      if (fresh.length > 0) await settings.publisher.publishEvents(channel, fresh);
      published += fresh.length;
      committed.push(channel);
    }
  } catch (err) {
    if (dedup !== undefined && claimed.length > 0) await releaseUncommitted(dedup.store, claimed, committed);
    if (err instanceof GripstreamError) return failWith(err, committed);
    throw err;
  }
  if (dedup !== undefined && claimed.length > 0) await dedup.store.commit(claimed, dedup.windowMs);
  return reply(200, { published, duplicates: keys.length - claimed.length });
}

/** Ids of channels already published stay claimed; the rest may be retried. */
async function releaseUncommitted(store: IdempotencyStore, claimed: readonly string[], committed: readonly string[]): Promise<void> {
  const kept = new Set(committed);
  await store.release(claimed.filter((key) => !kept.has(key.slice(0, key.indexOf('\n')))));
}

function idKeys(byChannel: Map<string, ServerSentEvent[]>): string[] {
  const keys = new Set<string>();
  for (const [channel, batch] of byChannel) {
    for (const event of batch) {
      if (event.id === undefined) continue;
      const key = idKey(channel, event.id);
      if (keys.has(key)) throw new BodyError(`the id ${JSON.stringify(event.id)} appears twice for one channel in this request`);
      keys.add(key);
    }
  }
  return [...keys];
}

/** A channel name never holds a line feed (src/channelName.ts): the key is unambiguous. */
function idKey(channel: string, id: string): string {
  return `${channel}\n${id}`;
}

class BodyError extends Error {}

function failWith(err: GripstreamError | BodyError, committed?: readonly string[]): PublishReply {
  if (err instanceof BodyError) return fail(400, 'ERR_MALFORMED_BODY', err.message);
  const status = statusOf(err);
  // Which channels were published before the failure: with ids, retrying the whole request is safe.
  const extra = committed !== undefined && committed.length > 0 ? { committed } : {};
  if (err instanceof GripPublishError) return reply(status, { code: err.code, message: err.message, keptInHistory: err.committed, ...extra });
  return reply(status, { code: err.code, message: err.message, ...extra });
}

/** Bad input is the caller's (400); a store, proxy or shutdown is ours (5xx, worth a retry). */
function statusOf(err: GripstreamError): number {
  switch (err.code) {
    case 'ERR_INVALID_EVENT':
    case 'ERR_INVALID_CHANNEL':
      return 400;
    case 'ERR_GRIP_PUBLISH':
      return 502;
    default:
      return 503;
  }
}

function tooLarge(limit: number): PublishReply {
  return fail(413, 'ERR_BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);
}

function fail(status: number, code: PublishRequestErrorCode, message: string, headers: Record<string, string> = {}): PublishReply {
  return { ...reply(status, { code, message }), headers: { ...JSON_HEADERS, ...headers } };
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

function reply(status: number, body: object): PublishReply {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType.trim());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
