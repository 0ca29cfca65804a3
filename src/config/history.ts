import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import type { HistoryOptions } from '../types.js';
import {
  DEFAULT_HISTORY_MAX_AGE,
  DEFAULT_HISTORY_MAX_BYTES,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_MAX_TOTAL_BYTES,
  MAX_HISTORY_AGE,
} from './defaults.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Keys of `history` when it is options (not a store). */
export const KNOWN_HISTORY_OPTIONS: readonly string[] = ['maxEvents', 'maxAge', 'maxBytes', 'maxTotalBytes', 'redis', 'keyPrefix'];

/** The `history` option of an EventStream, checked: options (read as own keys), a store, `false`, or none. */
export type HistoryOption = HistoryOptions | HistoryStore | false | undefined;

/** The in-memory store's bounds, every one given. */
export type MemoryHistoryLimits = Required<Pick<HistoryOptions, 'maxEvents' | 'maxAge' | 'maxBytes' | 'maxTotalBytes'>>;

/** Numeric history bounds: a count, a duration or a byte size; each positive. */
const HISTORY_NUMBERS: Readonly<Record<string, 'integer' | 'number'>> = {
  maxEvents: 'integer',
  maxAge: 'number',
  maxBytes: 'integer',
  maxTotalBytes: 'integer',
};

/** The fix each bound's error suggests: the default, and how to keep nothing instead. */
const HISTORY_FIX: Readonly<Record<string, string>> = {
  maxEvents: `e.g. ${DEFAULT_HISTORY_MAX_EVENTS} (the default); for no history at all, history: false`,
  maxAge: `milliseconds, e.g. ${DEFAULT_HISTORY_MAX_AGE} (the default, 5 minutes), or Infinity; for no history at all, history: false`,
  maxBytes: `bytes, e.g. ${DEFAULT_HISTORY_MAX_BYTES} (the default, 8 MiB)`,
  maxTotalBytes: `bytes, e.g. ${DEFAULT_HISTORY_MAX_TOTAL_BYTES} (the default, 32 MiB)`,
};

/** True for a history store (anything with `append`), false for options. */
export function isHistoryStore(option: object): option is HistoryStore {
  return typeof (option as Partial<HistoryStore>).append === 'function';
}

/**
 * The `history` option of an EventStream: options are read as own keys and checked (known
 * keys, positive bounds, bounds that agree, a Redis given as something Redis can be); a
 * store is taken as it is.
 */
export function historyOptionOf(history: unknown): HistoryOption {
  if (history === undefined || history === false) return history;
  if (typeof history !== 'object' || history === null || Array.isArray(history)) {
    throw new InvalidConfigError(`history must be options ({ maxEvents, maxAge, ... }), a history store, or false, got ${describe(history)}`);
  }
  if (isHistoryStore(history)) {
    assertStoreShape(history);
    return history;
  }
  const options = ownOptions(history, 'history');
  checkHistoryOptions(options);
  return options as HistoryOptions;
}

function checkHistoryOptions(history: Record<string, unknown>): void {
  assertKnownKeys(history, KNOWN_HISTORY_OPTIONS, 'history option');
  checkHistoryBounds(history, 'history');
  assertOptionalString(history.keyPrefix, 'history.keyPrefix', "e.g. 'myapp:' (the default is 'gripstream:')");
  const redis = history.redis;
  if (redis === undefined) return;
  const ok = typeof redis === 'string' ? /^rediss?:\/\/./.test(redis) : typeof redis === 'object' && redis !== null;
  if (!ok) {
    throw new InvalidConfigError(
      `history.redis must be a redis:// or rediss:// URL, a list of them (a Cluster) or an ioredis client, got ${describe(redis)}: e.g. 'redis://127.0.0.1:6379'`,
    );
  }
}

/**
 * The numeric bounds (maxEvents, maxAge, maxBytes, maxTotalBytes) of history options, where
 * given: positive, a finite maxAge within MAX_HISTORY_AGE, and byte bounds that agree. Shared
 * by the `history` option and the stores made directly (`what` names them in the message).
 */
export function checkHistoryBounds(history: Record<string, unknown>, what: string): void {
  for (const [name, kind] of Object.entries(HISTORY_NUMBERS)) {
    const value = history[name];
    if (value === undefined) continue;
    // maxAge may be Infinity (keep until count or bytes evict); the others must be finite.
    const ok =
      typeof value === 'number' &&
      value > 0 &&
      (kind === 'integer' ? Number.isSafeInteger(value) : !Number.isNaN(value));
    if (!ok) throw new InvalidConfigError(`${what}.${name} must be a positive ${kind}, got ${describe(value)}: ${HISTORY_FIX[name]}`);
  }
  assertMaxAgeInRange(history.maxAge as number | undefined, what);
  // Only when both are given: maxTotalBytes alone below the default maxBytes is a normal,
  // small store. Both given and contradicting means one of them is a mistake.
  const { maxBytes, maxTotalBytes } = history as { maxBytes?: number; maxTotalBytes?: number };
  assertBytesAgree(maxBytes, maxTotalBytes, what);
}

