import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import { assertKnownKeys } from './knownKeys.js';
import type { BatchPublisher, IdempotencyStore } from '../types.js';
import { DEFAULT_IDEMPOTENCY_WINDOW, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS } from './defaults.js';
import { isTokenVerifier, type TokenVerifierLike } from './tokenVerifierMark.js';

/** The fields of PublishHandlerOptions this reads (that type lives with createPublishHandler, which re-reads nothing). */
interface PublishHandlerInput {
  verifier?: unknown;
  maxBodyBytes?: number;
  maxEvents?: number;
  idempotency?: { windowMs?: number; store?: IdempotencyStore } | false;
}

/** `createPublishHandler`'s options, checked and defaulted: plain values, nothing built yet. */
export interface PublishHandlerSettings {
  readonly publisher: BatchPublisher;
  readonly verifier: TokenVerifierLike;
  readonly maxBodyBytes: number;
  readonly maxEvents: number;
  /** Undefined with `idempotency: false`; `store` undefined: none given, the handler keeps claims in its own memory. */
  readonly idempotency: { readonly store: IdempotencyStore | undefined; readonly windowMs: number } | undefined;
}

/**
 * `createPublishHandler(publisher, options)`'s arguments, checked and defaulted. Publishing is
 * never open to anyone: a verifier is required. Retries are recognised unless
 * `idempotency: false`; the handler (publish/) makes the in-memory store when none is given.
 */
export function publishHandlerOptionsOf(publisher: BatchPublisher, options: unknown): PublishHandlerSettings {
  assertBatchPublisher(publisher);
  const input = options as PublishHandlerInput | null;
  if (typeof input !== 'object' || input === null || !isTokenVerifier(input.verifier)) {
    throw new InvalidConfigError('createPublishHandler needs { verifier: new TokenVerifier(...) }: publishing is never open to anyone');
  }
  // A typo (maxBodyByte) would otherwise leave the default in force, silently.
  assertKnownKeys(input as Record<string, unknown>, KNOWN_PUBLISH_HANDLER_OPTIONS, 'createPublishHandler option');
  const idempotency = idempotencyOf(input.idempotency);
  return {
    publisher,
    verifier: input.verifier,
    maxBodyBytes: whole(input.maxBodyBytes, DEFAULT_MAX_BODY_BYTES, 'maxBodyBytes'),
    maxEvents: whole(input.maxEvents, DEFAULT_MAX_EVENTS, 'maxEvents'),
    idempotency:
      idempotency === false
        ? undefined
        : { store: idempotency.store, windowMs: whole(idempotency.windowMs, DEFAULT_IDEMPOTENCY_WINDOW, 'idempotency.windowMs') },
  };
}

/** Keys of createPublishHandler's options. */
export const KNOWN_PUBLISH_HANDLER_OPTIONS: readonly string[] = ['verifier', 'maxBodyBytes', 'maxEvents', 'idempotency'];
/** Keys of its `idempotency` option. */
export const KNOWN_IDEMPOTENCY_OPTIONS: readonly string[] = ['windowMs', 'store'];
/** The methods the handler calls on an idempotency store. */
const STORE_METHODS = ['claim', 'commit', 'release'] as const;

/**
 * The publisher must publish a batch to a named channel (an EventStream). A ChannelPublisher
 * also has publishEvents, bound to its one channel: taken, every request would be refused as
 * the client's fault (400), so it is refused here as the server's.
 */
function assertBatchPublisher(publisher: unknown): asserts publisher is BatchPublisher {
  const candidate = publisher as { publishEvents?: unknown; publishEvent?: unknown; channel?: unknown } | null | undefined;
  if (typeof candidate?.publishEvents !== 'function') {
    throw new InvalidConfigError(
      `createPublishHandler needs an EventStream (anything with publishEvents(channel, events)), got ${describe(publisher)}: createPublishHandler(eventStream, { verifier })`,
    );
  }
  if (typeof candidate.channel === 'string' && typeof candidate.publishEvent === 'function') {
    throw new InvalidConfigError(
      `createPublishHandler needs an EventStream, got a ChannelPublisher of channel ${JSON.stringify(candidate.channel)} (bound to one channel, while requests name theirs): pass the EventStream itself`,
    );
  }
}

/** `idempotency`: left out (on, in memory), false (off), or { windowMs, store }; anything else is refused, never read as on. */
function idempotencyOf(option: unknown): { windowMs?: number; store?: IdempotencyStore } | false {
  if (option === undefined) return {};
  if (option === false) return false;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new InvalidConfigError(
      `idempotency must be false (off) or { windowMs, store }, got ${describe(option)}: leave it out for the default (on, remembered in memory), or write false to turn it off`,
    );
  }
  assertKnownKeys(option as Record<string, unknown>, KNOWN_IDEMPOTENCY_OPTIONS, 'idempotency option');
  const { store, windowMs } = option as { store?: unknown; windowMs?: number };
  if (store !== undefined) assertIdempotencyStore(store);
  return { store: store as IdempotencyStore | undefined, windowMs };
}

/** A store is taken by shape (the methods the handler calls), now rather than as a TypeError and a 500 at the first request. */
function assertIdempotencyStore(store: unknown): void {
  const missing =
    typeof store === 'object' && store !== null ? STORE_METHODS.find((method) => typeof (store as Record<string, unknown>)[method] !== 'function') : 'claim';
  if (missing !== undefined) {
    throw new InvalidConfigError(
      `idempotency.store must be an IdempotencyStore (with ${STORE_METHODS.join(', ')}), got ${describe(store)}${typeof store === 'object' && store !== null ? ` without ${missing}()` : ''}: e.g. new RedisIdempotencyStore({ redis }), or leave store out for the in-memory one`,
    );
  }
}

function whole(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigError(`${name} must be a positive whole number, got ${String(value)}`);
  return value;
}
