import { InvalidConfigError } from './errors.js';
import { FORBIDDEN_IN_CHANNEL } from './request/channelName.js';

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
  'logger',
  'onIncident',
];

/** Keys of `history` when it is options (not a store). */
export const KNOWN_HISTORY_OPTIONS: readonly string[] = ['maxEvents', 'maxAge', 'maxBytes', 'maxTotalBytes', 'redis', 'keyPrefix'];

const FUNCTION_OPTIONS = ['authorize', 'onConnect', 'onDisconnect', 'onIncident'] as const;

/**
 * Checks the shape of the options object: known keys only, and the types of those whose
 * meaning a wrong type would silently change. Values with ranges are checked where used.
 */
export function validateOptions(config: unknown): void {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidConfigError(`EventStream options must be an object, got ${describe(config)}`);
  }
  const options = config as Record<string, unknown>;
  assertKnownKeys(options, KNOWN_OPTIONS, 'option');
  for (const name of FUNCTION_OPTIONS) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidConfigError(`${name} must be a function, got ${describe(options[name])}`);
    }
  }
  if (options.gripReliable !== undefined && typeof options.gripReliable !== 'boolean') {
    throw new InvalidConfigError(`gripReliable must be true or false, got ${describe(options.gripReliable)}`);
  }
  if (options.gripPrefix !== undefined && typeof options.gripPrefix !== 'string') {
    throw new InvalidConfigError(`gripPrefix must be a string, got ${describe(options.gripPrefix)}`);
  }
  // The prefix goes into every Grip-Channel header entry: the channel-name rule applies to it.
  if (typeof options.gripPrefix === 'string' && FORBIDDEN_IN_CHANNEL.test(options.gripPrefix)) {
    throw new InvalidConfigError(`gripPrefix must not contain ',', ';' or control characters, got ${describe(options.gripPrefix)}`);
  }
  const history = options.history;
  if (history !== undefined && history !== false) {
    if (typeof history !== 'object' || history === null) {
      throw new InvalidConfigError(`history must be options, a history store, or false, got ${describe(history)}`);
    }
    const isStore = typeof (history as { append?: unknown }).append === 'function';
    if (!isStore) validateHistoryOptions(history as Record<string, unknown>);
  }
}

/** Numeric history bounds: a count, a duration or a byte size; each positive. */
const HISTORY_NUMBERS: Readonly<Record<string, 'integer' | 'number'>> = {
  maxEvents: 'integer',
  maxAge: 'number',
  maxBytes: 'integer',
  maxTotalBytes: 'integer',
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
    if (!ok) throw new InvalidConfigError(`history.${name} must be a positive ${kind}, got ${describe(value)}`);
  }
  const redis = history.redis;
  if (redis === undefined) return;
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\/./.test(redis)) {
      throw new InvalidConfigError(`history.redis must be a redis:// or rediss:// URL or a Redis client, got ${describe(redis)}`);
    }
  } else if (typeof redis !== 'object' || redis === null) {
    throw new InvalidConfigError(`history.redis must be a redis:// or rediss:// URL or a Redis client, got ${describe(redis)}`);
  }
}

function assertKnownKeys(options: Record<string, unknown>, known: readonly string[], what: string): void {
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

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}
