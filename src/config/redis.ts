import { describeValue } from '../describeValue.js';
import { InvalidConfigError } from '../errors.js';
import type { RedisClientLike } from '../redisClient.js';
import type { RedisEngineOptions } from '../types.js';
import { DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX, MAX_TIMER_DELAY } from './defaults.js';
import { assertOptionalString, checkHistoryBounds, isHistoryStore, type HistoryOption } from './history.js';
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
  const memoryOnly = history === undefined ? undefined : (['maxBytes', 'maxTotalBytes'] as const).find((key) => history[key] !== undefined);
  if (memoryOnly !== undefined) {
    // Redis bounds a channel by count and age only: a byte bound would be silently ignored.
    throw new InvalidConfigError(
      `history.${memoryOnly} applies to the in-memory store only; with \`redis\` history lives in Redis, bounded by maxEvents and maxAge, got ${memoryOnly}: ${describeValue(history![memoryOnly])}: leave it out and bound Redis's memory with maxEvents/maxAge (and Redis's maxmemory)`,
    );
  }
  const target = redis.client ?? redis.nodes ?? redis.url!;
  if (redis.client !== undefined) assertRedisClient(redis.client, 'redis.client');
  const keyPrefix = agreedKeyPrefix(redis.keyPrefix, history?.keyPrefix);
  redisConnectionOf({ redis: target, commandTimeout: redis.commandTimeout });
  redisKeyPrefixOf({ redis: target, keyPrefix });
  return { target, commandTimeout: redis.commandTimeout, keyPrefix };
}

/**
 * One key prefix from `redis.keyPrefix` and `history.keyPrefix`: either, or both when equal.
 * Two different ones are refused: which one was meant cannot be told, and instances that
 * guessed differently would silently not share history or deliveries.
 */
function agreedKeyPrefix(redisPrefix: string | undefined, historyPrefix: string | undefined): string {
  if (redisPrefix !== undefined && historyPrefix !== undefined && redisPrefix !== historyPrefix) {
    throw new InvalidConfigError(
      `keyPrefix is given twice and differently, got redis.keyPrefix ${JSON.stringify(redisPrefix)} and history.keyPrefix ${JSON.stringify(historyPrefix)}: both name the same Redis keys; give it once, in redis.keyPrefix`,
    );
  }
  return redisPrefix ?? historyPrefix ?? DEFAULT_KEY_PREFIX;
}

/** The methods gripstream calls on a Redis client of the app's (RedisClientLike). */
const CLIENT_METHODS = ['call', 'once', 'duplicate'] as const;

/**
 * Refuses a `client` that is not a Redis client by shape (the methods the link calls), now
 * rather than as a TypeError at the first publish.
 */
export function assertRedisClient(client: unknown, name: string): asserts client is RedisClientLike {
  let missing: string | undefined;
  try {
    missing = typeof client === 'object' && client !== null ? CLIENT_METHODS.find((method) => typeof (client as Record<string, unknown>)[method] !== 'function') : 'call';
  } catch (err) {
    throw new InvalidConfigError(`${name} cannot be read: ${err instanceof Error ? err.message : String(err)}: pass an ioredis client`, { cause: err });
  }
  if (missing !== undefined) {
    throw new InvalidConfigError(
      `${name} must be a Redis client (an ioredis Redis or Cluster, or an object with ${CLIENT_METHODS.join(', ')}), got ${describeValue(client)}${typeof client === 'object' && client !== null ? ` without ${missing}()` : ''}: e.g. new Redis('redis://127.0.0.1:6379'), or give a URL instead`,
    );
  }
}

/** Keys of `new RedisHistory(options)`. */
export const KNOWN_REDIS_HISTORY_OPTIONS: readonly string[] = ['redis', 'keyPrefix', 'maxEvents', 'maxAge', 'commandTimeout'];

/** `new RedisHistory(options)`'s options, checked. */
export interface RedisHistorySettings {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  readonly maxEvents: number | undefined;
  readonly maxAge: number | undefined;
  readonly commandTimeout: number | undefined;
}

/**
 * The options of a RedisHistory made directly, checked as the `history` option is (the same
 * functions), all before a connection is made: a refused store leaves nothing open.
 */
