import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESENCE_HEARTBEAT, DEFAULT_PRESENCE_TTL } from '../../src/config/defaults.js';
import { presenceOptionOf, presenceTimingsOf } from '../../src/config/presence.js';
import { configError } from './configError.js';

describe('presenceTimingsOf', () => {
  it('off: no timings; on: 5 s heartbeats, counted for 15 s (three beats)', () => {
    expect(presenceTimingsOf(undefined)).toBeUndefined();
    expect(presenceTimingsOf(false)).toBeUndefined();
    expect(presenceTimingsOf(true)).toEqual({ heartbeatMs: DEFAULT_PRESENCE_HEARTBEAT, ttlMs: DEFAULT_PRESENCE_TTL });
    expect([DEFAULT_PRESENCE_HEARTBEAT, DEFAULT_PRESENCE_TTL]).toEqual([5000, 15_000]);
    expect(presenceTimingsOf({ heartbeatMs: 1000 })).toEqual({ heartbeatMs: 1000, ttlMs: DEFAULT_PRESENCE_TTL });
  });

  it.each([
    [{ heartbeatMs: 1.5 }, 'presence.heartbeatMs must be a whole number of ms from 1 to 2147483647 (about 24.8 days), got 1.5: e.g. 5000 (the default)'],
    [{ ttlMs: 0 }, 'presence.ttlMs must be a whole number of ms from 1 to 2147483647 (about 24.8 days), got 0: e.g. 15000 (the default)'],
    // Past 2^31-1 ms Node fires the heartbeat timer after 1 ms: a flood of writes to Redis (finding 25).
    [{ heartbeatMs: 3e9, ttlMs: 7e9 }, 'presence.heartbeatMs must be a whole number of ms from 1 to 2147483647 (about 24.8 days), got 3000000000: e.g. 5000 (the default)'],
    [{ ttlMs: 2 ** 31 }, 'presence.ttlMs must be a whole number of ms from 1 to 2147483647 (about 24.8 days), got 2147483648: e.g. 15000 (the default)'],
    [{ heartbeatMs: 10_000 }, 'presence.ttlMs must be at least twice heartbeatMs, got 15000 and 10000'],
  ])('%j is refused', (options, message) => {
    expect(configError(() => presenceTimingsOf(options)).message).toBe(message);
  });
});

describe('presenceOptionOf', () => {
  it('a boolean passes; options are read as own keys, known keys only', () => {
    expect(presenceOptionOf(true)).toBe(true);
    expect(presenceOptionOf({ ttlMs: 20_000 })).toEqual({ ttlMs: 20_000 });
    expect(configError(() => presenceOptionOf({ heartbeat: 1 })).message).toBe('unknown presence option "heartbeat" (did you mean "heartbeatMs"?)');
    expect(configError(() => presenceOptionOf([])).message).toBe('presence must be true, false or { heartbeatMs, ttlMs }, got an array of 0');
  });
});
