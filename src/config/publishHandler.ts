import { TokenVerifier } from '../auth/TokenVerifier.js';
import { InvalidConfigError } from '../errors.js';
import type { BatchPublisher, PublishSettings } from '../publish/httpPublish.js';
import { MemoryIdempotencyStore, type IdempotencyStore } from '../publish/IdempotencyStore.js';
import { DEFAULT_IDEMPOTENCY_WINDOW, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS } from './defaults.js';

/** The fields of PublishHandlerOptions this reads (that type lives with createPublishHandler, which re-reads nothing). */
interface PublishHandlerInput {
  verifier?: unknown;
  maxBodyBytes?: number;
  maxEvents?: number;
  idempotency?: { windowMs?: number; store?: IdempotencyStore } | false;
}

/**
 * `createPublishHandler(publisher, options)`'s arguments, checked and defaulted. Publishing is
 * never open to anyone: a verifier is required. Retries are recognised in this process's
 * memory unless a store is given or `idempotency: false`.
 */
export function resolvePublishHandlerOptions(publisher: BatchPublisher, options: unknown): PublishSettings {
  if (typeof publisher?.publishEvents !== 'function') throw new InvalidConfigError('createPublishHandler needs an EventStream (anything with publishEvents)');
  const input = options as PublishHandlerInput | null;
  if (typeof input !== 'object' || input === null || !(input.verifier instanceof TokenVerifier)) {
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
        : { store: idempotency.store ?? new MemoryIdempotencyStore(), windowMs: whole(idempotency.windowMs, DEFAULT_IDEMPOTENCY_WINDOW, 'idempotency.windowMs') },
  };
}

function whole(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigError(`${name} must be a positive whole number, got ${String(value)}`);
  return value;
}
