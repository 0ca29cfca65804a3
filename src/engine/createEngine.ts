import type { ChannelBus, ChannelWatcher } from '../bus/ChannelBus.js';
import { describeValue } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { HistoryStore } from '../history/HistoryStore.js';
import { MemoryHistory } from '../history/MemoryHistory.js';
import type { RedisClientLike } from '../history/RedisClientLike.js';
import { RedisHistory } from '../history/RedisHistory.js';
import type { EventStreamConfig, HistoryOptions, RedisEngineOptions } from '../types.js';
import type { Engine } from './Engine.js';
import { LocalEngine } from './LocalEngine.js';
import { RedisEngine } from './RedisEngine.js';
import { LocalPresence, type Presence } from './Presence.js';
import { RedisPresence } from './RedisPresence.js';
import { DEFAULT_KEY_PREFIX } from '../config/defaults.js';

/** The engine a config asks for, and the bus watcher it needs (the Redis engine's subscriptions). */
export function engineFor(
  config: EventStreamConfig,
  makeBus: (watcher?: ChannelWatcher) => ChannelBus,
): { engine: Engine; bus: ChannelBus; presence: Presence | undefined } {
  if (config.redis === undefined || config.redis === null) {
    const bus = makeBus();
    return { bus, engine: new LocalEngine(bus, historyFrom(config.history)), presence: new LocalPresence(bus) };
  }
  const redis = redisOptions(config.redis);
  const history = config.history;
  if (history === false || (history !== undefined && (isHistoryStore(history) || history.redis !== undefined))) {
    throw new InvalidConfigError(
      `with \`redis\`, history lives in that Redis, got history: ${history === false ? 'false' : isHistoryStore(history) ? 'a store' : '{ redis }'}: give \`history\` only { maxEvents, maxAge }, or leave it out`,
    );
  }
  const store = new RedisHistory({
    redis: redis.client ?? redis.nodes ?? redis.url!,
    commandTimeout: redis.commandTimeout,
    keyPrefix: redis.keyPrefix ?? history?.keyPrefix,
    maxEvents: history?.maxEvents,
    maxAge: history?.maxAge,
  });
  let engine: RedisEngine | undefined;
  let presence: RedisPresence | undefined;
  // The bus reports its channels to the engine, which delivers to the bus: built in two steps.
  const bus = makeBus({
    opened: (channel) => engine!.opened(channel),
    closed: (channel) => engine!.closed(channel),
    changed: config.presence ? (channel) => presence?.changed(channel) : undefined,
  });
  engine = new RedisEngine(bus, store);
  if (config.presence) {
    const options = config.presence === true ? {} : config.presence;
    presence = new RedisPresence(bus, store.link, redis.keyPrefix ?? history?.keyPrefix ?? DEFAULT_KEY_PREFIX, options);
  }
  return { bus, engine, presence };
}

function redisOptions(option: NonNullable<EventStreamConfig['redis']>): RedisEngineOptions {
  if (typeof option === 'string') return { url: option };
  if (typeof (option as RedisClientLike).call === 'function') return { client: option as RedisClientLike };
  const options = option as RedisEngineOptions;
  const given = [options.url, options.nodes, options.client].filter((value) => value !== undefined).length;
  if (given !== 1) {
    throw new InvalidConfigError(
      `redis must be a URL, a client, or an object with exactly one of url, nodes or client, got ${given === 0 ? 'none of them' : 'more than one'}: e.g. { url: 'redis://127.0.0.1:6379', commandTimeout: 2000 }`,
    );
  }
  if (options.url !== undefined && typeof options.url !== 'string') {
    throw new InvalidConfigError(`redis.url must be a string, got ${describeValue(options.url)}: e.g. 'redis://127.0.0.1:6379'`);
  }
  if (options.nodes !== undefined && (!Array.isArray(options.nodes) || options.nodes.length === 0 || options.nodes.some((url) => typeof url !== 'string'))) {
    throw new InvalidConfigError(
      `redis.nodes must be a non-empty list of redis:// URLs, got ${describeValue(options.nodes)}: e.g. ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']`,
    );
  }
  return options;
}

function historyFrom(option: EventStreamConfig['history']): HistoryStore | undefined {
  if (option === false) return undefined;
  if (option === undefined) return new MemoryHistory();
  if (isHistoryStore(option)) return option;
  return option.redis === undefined ? new MemoryHistory(option) : new RedisHistory({ ...option, redis: option.redis });
}

function isHistoryStore(option: object): option is HistoryStore {
  return typeof (option as Partial<HistoryStore>).append === 'function';
}

export type { HistoryOptions };
