import { describeValue as describe } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { PresenceOptions } from '../types.js';
import { DEFAULT_PRESENCE_HEARTBEAT, DEFAULT_PRESENCE_TTL } from './defaults.js';
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
  const options = option === true ? {} : option;
  const heartbeatMs = positive(options.heartbeatMs, DEFAULT_PRESENCE_HEARTBEAT, 'presence.heartbeatMs');
  const ttlMs = positive(options.ttlMs, DEFAULT_PRESENCE_TTL, 'presence.ttlMs');
  if (ttlMs < 2 * heartbeatMs) {
    // One late beat (a GC pause, a slow Redis) must not make a live instance look dead.
    throw new InvalidConfigError(`presence.ttlMs must be at least twice heartbeatMs, got ${ttlMs} and ${heartbeatMs}`);
  }
  return { heartbeatMs, ttlMs };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigError(`${name} must be a positive whole number of ms, got ${String(value)}`);
  return value;
}
