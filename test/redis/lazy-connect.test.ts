import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/EventStream.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';

// Finding 21: an ioredis client made with lazyConnect waits for a first command to connect,
// and gripstream sends commands only once the client is ready: every publish failed with
// "not reachable (connection wait)". The link now connects such a client, as a command would.

const hasRedis = requireRedis();

describe.runIf(hasRedis)('an ioredis client made with lazyConnect: true (real redis-server)', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('is connected by gripstream: publishes resolve and ready() answers', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    const es = new EventStream({ redis: client, logger: false });
    try {
      expect(client.status).toBe('wait');
      await es.publishEvent('lazy', { event: 'm', data: 'one' });
      await es.ready({ timeout: 5000 });
      expect(client.status).toBe('ready');
    } finally {
      await es.close();
      client.disconnect();
    }
  }, 15_000);
});
