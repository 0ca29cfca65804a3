/**
 * A real Redis that fails under the history: unreachable from the start, killed (SIGKILL) or
 * frozen (SIGSTOP: the port stays open, nothing answers) during a publish and during a resume.
 * Expected: a publish settles within a bounded time, with HistoryError (ERR_HISTORY) when it
 * fails; a resume that cannot read history still opens, says `history-truncated`, and goes
 * live; the process never crashes, and it works again once Redis is back. (That a failed batch
 * delivers nothing: test/redis/engine.test.ts.)
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HISTORY_TRUNCATED_EVENT, HistoryError, RedisHistory, RedisTimeoutError } from '../../src/index.js';
import { defer } from '../support/cleanup.js';
import { freePort } from '../support/ports.js';
import { RawClient } from '../support/raw.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { withTimeout } from '../support/wait.js';
import { noneLeft, serve, watchForEscapes, WAIT_MS, type Target } from './harness.js';

watchForEscapes();

/** How long a publish or a resume may take to give up on a broken Redis. */
const GIVE_UP_MS = 10_000;

/** The PID of the redis-server we started on `port` (the harness does not expose it). */
function pidOf(redis: RedisInstance): number {
  const out = execFileSync('pgrep', ['-f', `redis-server 127.0.0.1:${redis.port}`]).toString().trim();
  return Number(out.split('\n')[0]);
}

async function withRedis(): Promise<{ redis: RedisInstance; target: Target }> {
  const redis = await startRedis();
  defer(() => redis.kill());
  const target = await serve({ history: { redis: redis.url, keyPrefix: `attack-${redis.port}:` } }, (app, es) => app.get('/a', es('a')));
  await target.es.publishEvent('a', { event: 'm', data: 'before' });
  return { redis, target };
}

function settled(promise: Promise<unknown>): Promise<unknown> {
  return withTimeout(
    promise.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    GIVE_UP_MS,
    'the call to settle',
  );
}

describe.runIf(requireRedis())('Redis failing under the history', () => {
  it('unreachable, with a budget so short that the call timer races the wait for a connection → HistoryError every time, never RedisTimeoutError', async () => {
    // RedisTimeoutError means "Redis did not answer" (and the write can never take effect
    // later); with no connection the call never reached Redis: that is HistoryError, whichever
    // of the two timers ends first. Was a CI flake: under load the wait lost the race.
    const port = await freePort();
    const store = new RedisHistory({ redis: `redis://127.0.0.1:${port}`, commandTimeout: 5 });
    defer(() => store.close());
    for (let i = 0; i < 20; i++) {
      const err = await settled(store.append('a', [{ event: 'm', data: String(i) }]));
      expect(err).toBeInstanceOf(HistoryError);
      expect(err).not.toBeInstanceOf(RedisTimeoutError);
      expect((err as HistoryError).message).toMatch(/not reachable/);
    }
  });

  it('unreachable from the start → publish rejects with HistoryError within a bounded time; a resume still opens', async () => {
    const port = await freePort();
    const target = await serve({ history: { redis: `redis://127.0.0.1:${port}` } }, (app, es) => app.get('/a', es('a')));
    const err = await settled(target.es.publishEvent('a', { event: 'm' }));
    expect(err).toBeInstanceOf(HistoryError);
    expect((err as HistoryError).code).toBe('ERR_HISTORY');
    const client = await RawClient.get(target.port, { path: '/a', headers: { 'Last-Event-ID': '1' } });
    await client.waitForEvents(2, GIVE_UP_MS);
    expect(client.events.map((e) => e.event)).toEqual(['stream-open', HISTORY_TRUNCATED_EVENT]);
    client.destroy();
    await noneLeft(target.es);
  }, 30_000);

  it('killed → publish rejects with HistoryError; a resume says history-truncated and goes live when Redis is back', async () => {
    const { redis, target } = await withRedis();
    await redis.kill();
    const err = await settled(target.es.publishEvent('a', { event: 'm', data: 'while down' }));
    expect(err).toBeInstanceOf(HistoryError);
    const client = await RawClient.get(target.port, { path: '/a', headers: { 'Last-Event-ID': '1' } });
    await client.waitForEvents(2, GIVE_UP_MS);
    expect(client.events[1]!.event).toBe(HISTORY_TRUNCATED_EVENT);
    const again = await startRedis(redis.port);
    defer(() => again.kill());
    // ioredis reconnects in the background; publishes fail typed until it has.
    await withTimeout(
      (async () => {
        for (;;) {
          const result = await target.es.publishEvent('a', { event: 'm', data: 'back' }).then(() => true, () => false);
          if (result) return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })(),
      GIVE_UP_MS,
      'a publish to succeed once Redis is back',
    );
    await client.waitFor((c) => c.events.some((e) => e.data === '"back"'), 'the live event', WAIT_MS);
    client.destroy();
    await noneLeft(target.es);
  }, 40_000);

  it('killed during publishEvents(3000) → the call settles with HistoryError (no hang, no crash)', async () => {
    const { redis, target } = await withRedis();
    const batch = Array.from({ length: 3000 }, (_, i) => ({ event: 'm', data: i }));
    const publishing = settled(target.es.publishEvents('a', batch));
    await redis.kill();
    const result = await publishing;
    if (result !== 'resolved') expect(result).toBeInstanceOf(HistoryError);
  }, 30_000);

  // Found by this suite (fixed): Redis SIGSTOPped (port open, no answers) → publishEvent never settled.
  it('frozen → publish rejects with RedisTimeoutError within 10 s', async () => {
    const { redis, target } = await withRedis();
    const pid = pidOf(redis);
    process.kill(pid, 'SIGSTOP');
    defer(() => process.kill(pid, 'SIGCONT'));
    const err = await settled(target.es.publishEvent('a', { event: 'm', data: 'frozen' }));
    expect(err).toBeInstanceOf(RedisTimeoutError);
    expect((err as RedisTimeoutError).code).toBe('ERR_REDIS_TIMEOUT');
  }, 30_000);

  // Found by this suite (fixed): Redis SIGSTOPped → a resuming client got stream-open and then nothing.
  it('frozen → a resume says history-truncated within 10 s and then gets live events', async () => {
    const { redis, target } = await withRedis();
    const direct = await RawClient.get(target.port, { path: '/a' });
    await direct.waitForEvents(1, WAIT_MS);
    const pid = pidOf(redis);
    process.kill(pid, 'SIGSTOP');
    defer(() => process.kill(pid, 'SIGCONT'));
    const client = await RawClient.get(target.port, { path: '/a', headers: { 'Last-Event-ID': '1' } });
    await client.waitForEvents(2, GIVE_UP_MS);
    expect(client.events[1]!.event).toBe(HISTORY_TRUNCATED_EVENT);
  }, 30_000);
});
