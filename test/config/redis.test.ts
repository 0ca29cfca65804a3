import { describe, expect, it } from 'vitest';
import { DEFAULT_COMMAND_TIMEOUT, DEFAULT_KEY_PREFIX } from '../../src/config/defaults.js';
import { redisConnectionOf, redisKeyPrefixOf, redisNodeOf } from '../../src/config/redis.js';
import { configError } from './configError.js';

describe('redisConnectionOf', () => {
  it('commandTimeout defaults to 2000 ms', () => {
    expect(redisConnectionOf({ redis: 'redis://127.0.0.1:6379' })).toEqual({ timeoutMs: DEFAULT_COMMAND_TIMEOUT });
    expect(DEFAULT_COMMAND_TIMEOUT).toBe(2000);
  });

  it.each([
    [{ redis: 'redis://127.0.0.1:6379', commandTimeout: 0 }, 'commandTimeout must be a positive number of ms, got 0: e.g. 2000 (the default)'],
    [{ redis: [] as string[] }, "redis: a Redis Cluster is given as a non-empty list of node URLs, got an array of 0: e.g. ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379']"],
    [{ redis: 'not a url' }, `redis: not a URL, got "not a url" (a string): give a redis:// or rediss:// URL, e.g. 'redis://127.0.0.1:6379'`],
    [{ redis: ['redis://a:1', 'http://b:2'] }, `redis: the URL must start with redis:// or rediss:// (TLS), got "http://b:2": e.g. 'redis://b:2'`],
  ])('%j is refused', (options, message) => {
    expect(configError(() => redisConnectionOf(options)).message).toBe(message);
  });
});

describe('redisNodeOf', () => {
  it('reads host, port (6379 by default), credentials and TLS from a URL', () => {
    expect(redisNodeOf('redis://10.0.0.1')).toEqual({ host: '10.0.0.1', port: 6379 });
    expect(redisNodeOf('rediss://us%40r:p%3Ass@h:7000')).toEqual({ host: 'h', port: 7000, username: 'us@r', password: 'p:ss', tls: {} });
  });
});

describe('redisKeyPrefixOf', () => {
  it("defaults to 'gripstream:'", () => {
    expect(redisKeyPrefixOf({ redis: 'redis://h' })).toBe(DEFAULT_KEY_PREFIX);
    expect(DEFAULT_KEY_PREFIX).toBe('gripstream:');
  });

  it('a brace is refused on a Cluster only (it would put every channel in one slot)', () => {
    expect(redisKeyPrefixOf({ redis: 'redis://h', keyPrefix: '{app}:' })).toBe('{app}:');
    expect(configError(() => redisKeyPrefixOf({ redis: ['redis://h'], keyPrefix: '{app}:' })).message).toBe(
      `keyPrefix must not contain { or } on a Redis Cluster (the channel is each key's hash tag), got "{app}:": e.g. 'gripstream:'`,
    );
    const cluster = { isCluster: true, call: () => Promise.resolve(null) };
    expect(configError(() => redisKeyPrefixOf({ redis: cluster as never, keyPrefix: 'a}' })).message).toMatch(/^keyPrefix must not contain \{ or \}/);
  });
});