export function redisHistoryOptionsOf(input: unknown): RedisHistorySettings {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidConfigError(`RedisHistory needs options, got ${describeValue(input)}: e.g. new RedisHistory({ redis: 'redis://127.0.0.1:6379' })`);
  }
  const options = ownOptions(input, 'RedisHistory options');
  const memoryOnly = ['maxBytes', 'maxTotalBytes'].find((key) => options[key] !== undefined);
  if (memoryOnly !== undefined) {
    throw new InvalidConfigError(
      `RedisHistory's ${memoryOnly} does not exist: the byte bounds apply to the in-memory store only, got ${memoryOnly}: ${describeValue(options[memoryOnly])}: bound Redis by maxEvents and maxAge, or leave it out`,
    );
  }
  assertKnownKeys(options, KNOWN_REDIS_HISTORY_OPTIONS, 'RedisHistory option');
  checkHistoryBounds(options, 'RedisHistory');
  assertOptionalString(options.keyPrefix, 'RedisHistory keyPrefix', "e.g. 'myapp:' (the default is 'gripstream:')");
  const redis = redisTargetOf(options.redis, 'RedisHistory redis');
  const commandTimeout = options.commandTimeout as number | undefined;
  redisConnectionOf({ redis, commandTimeout });
  const keyPrefix = redisKeyPrefixOf({ redis, keyPrefix: options.keyPrefix as string | undefined });
  return { redis, keyPrefix, maxEvents: options.maxEvents as number | undefined, maxAge: options.maxAge as number | undefined, commandTimeout };
}

/** Keys of `new RedisIdempotencyStore(options)`. */
export const KNOWN_REDIS_IDEMPOTENCY_OPTIONS: readonly string[] = ['redis', 'keyPrefix', 'commandTimeout'];

/**
 * The options of a RedisIdempotencyStore, checked before its connection is made: known keys, a
 * Redis target, the call bound, and the prefix (no brace on a Cluster, as for the engine).
 */
export function redisIdempotencyOptionsOf(input: unknown): { redis: RedisTarget; keyPrefix: string; commandTimeout: number | undefined } {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidConfigError(`RedisIdempotencyStore needs options, got ${describeValue(input)}: e.g. new RedisIdempotencyStore({ redis: 'redis://127.0.0.1:6379' })`);
  }
  const options = ownOptions(input, 'RedisIdempotencyStore options');
  assertKnownKeys(options, KNOWN_REDIS_IDEMPOTENCY_OPTIONS, 'RedisIdempotencyStore option');
  assertOptionalString(options.keyPrefix, 'RedisIdempotencyStore keyPrefix', "e.g. 'myapp:' (the default is 'gripstream:')");
  const redis = redisTargetOf(options.redis, 'RedisIdempotencyStore redis');
  const commandTimeout = options.commandTimeout as number | undefined;
  redisConnectionOf({ redis, commandTimeout });
  return { redis, keyPrefix: redisKeyPrefixOf({ redis, keyPrefix: options.keyPrefix as string | undefined }), commandTimeout };
}

/** A Redis target as the stores take it: a URL, a list of node URLs (a Cluster), or a client. */
function redisTargetOf(redis: unknown, name: string): RedisTarget {
  if (typeof redis === 'string' || Array.isArray(redis)) return redis as RedisTarget;
  if (typeof redis === 'object' && redis !== null) {
    assertRedisClient(redis, name);
    return redis;
  }
  throw new InvalidConfigError(
    `${name} must be a redis:// URL, a list of them (a Cluster) or an ioredis client, got ${describeValue(redis)}: e.g. { redis: 'redis://127.0.0.1:6379' }`,
  );
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
  if (timeout > MAX_TIMER_DELAY) {
    // Node turns a longer timer into 1 ms: every call would time out at once.
    throw new InvalidConfigError(`commandTimeout must be at most ${MAX_TIMER_DELAY} ms (about 24.8 days), got ${timeout}: e.g. 2000 (the default)`);
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
  if (url.trim() !== url || /[\u0000-\u001f\u007f]/.test(url)) {
    // The URL parser would drop the white space, ioredis would not: the first publish would fail.
    throw new InvalidConfigError(`redis: the URL is malformed (white space or a control character in it), got ${JSON.stringify(url)}: e.g. 'redis://127.0.0.1:6379', with nothing around it`);
  }
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
