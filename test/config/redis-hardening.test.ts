import { describe, expect, it } from 'vitest';
import { resolveEventStreamOptions } from '../../src/config/eventStream.js';
import { EventStream } from '../../src/EventStream.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { RedisHistory } from '../../src/redis/RedisHistory.js';
import { RedisIdempotencyStore } from '../../src/redis/RedisIdempotencyStore.js';
import { configError } from './configError.js';

// Issue 26's attack on careless options (findings 01, 09-13, 19, 20, 25, 26): each value here
// was accepted and failed later (or left a connection open); now it is refused by the config
// reader, before anything is built. The URL points at a port nobody listens on: none of these
// may get as far as connecting.

const url = 'redis://127.0.0.1:1';
const message = (options: object): string => configError(() => resolveEventStreamOptions(options)).message;

describe('metrics (finding 01)', () => {
  it.each([{}, 5, null])('meterProvider %j is refused in config, before the Redis link', (meterProvider) => {
    expect(message({ redis: url, metrics: { meterProvider } })).toMatch(
      /^metrics\.meterProvider must be an OpenTelemetry MeterProvider \(an object with getMeter\(\)\), got .*: e\.g\. new MeterProvider\(\) from @opentelemetry\/sdk-metrics, or leave it out for the global one$/,
    );
  });

  it('a typo inside metrics is refused with the nearest name', () => {
    expect(message({ metrics: { meterprovider: {} } })).toBe('unknown metrics option "meterprovider" (did you mean "meterProvider"?)');
  });
});

describe('Redis options refused before a client exists', () => {
  it('a brace in the key prefix of a Cluster (finding 09)', () => {
    expect(message({ redis: { nodes: [url], keyPrefix: 'a{b}' } })).toBe(
      `keyPrefix must not contain { or } on a Redis Cluster (the channel is each key's hash tag), got "a{b}": e.g. 'gripstream:'`,
    );
  });

  it.each([3e9, 2 ** 31])('commandTimeout %d past what a timer holds (finding 26)', (commandTimeout) => {
    expect(message({ redis: { url, commandTimeout } })).toBe(
      `commandTimeout must be at most 2147483647 ms (about 24.8 days), got ${commandTimeout}: e.g. 2000 (the default)`,
    );
  });

  it('a finite history.maxAge past a year; Infinity still passes (finding 26)', () => {
    expect(message({ redis: url, history: { maxAge: 1e15 } })).toBe(
      'history.maxAge must be at most 31536000000 ms (365 days) or Infinity, got 1000000000000000: for no age limit write Infinity (maxEvents and the byte bounds still apply)',
    );
    expect(resolveEventStreamOptions({ redis: url, history: { maxAge: Infinity } }).engine).toMatchObject({ maxAge: Infinity });
  });

  it.each([3e9, 1e12])('presence.heartbeatMs %d, with Redis or without (finding 25)', (heartbeatMs) => {
    const expected = `presence.heartbeatMs must be a whole number of ms from 1 to 2147483647 (about 24.8 days), got ${heartbeatMs}: e.g. 5000 (the default)`;
    expect(message({ redis: url, presence: { heartbeatMs, ttlMs: heartbeatMs * 3 } })).toBe(expected);
    expect(message({ history: { redis: url }, presence: { heartbeatMs } })).toBe(expected);
  });

  it.each([' redis://127.0.0.1:6379', 'redis://127.0.0.1:6379 ', 'redis://127.0.0.1:6379\n'])(
    'a URL with white space around it is malformed, not "npm install ioredis" (finding 19): %j',
    (bad) => {
      expect(message({ redis: bad })).toBe(
        `redis: the URL is malformed (white space or a control character in it), got ${JSON.stringify(bad)}: e.g. 'redis://127.0.0.1:6379', with nothing around it`,
      );
    },
  );

  it.each([
    [{}, 'an object without call()'],
    [5, '5'],
    [null, 'null'],
    [{ call: () => undefined }, 'an object without once()'],
  ])('redis.client %j is refused by shape (finding 12)', (client, got) => {
    expect(message({ redis: { client } })).toBe(
      `redis.client must be a Redis client (an ioredis Redis or Cluster, or an object with call, once, duplicate), got ${got}: e.g. new Redis('redis://127.0.0.1:6379'), or give a URL instead`,
    );
  });
});

