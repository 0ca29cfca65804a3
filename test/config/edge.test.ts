import { describe, expect, it } from 'vitest';
import { DEFAULT_GRIP_PREFIX, DEFAULT_GRIP_TIMEOUT, DEFAULT_KEEP_ALIVE_INTERVAL } from '../../src/config/defaults.js';
import { resolveEdgeOptions } from '../../src/config/edge.js';
import { configError } from './configError.js';

const GRIP = 'http://127.0.0.1:5561/?iss=pushpin&key=changeme';

describe('resolveEdgeOptions', () => {
  it('the same defaults as EventStream for what both have', () => {
    const settings = resolveEdgeOptions({ grip: GRIP });
    expect(settings.gripPrefix).toBe(DEFAULT_GRIP_PREFIX);
    expect(settings.gripTimeout).toBe(DEFAULT_GRIP_TIMEOUT);
    expect(settings.keepAliveInterval).toBe(DEFAULT_KEEP_ALIVE_INTERVAL);
    expect(settings.retry).toBeUndefined();
    expect(settings.hooks).toEqual({});
  });

  it.each([
    [null, 'EdgeEventStream options must be an object with at least `grip`, got null: e.g. new EdgeEventStream({ grip: process.env.GRIP_URL })'],
    [{ grip: '' }, 'EdgeEventStream needs `grip` (a GRIP URL or config), got "": at the edge a GRIP proxy holds the streams (check that GRIP_URL is set)'],
    [{ grip: GRIP, history: false }, 'unknown EdgeEventStream option "history" (known: grip, gripPrefix, gripTimeout, keepAliveInterval, retry, authorize, onConnect, onRefused)'],
    [{ grip: GRIP, onConnect: 1 }, 'onConnect must be a function, got number'],
    [{ grip: GRIP, retry: 1.5 }, 'retry must be a non-negative integer of milliseconds, got 1.5'],
    [{ grip: GRIP, keepAliveInterval: 2 ** 31 }, 'keepAliveInterval must be a positive number of milliseconds up to 2147483647, got 2147483648'],
  ])('%j is refused', (options, message) => {
    expect(configError(() => resolveEdgeOptions(options)).message).toBe(message);
  });
});
