import { InvalidConfigError } from '../errors.js';
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
  if (typeof publisher?.publishEvents !== 'function') throw new InvalidConfigError('createPublishHandler needs an EventStream (anything with publishEvents)');
  const input = options as PublishHandlerInput | null;
  if (typeof input !== 'object' || input === null || !isTokenVerifier(input.verifier)) {
    throw new InvalidConfigError('createPublishHandler needs { verifier: new TokenVerifier(...) }: publishing is never open to anyone');
  }
  const idempotency = input.idempotency ?? {};
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

function whole(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigError(`${name} must be a positive whole number, got ${String(value)}`);
  return value;
}
