import { describeValue } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { RedisClientLike } from '../redisClient.js';
import type { RedisEngineOptions } from '../types.js';
import { DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX } from './defaults.js';
import { assertOptionalString, isHistoryStore, type HistoryOption } from './history.js';
import { assertKnownKeys } from './knownKeys.js';
import { ownOptions } from './ownOptions.js';

/** Keys of `redis` when it is options (not a URL or a client). */
export const KNOWN_REDIS_OPTIONS: readonly string[] = ['url', 'nodes', 'client', 'commandTimeout', 'keyPrefix'];

/** What a Redis connection is made to: one URL, the startup nodes of a Cluster, or a client of the app's. */
export type RedisTarget = string | readonly string[] | RedisClientLike;

/** The `redis` option of an EventStream, checked: where Redis is, its call bound, and the key prefix, defaulted. */
export interface RedisEngineSettings {
  readonly target: RedisTarget;
  /** Left to the connection to default (it is checked there: a store made directly takes it too). */
  readonly commandTimeout: number | undefined;
  /** Of every key and pub/sub channel: `redis.keyPrefix`, else `history.keyPrefix`, else the default. */
  readonly keyPrefix: string;
}

/** A Redis node as ioredis takes it (credentials and TLS of a URL go with every node). */
export interface RedisNode {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: object;
}

/**
 * The shape of the `redis` option when it is options (not a client, which has `call`): read
 * as own keys, known keys only. Anything else is passed on to redisEngineOf as it is.
 */
export function redisOptionOf(redis: unknown): unknown {
  if (typeof redis !== 'object' || redis === null || Array.isArray(redis) || typeof (redis as { call?: unknown }).call === 'function') return redis;
  const options = ownOptions(redis, 'redis');
  assertKnownKeys(options, KNOWN_REDIS_OPTIONS, 'redis option');
  assertOptionalString(options.keyPrefix, 'redis.keyPrefix', "e.g. 'myapp:'");
  return options;
}

/**
 * The Redis engine's settings from `redis` (a URL, a client or options) and `history`, which
 * may then only bound how much Redis keeps: the history lives in that Redis.
 */
export function redisEngineOf(option: NonNullable<unknown>, history: HistoryOption): RedisEngineSettings {
  const redis = redisOptions(option as NonNullable<RedisEngineOptions | string | RedisClientLike>);
  if (history === false || (history !== undefined && (isHistoryStore(history) || history.redis !== undefined))) {
    throw new InvalidConfigError(
      `with \`redis\`, history lives in that Redis, got history: ${history === false ? 'false' : isHistoryStore(history) ? 'a store' : '{ redis }'}: give \`history\` only { maxEvents, maxAge }, or leave it out`,
    );
  }
  return {
    target: redis.client ?? redis.nodes ?? redis.url!,
    commandTimeout: redis.commandTimeout,
    keyPrefix: redis.keyPrefix ?? history?.keyPrefix ?? DEFAULT_KEY_PREFIX,
  };
}

function redisOptions(option: NonNullable<RedisEngineOptions | string | RedisClientLike>): RedisEngineOptions {
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

/**
 * A connection's call bound, defaulted, and its target checked: a Cluster's node list is not
 * empty, and every URL is a redis:// or rediss:// URL now, not a failing publish later.
 */
export function redisConnectionOf(options: { redis: RedisTarget; commandTimeout?: number }): { timeoutMs: number } {
  const timeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw new InvalidConfigError(`commandTimeout must be a positive number of ms, got ${describeValue(timeout)}: e.g. 2000 (the default)`);
  }
  const target = options.redis;
  if (Array.isArray(target) && (target.length === 0 || target.some((url) => typeof url !== 'string'))) {
    throw new InvalidConfigError(`redis: a Redis Cluster is given as a non-empty list of node URLs, got ${describeValue(target)}: e.g. ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']`);
  }
  if (Array.isArray(target)) for (const url of target as readonly string[]) redisNodeOf(url);
  if (typeof target === 'string') redisNodeOf(target);
  return { timeoutMs: timeout };
}

/**
 * The key prefix of a Redis store, defaulted. On a Cluster a brace in the prefix would make
 * IT the hash tag: every channel in one slot.
 */
export function redisKeyPrefixOf(options: { redis: RedisTarget; keyPrefix?: string }): string {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const cluster = Array.isArray(options.redis) || (options.redis as { isCluster?: unknown } | undefined)?.isCluster === true;
  if (cluster && typeof prefix === 'string' && /[{}]/.test(prefix)) {
    throw new InvalidConfigError(
      `keyPrefix must not contain { or } on a Redis Cluster (the channel is each key's hash tag), got ${JSON.stringify(prefix)}: e.g. 'gripstream:'`,
    );
  }
  return prefix;
}

/** `redis://[user:pass@]host:port` → an ioredis node (credentials go with every node). */
export function redisNodeOf(url: string): RedisNode {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidConfigError(`redis: not a URL, got ${describeValue(url)}: give a redis:// or rediss:// URL, e.g. 'redis://127.0.0.1:6379'`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidConfigError(
      `redis: the URL must start with redis:// or rediss:// (TLS), got ${JSON.stringify(parsed.protocol + '//' + parsed.host)}: e.g. 'redis://${parsed.host || '127.0.0.1:6379'}'`,
    );
  }
  const node: RedisNode = {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
  };
  if (parsed.username !== '') node.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') node.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') node.tls = {};
  return node;
}
