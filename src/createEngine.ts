import type { ChannelBus, ChannelWatcher } from './bus/ChannelBus.js';
import type { EngineSettings } from './config/engine.js';
import { isHistoryStore, type HistoryOption } from './config/history.js';
import type { Engine } from './engine/Engine.js';
import type { Presence } from './engine/Presence.js';
import type { HistoryStore } from './history/HistoryStore.js';
import { LocalEngine } from './memory/LocalEngine.js';
import { LocalPresence } from './memory/LocalPresence.js';
import { MemoryHistory } from './memory/MemoryHistory.js';
import { RedisKeys } from './redis/keys.js';
import { RedisEngine } from './redis/RedisEngine.js';
import { RedisHistory } from './redis/RedisHistory.js';
import { RedisLink } from './redis/RedisLink.js';
import { RedisPresence } from './redis/RedisPresence.js';
import type { HistoryOptions } from './types.js';

/** The engine the settings ask for, and the bus watcher it needs (the Redis engine's subscriptions). */
export function engineFor(
  settings: EngineSettings,
  makeBus: (watcher?: ChannelWatcher) => ChannelBus,
): { engine: Engine; bus: ChannelBus; presence: Presence | undefined } {
  if (settings.kind === 'local') {
    const bus = makeBus();
    return { bus, engine: new LocalEngine(bus, historyFrom(settings.history)), presence: new LocalPresence(bus) };
  }
  const { redis } = settings;
  // One connection for the store and the engine: the engine gets it here, not through the store.
  const link = new RedisLink({ redis: redis.target, commandTimeout: redis.commandTimeout });
  try {
    return redisBackends(settings, link, makeBus);
  } catch (err) {
    // The link may have opened a connection: a refused construction must leave nothing open.
    void link.close();
    throw err;
  }
}

function redisBackends(
  settings: Extract<EngineSettings, { kind: 'redis' }>,
  link: RedisLink,
  makeBus: (watcher?: ChannelWatcher) => ChannelBus,
): { engine: Engine; bus: ChannelBus; presence: Presence | undefined } {
  const { redis, presence: timings } = settings;
  const store = new RedisHistory(
    { redis: redis.target, keyPrefix: redis.keyPrefix, maxEvents: settings.maxEvents, maxAge: settings.maxAge },
    link,
  );
  let engine: RedisEngine | undefined;
  let presence: RedisPresence | undefined;
  // The bus reports its channels to the engine, which delivers to the bus: built in two steps.
  const bus = makeBus({
    opened: (channel) => engine!.opened(channel),
    closed: (channel) => engine!.closed(channel),
    changed: timings ? (channel) => presence?.changed(channel) : undefined,
  });
  const keys = new RedisKeys(redis.keyPrefix);
  engine = new RedisEngine(bus, store, link, keys);
  if (timings) presence = new RedisPresence(bus, link, keys, timings);
  return { bus, engine, presence };
}

function historyFrom(option: HistoryOption): HistoryStore | undefined {
  if (option === false) return undefined;
  if (option === undefined) return new MemoryHistory();
  if (isHistoryStore(option)) return option;
  return option.redis === undefined ? new MemoryHistory(option) : new RedisHistory({ ...option, redis: option.redis });
}

export type { HistoryOptions };
