import type { HistoryOptions, PresenceOptions } from '../types.js';
import { isHistoryStore, type HistoryOption } from './history.js';
import type { ReliableHistory } from './grip.js';
import { presenceTimingsOf, presenceValuesOf, type PresenceTimings } from './presence.js';
import { redisEngineOf, redisHistoryOptionsOf, type RedisEngineSettings } from './redis.js';
import { InvalidConfigError } from '../errors.js';

/** Which engine an EventStream runs, with everything it is built from checked. */
export type EngineSettings = LocalEngineSettings | RedisEngineSettingsWithHistory;

/** The in-process engine: its history as the `history` option gave it (options, a store, `false`, or the default store). */
export interface LocalEngineSettings {
  readonly kind: 'local';
  readonly history: HistoryOption;
}

/** The Redis engine: where Redis is, how much history it keeps, and presence's timings when presence is on. */
export interface RedisEngineSettingsWithHistory {
  readonly kind: 'redis';
  readonly redis: RedisEngineSettings;
  readonly maxEvents: number | undefined;
  readonly maxAge: number | undefined;
  readonly presence: PresenceTimings | undefined;
}

/**
 * `redis`, `history` and `presence` together (each already checked for its shape): the Redis
 * engine when `redis` is given, else the in-process one. Presence's timings only matter with
 * Redis (in process, counting needs none), so only then are they read.
 */
export function engineSettingsOf(redis: unknown, history: HistoryOption, presence: boolean | PresenceOptions | undefined): EngineSettings {
  if (redis === undefined || redis === null) {
    // Unused in process, but a value no timer can hold is wrong anywhere: refused now, not when Redis is added.
    if (presence !== undefined && presence !== false) presenceValuesOf(presence);
    return { kind: 'local', history: localHistoryOf(history) };
  }
  const settings = redisEngineOf(redis, history);
  // redisEngineOf let through only bounds (or nothing): the history lives in that Redis.
  const bounds = history as HistoryOptions | undefined;
  return { kind: 'redis', redis: settings, maxEvents: bounds?.maxEvents, maxAge: bounds?.maxAge, presence: presenceTimingsOf(presence) };
}

/** Whether the engine's history can tell each channel's newest id, as GRIP reliable mode needs. */
export function reliableHistoryOf(engine: EngineSettings): ReliableHistory {
  if (engine.kind === 'redis') return 'ok';
  const history = engine.history;
  if (history === false) return 'none';
  // Built-in stores (in memory, or Redis) have lastIds(); a store of the app's may not.
  if (history !== undefined && isHistoryStore(history) && history.lastIds === undefined) return 'no lastIds';
  return 'ok';
}

/**
 * The in-process engine's history, with what would be silently ignored refused: keyPrefix
 * without any Redis, and byte bounds next to `history.redis` (Redis bounds by count and age).
 * A RedisHistory's options are checked here, before anything is built.
 */
function localHistoryOf(history: HistoryOption): HistoryOption {
  if (history === undefined || history === false || isHistoryStore(history)) return history;
  if (history.redis === undefined) {
    if (history.keyPrefix !== undefined) {
      throw new InvalidConfigError(
        `history.keyPrefix names Redis keys, but no Redis is given, got keyPrefix ${JSON.stringify(history.keyPrefix)}: add history.redis (or the redis option), or leave keyPrefix out`,
      );
    }
    return history;
  }
  const memoryOnly = (['maxBytes', 'maxTotalBytes'] as const).find((key) => history[key] !== undefined);
  if (memoryOnly !== undefined) {
    throw new InvalidConfigError(
      `history.${memoryOnly} applies to the in-memory store only; with history.redis the history lives in Redis, bounded by maxEvents and maxAge, got ${memoryOnly}: ${String(history[memoryOnly])}: leave it out and bound Redis with maxEvents/maxAge (and Redis's maxmemory)`,
    );
  }
  redisHistoryOptionsOf(history);
  return history;
}
