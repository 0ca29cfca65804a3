import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, HistoryError, InvalidConfigError, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { requireRedis, startRedis } from '../support/redis.js';
import { thrown } from '../support/thrown.js';
import { deadPort } from '../support/server.js';

// Error messages end up in logs: a password or a signing key in one is a leak.

afterEach(runCleanups);

describe('secrets are not printed', () => {
  const cases: Array<[string, unknown]> = [
    ['redis: a URL missing its colon', { redis: 'redis//:s3cretPW@127.0.0.1:6379' }],
    ['history.redis: an http URL', { history: { redis: 'http://:s3cretPW@127.0.0.1:6379' } }],
    ['redis.nodes: a string instead of a list', { redis: { nodes: 'redis://:s3cretPW@127.0.0.1:6379' } }],
    ['redis.url: user and password', { redis: { url: 'redis//admin:s3cretPW@127.0.0.1:6379' } }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: the password shows as ***`, () => {
      const err = thrown(() => new EventStream(options as EventStreamOptions));
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect(err.message).not.toContain('s3cretPW');
      expect(err.message).toContain(':***@');
    });
  }

  it('a GRIP control_uri with ?key= in object form: the key is not in GripPublishError', async () => {
    const port = await deadPort();
    const es = new EventStream({ grip: { control_uri: `http://127.0.0.1:${port}/?key=SECRETKEY` }, history: false });
    defer(() => es.close());
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as GripPublishError);
    expect(err).toBeInstanceOf(GripPublishError);
    expect(err!.message).not.toContain('SECRETKEY');
    expect(err!.message).toContain('key=***');
  });
});

describe.runIf(requireRedis())('Redis failures keep their cause', () => {
  it('a wrong password says the password was refused, with the ioredis error as cause', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    redis.cli('CONFIG', 'SET', 'requirepass', 'right-one');
    const es = new EventStream({ redis: { url: `redis://:wrong-one@127.0.0.1:${redis.port}`, commandTimeout: 500 } });
    defer(() => es.close());
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as HistoryError);
    expect(err).toBeInstanceOf(HistoryError);
    expect(err!.message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis.port} refused the password \\((WRONGPASS|ERR invalid password)[^)]*\\): check the password in the URL`));
    expect(err!.message).not.toContain('wrong-one');
    expect(err!.cause).toBeInstanceOf(Error);
  });

  it('a missing password says so (NOAUTH)', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    redis.cli('CONFIG', 'SET', 'requirepass', 'right-one');
    const es = new EventStream({ redis: { url: `redis://127.0.0.1:${redis.port}`, commandTimeout: 500 } });
    defer(() => es.close());
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as HistoryError);
    expect(err).toBeInstanceOf(HistoryError);
    expect(err!.message).toMatch(/refused the password \(NOAUTH/);
    expect(err!.cause).toBeInstanceOf(Error);
  });

  it('Redis down: the connection error is the cause', async () => {
    const port = await deadPort();
    const es = new EventStream({ redis: { url: `redis://127.0.0.1:${port}`, commandTimeout: 300 } });
    defer(() => es.close());
    const err = await es.publishEvent('c', { event: 'm', data: 1 }).then(() => undefined, (e: unknown) => e as HistoryError);
    expect(err).toBeInstanceOf(HistoryError);
    expect(err!.message).toContain('is not reachable');
    expect((err!.cause as Error).message).toContain('ECONNREFUSED');
  });
});