describe('history next to Redis (finding 13)', () => {
  it.each(['maxBytes', 'maxTotalBytes'])('%s applies to the in-memory store only: refused with redis and with history.redis', (key) => {
    expect(message({ redis: url, history: { [key]: 10 } })).toMatch(new RegExp(`^history\\.${key} applies to the in-memory store only; with \`redis\``));
    expect(message({ history: { redis: url, [key]: 10 } })).toMatch(new RegExp(`^history\\.${key} applies to the in-memory store only; with history\\.redis`));
  });

  it('keyPrefix given twice and differently is refused; once, or twice the same, is taken', () => {
    expect(message({ redis: { url, keyPrefix: 'R:' }, history: { keyPrefix: 'H:' } })).toBe(
      'keyPrefix is given twice and differently, got redis.keyPrefix "R:" and history.keyPrefix "H:": both name the same Redis keys; give it once, in redis.keyPrefix',
    );
    expect(resolveEventStreamOptions({ redis: url, history: { keyPrefix: 'H:' } }).engine).toMatchObject({ redis: { keyPrefix: 'H:' } });
  });

  it('history.keyPrefix without any Redis is refused', () => {
    expect(message({ history: { keyPrefix: 'H:' } })).toBe(
      'history.keyPrefix names Redis keys, but no Redis is given, got keyPrefix "H:": add history.redis (or the redis option), or leave keyPrefix out',
    );
  });
});

describe('new RedisHistory(options): the checks of the history option (finding 10)', () => {
  it.each([
    [{ maxEvents: 0 }, 'RedisHistory.maxEvents must be a positive integer, got 0: e.g. 1000 (the default); for no history at all, history: false'],
    [{ maxAge: -1 }, 'RedisHistory.maxAge must be a positive number, got -1: milliseconds, e.g. 300000 (the default, 5 minutes), or Infinity; for no history at all, history: false'],
    [{ maxEvents: 'x' }, 'RedisHistory.maxEvents must be a positive integer, got "x" (a string): e.g. 1000 (the default); for no history at all, history: false'],
    [{ maxEvent: 10 }, 'unknown RedisHistory option "maxEvent" (did you mean "maxEvents"?)'],
    [{ keyPrefix: 5 }, "RedisHistory keyPrefix must be a string, got 5: e.g. 'myapp:' (the default is 'gripstream:')"],
    [{ maxBytes: 5 }, "RedisHistory's maxBytes does not exist: the byte bounds apply to the in-memory store only, got maxBytes: 5: bound Redis by maxEvents and maxAge, or leave it out"],
    [{ commandTimeout: 3e9 }, 'commandTimeout must be at most 2147483647 ms (about 24.8 days), got 3000000000: e.g. 2000 (the default)'],
  ])('%j is refused', (options, expected) => {
    expect(configError(() => new RedisHistory({ redis: url, ...options } as never)).message).toBe(expected);
  });

  it('no options, no redis, a redis that is none, a Cluster prefix with a brace', () => {
    expect(configError(() => new (RedisHistory as new (options?: unknown) => unknown)()).message).toBe(
      "RedisHistory needs options, got undefined: e.g. new RedisHistory({ redis: 'redis://127.0.0.1:6379' })",
    );
    expect(configError(() => new RedisHistory({} as never)).message).toMatch(/^RedisHistory redis must be a redis:\/\/ URL, a list of them \(a Cluster\) or an ioredis client, got undefined/);
    expect(configError(() => new RedisHistory({ redis: 5 } as never)).message).toMatch(/^RedisHistory redis must be .* got 5/);
    expect(configError(() => new RedisHistory({ redis: { call: 5 } } as never)).message).toMatch(/^RedisHistory redis must be a Redis client .* got an object without call\(\)/);
    expect(configError(() => new RedisHistory({ redis: [url], keyPrefix: 'a{b}' })).message).toMatch(/^keyPrefix must not contain \{ or \} on a Redis Cluster/);
  });
});

