import { describeValue as describe } from './describeValue.js';
import { InvalidConfigError } from './errors.js';
import { FORBIDDEN_IN_CHANNEL } from './request/channelName.js';
import { isWellFormed } from './sse/eventId.js';

/**
 * Every option `new EventStream()` knows. An unknown key is refused: in JavaScript a typo
 * (`gripReliabe: true`) would otherwise quietly turn a guarantee off.
 */
export const KNOWN_OPTIONS: readonly string[] = [
  'grip',
  'gripPrefix',
  'gripReliable',
  'gripTimeout',
  'keepAliveInterval',
  'maxBufferedBytes',
  'retry',
  'history',
  'redis',
  'authorize',
  'onConnect',
  'onDisconnect',
  'metrics',
  'tokens',
  'presence',
  'onRefused',
  'logger',
  'onIncident',
];

/** Keys of `history` when it is options (not a store). */
export const KNOWN_HISTORY_OPTIONS: readonly string[] = ['maxEvents', 'maxAge', 'maxBytes', 'maxTotalBytes', 'redis', 'keyPrefix'];

/** Keys of `redis` when it is options (not a URL or a client). */
export const KNOWN_REDIS_OPTIONS: readonly string[] = ['url', 'nodes', 'client', 'commandTimeout', 'keyPrefix'];

/** Keys of `presence` when it is options. */
export const KNOWN_PRESENCE_OPTIONS: readonly string[] = ['heartbeatMs', 'ttlMs'];

const FUNCTION_OPTIONS = ['authorize', 'onConnect', 'onDisconnect', 'onRefused', 'onIncident'] as const;

/**
 * The options as read once: own enumerable keys of a plain object, copied. Inherited keys are
 * never read (a polluted `Object.prototype.grip` must not turn GRIP on), and reading each key
 * once means a getter cannot answer one thing to the check and another to the use; the
 * singleton compares the same copy. A getter or Proxy that throws becomes InvalidConfigError.
 */
export function ownOptions(config: unknown, what = 'EventStream options'): Record<string, unknown> {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidConfigError(`${what} must be an object, got ${describe(config)}: pass { ... }, null or nothing`);
  }
  try {
    assertPlain(config, what);
    // No prototype: a key left out must read as undefined, never as a polluted Object.prototype's.
    const copy = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(config)) copy[key] = (config as Record<string, unknown>)[key];
    return copy;
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    throw new InvalidConfigError(`${what} cannot be read: ${err instanceof Error ? err.message : String(err)}: pass a plain object of values`, { cause: err });
  }
}

/**
 * A Map, a Date or a class instance would have its options read from its own keys only, and
 * silently lose what sits on its prototype: refused, with the spread that makes it plain.
 */
function assertPlain(value: object, what: string): void {
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) return;
  const inherited = typeof proto === 'object' && proto !== null && proto.constructor === Object ? Object.keys(proto) : [];
  const detail = inherited.length > 0 ? ` whose prototype holds ${inherited.map((key) => JSON.stringify(key)).join(', ')} (inherited keys are not read)` : '';
  throw new InvalidConfigError(`${what} must be a plain object ({ ... }), got ${describe(value)}${detail}: write the options as an object literal, e.g. { ...options }`);
}

/**
 * Checks the shape of the options object: known keys only, and the types of those whose
 * meaning a wrong type would silently change. Values with ranges are checked where used.
 */
export function validateOptions(options: Record<string, unknown>): void {
  assertKnownKeys(options, KNOWN_OPTIONS, 'option');
  for (const name of FUNCTION_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidConfigError(`${name} must be a function, got ${describe(options[name])}: pass a function or leave ${name} out`);
    }
  }
  if (options.gripReliable !== undefined && typeof options.gripReliable !== 'boolean') {
    throw new InvalidConfigError(`gripReliable must be true or false, got ${describe(options.gripReliable)}: write gripReliable: true (a boolean, not a string)`);
  }
  const metrics = options.metrics;
  if (metrics !== undefined && typeof metrics !== 'boolean' && (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))) {
    throw new InvalidConfigError(`metrics must be true, false or { meterProvider }, got ${describe(metrics)} (leave it out for the default: on)`);
  }
  if (options.gripPrefix !== undefined && typeof options.gripPrefix !== 'string') {
    throw new InvalidConfigError(`gripPrefix must be a string, got ${describe(options.gripPrefix)}: e.g. gripPrefix: 'events-' (the default)`);
  }
  // The prefix goes into every Grip-Channel header entry: the channel-name rule applies to it.
  if (typeof options.gripPrefix === 'string') assertGripPrefix(options.gripPrefix);
  const presence = options.presence;
  if (presence !== undefined && typeof presence !== 'boolean' && (typeof presence !== 'object' || presence === null || Array.isArray(presence))) {
    throw new InvalidConfigError(`presence must be true, false or { heartbeatMs, ttlMs }, got ${describe(presence)}`);
  }
  if (typeof presence === 'object' && presence !== null) {
    options.presence = ownOptions(presence, 'presence');
    assertKnownKeys(options.presence as Record<string, unknown>, KNOWN_PRESENCE_OPTIONS, 'presence option');
  }
  const history = options.history;
  if (history !== undefined && history !== false) {
    if (typeof history !== 'object' || history === null || Array.isArray(history)) {
      throw new InvalidConfigError(`history must be options ({ maxEvents, maxAge, ... }), a history store, or false, got ${describe(history)}`);
    }
    const isStore = typeof (history as { append?: unknown }).append === 'function';
    if (!isStore) {
      options.history = ownOptions(history, 'history');
      validateHistoryOptions(options.history as Record<string, unknown>);
    }
  }
  const redis = options.redis;
  // Options, not a client (which has `call`): checked like the top level.
  if (typeof redis === 'object' && redis !== null && !Array.isArray(redis) && typeof (redis as { call?: unknown }).call !== 'function') {
    options.redis = ownOptions(redis, 'redis');
    const redisOptions = options.redis as Record<string, unknown>;
    assertKnownKeys(redisOptions, KNOWN_REDIS_OPTIONS, 'redis option');
    assertOptionalString(redisOptions.keyPrefix, 'redis.keyPrefix', "e.g. 'myapp:'");
  }
}

