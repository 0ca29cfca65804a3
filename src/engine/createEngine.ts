import type { ChannelBus, ChannelWatcher } from '../bus/ChannelBus.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import { MemoryHistory } from '../history/MemoryHistory.js';
import { RedisHistory } from '../history/RedisHistory.js';
import type { HistoryOptions } from '../types.js';
import type { Engine } from './Engine.js';
import { LocalEngine } from './LocalEngine.js';
import { RedisEngine } from './RedisEngine.js';
import { LocalPresence, type Presence } from './Presence.js';
import { RedisPresence } from './RedisPresence.js';
import type { EngineSettings } from '../config/engine.js';
import { isHistoryStore, type HistoryOption } from '../config/history.js';

/** The engine the settings ask for, and the bus watcher it needs (the Redis engine's subscriptions). */
export function engineFor(
  settings: EngineSettings,
  makeBus: (watcher?: ChannelWatcher) => ChannelBus,
): { engine: Engine; bus: ChannelBus; presence: Presence | undefined } {
  if (settings.kind === 'local') {
    const bus = makeBus();
    return { bus, engine: new LocalEngine(bus, historyFrom(settings.history)), presence: new LocalPresence(bus) };
  }
  const { redis, presence: timings } = settings;
  const store = new RedisHistory({
    redis: redis.target,
    commandTimeout: redis.commandTimeout,
    keyPrefix: redis.keyPrefix,
    maxEvents: settings.maxEvents,
    maxAge: settings.maxAge,
  });
  let engine: RedisEngine | undefined;
  let presence: RedisPresence | undefined;
  // The bus reports its channels to the engine, which delivers to the bus: built in two steps.
  const bus = makeBus({
    opened: (channel) => engine!.opened(channel),
    closed: (channel) => engine!.closed(channel),
    changed: timings ? (channel) => presence?.changed(channel) : undefined,
  });
  engine = new RedisEngine(bus, store);
  if (timings) presence = new RedisPresence(bus, store.link, redis.keyPrefix, timings);
  return { bus, engine, presence };
}

function historyFrom(option: HistoryOption): HistoryStore | undefined {
  if (option === false) return undefined;
  if (option === undefined) return new MemoryHistory();
  if (isHistoryStore(option)) return option;
  return option.redis === undefined ? new MemoryHistory(option) : new RedisHistory({ ...option, redis: option.redis });
}

export type { HistoryOptions };