describe('new MemoryHistory(options) refuses what it would ignore (finding 11)', () => {
  it.each([
    [{ maxEvent: 1 }, 'unknown MemoryHistory option "maxEvent" (did you mean "maxEvents"?)'],
    [{ redis: url }, `MemoryHistory keeps events in this process, so redis does not apply, got redis: "${url}" (a string): for history in Redis use new RedisHistory({ redis, keyPrefix, maxEvents, maxAge }), or leave redis out`],
    [{ keyPrefix: 'app:' }, 'MemoryHistory keeps events in this process, so keyPrefix does not apply, got keyPrefix: "app:" (a string): for history in Redis use new RedisHistory({ redis, keyPrefix, maxEvents, maxAge }), or leave keyPrefix out'],
    [{ maxBytes: 1000, maxTotalBytes: 10 }, 'history.maxTotalBytes (10) is smaller than history.maxBytes (1000), so one channel could never hold maxBytes: maxBytes bounds each channel and maxTotalBytes all of them; raise maxTotalBytes or lower maxBytes'],
    [null, 'MemoryHistory options must be an object, got null: pass { ... }, null or nothing'],
  ])('%j is refused', (options, expected) => {
    expect(configError(() => new MemoryHistory(options as never)).message).toBe(expected);
  });

  it('a throwing getter becomes InvalidConfigError', () => {
    const options = {
      get maxAge(): number {
        throw new Error('boom');
      },
    };
    expect(configError(() => new MemoryHistory(options)).message).toBe('MemoryHistory options cannot be read: boom: pass a plain object of values');
  });
});

describe('history stores of the app checked by shape (finding 20)', () => {
  const append = (): [] => [];
  it.each([
    [{ append }, 'readAfter', 'undefined'],
    [{ append, readAfter: 5 }, 'readAfter', '5'],
    [{ append, readAfter: () => ({ records: [], complete: true }), close: 5 }, 'close', '5'],
    [{ append, readAfter: () => ({ records: [], complete: true }), lastIds: 5 }, 'lastIds', '5'],
  ])('%j is refused', (store, name, got) => {
    expect(configError(() => new EventStream({ history: store as never })).message).toBe(
      `history: a store must have append() and readAfter() (lastIds() and close() are optional), got ${name}: ${got}: give ${name} as a method, e.g. a MemoryHistory or RedisHistory, or options { maxEvents, maxAge }`,
    );
  });
});

describe('new RedisIdempotencyStore(options) checked before it connects (finding 12)', () => {
  it('no options, a typo, a Cluster prefix with a brace, a client that is none', () => {
    expect(configError(() => new (RedisIdempotencyStore as new (options?: unknown) => unknown)()).message).toBe(
      "RedisIdempotencyStore needs options, got undefined: e.g. new RedisIdempotencyStore({ redis: 'redis://127.0.0.1:6379' })",
    );
    expect(configError(() => new RedisIdempotencyStore({ redis: url, keyprefix: 'app:' } as never)).message).toBe(
      'unknown RedisIdempotencyStore option "keyprefix" (did you mean "keyPrefix"?)',
    );
    expect(configError(() => new RedisIdempotencyStore({ redis: [url], keyPrefix: 'a{b}' })).message).toMatch(/^keyPrefix must not contain \{ or \} on a Redis Cluster/);
    expect(configError(() => new RedisIdempotencyStore({ redis: {} as never })).message).toMatch(/^RedisIdempotencyStore redis must be a Redis client .* got an object without call\(\)/);
  });
});
