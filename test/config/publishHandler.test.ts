import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../../src/auth/TokenVerifier.js';
import { EventStream } from '../../src/EventStream.js';
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
      'createPublishHandler needs an EventStream (anything with publishEvents(channel, events)), got an object: createPublishHandler(eventStream, { verifier })',
    );
  });

  // Finding 08: each of these was accepted, then failed per request (a 500, or a 400 blaming the client).
  it('a ChannelPublisher (bound to one channel) is refused as the publisher', () => {
    const stream = new EventStream({ logger: false });
    try {
      expect(configError(() => resolvePublishHandlerOptions(stream.getChannelPublisher('news') as never, { verifier })).message).toBe(
        'createPublishHandler needs an EventStream, got a ChannelPublisher of channel "news" (bound to one channel, while requests name theirs): pass the EventStream itself',
      );
      expect(resolvePublishHandlerOptions(stream, { verifier }).publisher).toBe(stream);
    } finally {
      void stream.close();
    }
  });

  it.each([
    [{}, 'an object without claim()'],
    [5, '5'],
    [{ claim() {}, commit() {} }, 'an object without release()'],
  ])('an idempotency store that is not one (%j) is refused by shape', (store, got) => {
    expect(configError(() => resolvePublishHandlerOptions(publisher, { verifier, idempotency: { store: store as never } })).message).toBe(
      `idempotency.store must be an IdempotencyStore (with claim, commit, release), got ${got}: e.g. new RedisIdempotencyStore({ redis }), or leave store out for the in-memory one`,
    );
  });

  it.each([null, 0, 'off', true])('idempotency: %j is refused, never read as on', (value) => {
    expect(configError(() => resolvePublishHandlerOptions(publisher, { verifier, idempotency: value as never })).message).toMatch(
      /^idempotency must be false \(off\) or \{ windowMs, store \}, got .*: leave it out for the default \(on, remembered in memory\), or write false to turn it off$/,
    );
  });

  it('typos in the options are refused with the nearest name', () => {
    expect(configError(() => resolvePublishHandlerOptions(publisher, { verifier, maxBodyByte: 5 } as never)).message).toBe(
      'unknown createPublishHandler option "maxBodyByte" (did you mean "maxBodyBytes"?)',
    );
    expect(configError(() => resolvePublishHandlerOptions(publisher, { verifier, idempotency: { window: 5 } } as never)).message).toBe(
      'unknown idempotency option "window" (did you mean "windowMs"?)',
    );
  });
});
