import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import { DEFAULT_IDEMPOTENCY_WINDOW, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS } from '../../src/config/defaults.js';
import { resolvePublishHandlerOptions } from '../../src/publish/httpPublishHandler.js';
import { MemoryIdempotencyStore } from '../../src/publish/IdempotencyStore.js';
import { configError } from './configError.js';

const verifier = new TokenVerifier({ secret: 'p'.repeat(32) });
const publisher = { publishEvents: () => Promise.resolve() };

describe('resolvePublishHandlerOptions', () => {
  it('defaults: 1 MiB bodies, 1000 events a request, retries recognised for 5 minutes in memory', () => {
    const settings = resolvePublishHandlerOptions(publisher, { verifier });
    expect(settings.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(settings.maxEvents).toBe(DEFAULT_MAX_EVENTS);
    expect(settings.idempotency?.windowMs).toBe(DEFAULT_IDEMPOTENCY_WINDOW);
    expect(settings.idempotency?.store).toBeInstanceOf(MemoryIdempotencyStore);
    expect([DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS, DEFAULT_IDEMPOTENCY_WINDOW]).toEqual([1024 * 1024, 1000, 300_000]);
    expect(resolvePublishHandlerOptions(publisher, { verifier, idempotency: false }).idempotency).toBeUndefined();
  });

  it.each([
    [{}, 'createPublishHandler needs { verifier: new TokenVerifier(...) }: publishing is never open to anyone'],
    [{ verifier, maxBodyBytes: 0 }, 'maxBodyBytes must be a positive whole number, got 0'],
    [{ verifier, idempotency: { windowMs: 1.5 } }, 'idempotency.windowMs must be a positive whole number, got 1.5'],
  ])('%j is refused', (options, message) => {
    expect(configError(() => resolvePublishHandlerOptions(publisher, options)).message).toBe(message);
  });

  it('a publisher without publishEvents is refused', () => {
    expect(configError(() => resolvePublishHandlerOptions({} as never, { verifier })).message).toBe(
      'createPublishHandler needs an EventStream (anything with publishEvents)',
    );
  });
});