function assertGripPrefix(prefix: string): void {
  if (FORBIDDEN_IN_CHANNEL.test(prefix)) {
    throw new InvalidConfigError(`gripPrefix must not contain ',', ';', '"' or control characters, got ${describe(prefix)}: they separate Grip-Channel entries; use letters, digits, '-', '_' or '.'`);
  }
  // Routed channel names are trimmed, published ones are prefixed as given: a prefix with
  // white space at an edge would make the two never meet (nothing delivered).
  if (prefix !== prefix.trim()) {
    throw new InvalidConfigError(`gripPrefix must not start or end with white space, got ${describe(prefix)}: channel names are trimmed, so subscriptions and publishes would not match; e.g. gripPrefix: 'events-'`);
  }
  // GRIP headers carry names as UTF-8, which a lone surrogate cannot survive.
  if (!isWellFormed(prefix)) {
    throw new InvalidConfigError(`gripPrefix must be well-formed Unicode, got ${describe(prefix)} (a lone surrogate, which UTF-8 in a header cannot carry): e.g. gripPrefix: 'events-'`);
  }
}

function assertOptionalString(value: unknown, name: string, example: string): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidConfigError(`${name} must be a string, got ${describe(value)}: ${example}`);
  }
}

/** Numeric history bounds: a count, a duration or a byte size; each positive. */
const HISTORY_NUMBERS: Readonly<Record<string, 'integer' | 'number'>> = {
  maxEvents: 'integer',
  maxAge: 'number',
  maxBytes: 'integer',
  maxTotalBytes: 'integer',
};

/** The fix each bound's error suggests: the default, and how to keep nothing instead. */
const HISTORY_FIX: Readonly<Record<string, string>> = {
  maxEvents: 'e.g. 1000 (the default); for no history at all, history: false',
  maxAge: 'milliseconds, e.g. 300000 (the default, 5 minutes), or Infinity; for no history at all, history: false',
  maxBytes: 'bytes, e.g. 8388608 (the default, 8 MiB)',
  maxTotalBytes: 'bytes, e.g. 33554432 (the default, 32 MiB)',
};

function validateHistoryOptions(history: Record<string, unknown>): void {
  assertKnownKeys(history, KNOWN_HISTORY_OPTIONS, 'history option');
  for (const [name, kind] of Object.entries(HISTORY_NUMBERS)) {
    const value = history[name];
    if (value === undefined) continue;
    // maxAge may be Infinity (keep until count or bytes evict); the others must be finite.
    const ok =
      typeof value === 'number' &&
      value > 0 &&
      (kind === 'integer' ? Number.isSafeInteger(value) : !Number.isNaN(value));
    if (!ok) throw new InvalidConfigError(`history.${name} must be a positive ${kind}, got ${describe(value)}: ${HISTORY_FIX[name]}`);
  }
  // Only when both are given: maxTotalBytes alone below the default maxBytes is a normal,
  // small store. Both given and contradicting means one of them is a mistake.
  const { maxBytes, maxTotalBytes } = history as { maxBytes?: number; maxTotalBytes?: number };
  if (maxBytes !== undefined && maxTotalBytes !== undefined && maxTotalBytes < maxBytes) {
    throw new InvalidConfigError(
      `history.maxTotalBytes (${maxTotalBytes}) is smaller than history.maxBytes (${maxBytes}), so one channel could never hold maxBytes: maxBytes bounds each channel and maxTotalBytes all of them; raise maxTotalBytes or lower maxBytes`,
    );
  }
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

export function assertKnownKeys(options: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const nearest = nearestName(key, known);
    const hint = nearest === undefined ? `known: ${known.join(', ')}` : `did you mean "${nearest}"?`;
    throw new InvalidConfigError(`unknown ${what} "${key}" (${hint})`);
  }
}

/** The known name closest to `name` by edit distance, if it is close enough to be a typo. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length]!;
}

