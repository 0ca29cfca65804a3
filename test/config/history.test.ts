import { describe, expect, it } from 'vitest';
import { DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_EVENTS, DEFAULT_HISTORY_MAX_TOTAL_BYTES } from '../../src/config/defaults.js';
import { historyOptionOf, memoryHistoryLimits } from '../../src/config/history.js';
import type { HistoryStore } from '../../src/history/HistoryStore.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { configError } from './configError.js';

describe('historyOptionOf (the `history` option of an EventStream)', () => {
  it('leaves out, false and a store pass as they are; options are copied as own keys', () => {
    expect(historyOptionOf(undefined)).toBeUndefined();
    expect(historyOptionOf(false)).toBe(false);
    const store: HistoryStore = { append: () => [], readAfter: () => ({ records: [], complete: true }) };
    expect(historyOptionOf(store)).toBe(store);
    const options = { maxEvents: 10 };
    const read = historyOptionOf(options);
    expect(read).toEqual({ maxEvents: 10 });
    expect(read).not.toBe(options);
  });

  it('an unknown key names the nearest one', () => {
    expect(configError(() => historyOptionOf({ maxEvent: 1 })).message).toBe('unknown history option "maxEvent" (did you mean "maxEvents"?)');
  });

  it('maxAge may be Infinity (kept until count or bytes evict)', () => {
    expect(historyOptionOf({ maxAge: Infinity })).toEqual({ maxAge: Infinity });
  });
});

describe('memoryHistoryLimits (new MemoryHistory(options))', () => {
  it('every bound defaulted', () => {
    expect(memoryHistoryLimits({})).toEqual({
      maxEvents: DEFAULT_HISTORY_MAX_EVENTS,
      maxAge: DEFAULT_HISTORY_MAX_AGE,
      maxBytes: DEFAULT_HISTORY_MAX_BYTES,
      maxTotalBytes: DEFAULT_HISTORY_MAX_TOTAL_BYTES,
    });
    expect([DEFAULT_HISTORY_MAX_EVENTS, DEFAULT_HISTORY_MAX_AGE, DEFAULT_HISTORY_MAX_BYTES, DEFAULT_HISTORY_MAX_TOTAL_BYTES]).toEqual([
      1000, 300_000, 8 * 1024 * 1024, 32 * 1024 * 1024,
    ]);
  });

  it('a store made directly is checked by the same function, naming the bound, the value and the default', () => {
    expect(configError(() => memoryHistoryLimits({ maxEvents: -1 })).message).toBe('history.maxEvents must be a positive number (or Infinity), got -1: e.g. 1000 (the default)');
    expect(configError(() => new MemoryHistory({ maxTotalBytes: 0 })).message).toBe(
      'history.maxTotalBytes must be a positive number (or Infinity), got 0: e.g. 33554432 (the default)',
    );
  });
});