function assertMaxAgeInRange(maxAge: number | undefined, what: string): void {
  if (maxAge === undefined || !Number.isFinite(maxAge) || maxAge <= MAX_HISTORY_AGE) return;
  // Redis trims by "now − maxAge" as a stream id: past the epoch it is no id at all.
  throw new InvalidConfigError(
    `${what}.maxAge must be at most ${MAX_HISTORY_AGE} ms (365 days) or Infinity, got ${maxAge}: for no age limit write Infinity (maxEvents and the byte bounds still apply)`,
  );
}

function assertBytesAgree(maxBytes: number | undefined, maxTotalBytes: number | undefined, what: string): void {
  if (maxBytes !== undefined && maxTotalBytes !== undefined && maxTotalBytes < maxBytes) {
    throw new InvalidConfigError(
      `${what}.maxTotalBytes (${maxTotalBytes}) is smaller than ${what}.maxBytes (${maxBytes}), so one channel could never hold maxBytes: maxBytes bounds each channel and maxTotalBytes all of them; raise maxTotalBytes or lower maxBytes`,
    );
  }
}

/** Keys of `new MemoryHistory(options)`: its bounds (redis and keyPrefix belong to Redis). */
export const KNOWN_MEMORY_HISTORY_OPTIONS: readonly string[] = ['maxEvents', 'maxAge', 'maxBytes', 'maxTotalBytes'];

/**
 * The bounds of `new MemoryHistory(options)`, defaulted. A store made directly (not through
 * an EventStream) is checked here too, read as own keys, known keys only; each bound more
 * leniently than the option (any positive number, Infinity too), how they fit together alike.
 */
export function memoryHistoryLimits(input: unknown = {}): MemoryHistoryLimits {
  const options = ownOptions(input, 'MemoryHistory options');
  const redisOnly = ['redis', 'keyPrefix'].find((key) => options[key] !== undefined);
  if (redisOnly !== undefined) {
    // Accepted, the store would stay in this process while the app believes it shared.
    throw new InvalidConfigError(
      `MemoryHistory keeps events in this process, so ${redisOnly} does not apply, got ${redisOnly}: ${describe(options[redisOnly])}: for history in Redis use new RedisHistory({ redis, keyPrefix, maxEvents, maxAge }), or leave ${redisOnly} out`,
    );
  }
  assertKnownKeys(options, KNOWN_MEMORY_HISTORY_OPTIONS, 'MemoryHistory option');
  const limits = {
    maxEvents: limit(options.maxEvents as number | undefined, DEFAULT_HISTORY_MAX_EVENTS, 'history.maxEvents'),
    maxAge: limit(options.maxAge as number | undefined, DEFAULT_HISTORY_MAX_AGE, 'history.maxAge'),
    maxBytes: limit(options.maxBytes as number | undefined, DEFAULT_HISTORY_MAX_BYTES, 'history.maxBytes'),
    maxTotalBytes: limit(options.maxTotalBytes as number | undefined, DEFAULT_HISTORY_MAX_TOTAL_BYTES, 'history.maxTotalBytes'),
  };
  assertBytesAgree(options.maxBytes as number | undefined, options.maxTotalBytes as number | undefined, 'history');
  assertMaxAgeInRange(limits.maxAge, 'history');
  return limits;
}

function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidConfigError(`${name} must be a positive number (or Infinity), got ${describe(value)}: e.g. ${fallback} (the default)`);
  }
  return value;
}

export function assertOptionalString(value: unknown, name: string, example: string): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidConfigError(`${name} must be a string, got ${describe(value)}: ${example}`);
  }
}

/**
 * A store of the app's, by shape: readAfter is required (without it every resume would be
 * history-truncated), lastIds and close are functions when given (a TypeError at close() or
 * in GRIP reliable mode otherwise).
 */
function assertStoreShape(store: HistoryStore): void {
  const methods = store as unknown as Record<string, unknown>;
  const wrong = ['readAfter', 'lastIds', 'close'].find((name) =>
    name === 'readAfter' ? typeof methods[name] !== 'function' : methods[name] !== undefined && typeof methods[name] !== 'function',
  );
  if (wrong !== undefined) {
    throw new InvalidConfigError(
      `history: a store must have append() and readAfter() (lastIds() and close() are optional), got ${wrong}: ${describe(methods[wrong])}: give ${wrong} as a method, e.g. a MemoryHistory or RedisHistory, or options { maxEvents, maxAge }`,
    );
  }
}
