import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { PresenceOptions } from '../types.js';
import { DEFAULT_PRESENCE_HEARTBEAT, DEFAULT_PRESENCE_TTL, MAX_TIMER_DELAY } from './defaults.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Keys of `presence` when it is options. */
export const KNOWN_PRESENCE_OPTIONS: readonly string[] = ['heartbeatMs', 'ttlMs'];

/** How often an instance reports its counts to Redis, and how soon a silent one stops counting, in ms. */
export type PresenceTimings = Required<PresenceOptions>;

/** The shape of the `presence` option: a boolean, or options read as own keys (known keys only). */
export function presenceOptionOf(presence: unknown): boolean | PresenceOptions | undefined {
  if (presence !== undefined && typeof presence !== 'boolean' && (typeof presence !== 'object' || presence === null || Array.isArray(presence))) {
    throw new InvalidConfigError(`presence must be true, false or { heartbeatMs, ttlMs }, got ${describe(presence)}`);
  }
  if (typeof presence !== 'object') return presence;
  const options = ownOptions(presence, 'presence');
  assertKnownKeys(options, KNOWN_PRESENCE_OPTIONS, 'presence option');
  return options as PresenceOptions;
}

/**
 * Presence's timings, defaulted and checked, when it is on (`true` or options); undefined
 * when off. Only read with the Redis engine: in process, counting needs no timing.
 */
export function presenceTimingsOf(option: boolean | PresenceOptions | undefined): PresenceTimings | undefined {
  if (option === undefined || option === false) return undefined;
  const { heartbeatMs, ttlMs } = presenceValuesOf(option);
  if (ttlMs < 2 * heartbeatMs) {
    // One late beat (a GC pause, a slow Redis) must not make a live instance look dead.
    throw new InvalidConfigError(`presence.ttlMs must be at least twice heartbeatMs, got ${ttlMs} and ${heartbeatMs}`);
  }
  return { heartbeatMs, ttlMs };
}

/**
 * Each timing, defaulted and in range (a whole number of ms a timer can hold), without how they
 * fit together: in process counting needs no timing, but a value no timer could hold is wrong
 * anywhere and must not wait for Redis to be added to show.
 */
export function presenceValuesOf(option: true | PresenceOptions): PresenceTimings {
  const options = option === true ? {} : option;
  return {
    heartbeatMs: positive(options.heartbeatMs, DEFAULT_PRESENCE_HEARTBEAT, 'presence.heartbeatMs'),
    ttlMs: positive(options.ttlMs, DEFAULT_PRESENCE_TTL, 'presence.ttlMs'),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TIMER_DELAY) {
    // Past MAX_TIMER_DELAY Node fires the heartbeat timer after 1 ms: a flood of writes to Redis.
    throw new InvalidConfigError(`${name} must be a whole number of ms from 1 to ${MAX_TIMER_DELAY} (about 24.8 days), got ${describe(value)}: e.g. ${fallback} (the default)`);
  }
  return value;
}
