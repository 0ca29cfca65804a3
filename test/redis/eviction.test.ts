import { randomUUID } from 'node:crypto';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient, type RawEvent } from '../support/raw.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { startHttp } from '../support/server.js';
import { pollUntil } from '../support/wait.js';

// A channel's keys removed by Redis (maxmemory eviction) or by a DEL while the epoch key stays:
// a client resuming from before gets the events exactly or `history-truncated`, never a silent
// gap. And the engine says when the server's maxmemory-policy may evict its keys.

const hasRedis = requireRedis();
const WAIT = 10_000;
const POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;

const messages = (events: readonly RawEvent[]) => events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as string);
const truncated = (events: readonly RawEvent[]) => events.some((e) => e.event === 'history-truncated');

describe.runIf(hasRedis)('Redis engine: evicted or deleted channel keys', () => {
  const redis = useRedis();
  afterEach(async () => {
    await runCleanups();
    redis.cli('CONFIG', 'SET', 'maxmemory', '0');
    redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  });

  async function instance(prefix: string, maxAge?: number): Promise<{ es: EventStream; port: number }> {
    const es = track(new EventStream({ redis: { url: redis.url, keyPrefix: prefix }, retry: 100, history: { maxEvents: 1000, ...(maxAge === undefined ? {} : { maxAge }) } }));
    const server = await startHttp((req, res) => {
      const channels = new URL(req.url!, 'http://x').pathname.slice(1).split(',');
      void es(channels)(req, res);
    });
    return { es, port: Number(new URL(server.url).port) };
  }

  /** A client that takes `first`, leaves, and the id it would resume from. */
  async function takeFirst(port: number, path: string, es: EventStream, channel: string): Promise<string> {
    const client = await RawClient.get(port, { path });
    await client.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
    await es.publishEvent(channel, { event: 'message', data: 'first' });
    await client.waitFor((c) => messages(c.events).length === 1, 'first', WAIT);
    client.destroy();
    return client.events.find((e) => e.event === 'message')!.id!;
  }

  async function resume(port: number, path: string, id: string, until: (events: RawEvent[]) => boolean): Promise<RawEvent[]> {
    const client = await RawClient.get(port, { path, headers: { 'Last-Event-ID': id } });
    await client.waitFor((c) => until(c.events), 'the resume', WAIT);
    client.destroy();
    return client.events;
  }

  for (const channels of [['quiet'], ['quiet', 'other']]) {
    const path = `/${channels.join(',')}`;

    it(`${path}: a DEL of the channel's stream and meta keys makes a resume from before it history-truncated`, async () => {
      const prefix = `d-${randomUUID()}:`;
      const { es, port } = await instance(prefix);
      const id = await takeFirst(port, path, es, 'quiet');
      await es.publishEvent('quiet', { event: 'message', data: 'missed' });
      redis.cli('DEL', `${prefix}{quiet}:s`, `${prefix}{quiet}:m`);
      const events = await resume(port, path, id, (e) => e.some((x) => x.event === 'history-truncated' || x.event === 'message'));
      expect(truncated(events)).toBe(true);
    });

    it(`${path}: keys deleted, then a publish makes them again: a resume from before is still history-truncated`, async () => {
      const prefix = `e-${randomUUID()}:`;
      const { es, port } = await instance(prefix);
      const id = await takeFirst(port, path, es, 'quiet');
      await es.publishEvent('quiet', { event: 'message', data: 'missed' });
      redis.cli('DEL', `${prefix}{quiet}:s`, `${prefix}{quiet}:m`);
      await es.publishEvent('quiet', { event: 'message', data: 'after' });
      const events = await resume(port, path, id, (e) => messages(e).includes('after'));
      expect(truncated(events)).toBe(true);
    });
  }

  it('a resume on two channels, one never published (only subscribed), is exact: no false history-truncated', async () => {
    const prefix = `n-${randomUUID()}:`;
    const { es, port } = await instance(prefix);
    const id = await takeFirst(port, '/quiet,never', es, 'quiet');
    await es.publishEvent('quiet', { event: 'message', data: 'second' });
    const events = await resume(port, '/quiet,never', id, (e) => messages(e).includes('second'));
    expect(truncated(events)).toBe(false);
    expect(messages(events)).toEqual(['second']);
  });

  for (const policy of POLICIES) {
    it(`maxmemory with ${policy}: a quiet channel's resume is exact or history-truncated, and a lossy policy is warned about`, async () => {
      const prefix = `m-${randomUUID()}:`;
      redis.cli('CONFIG', 'SET', 'maxmemory-policy', policy);
      const warnings: string[] = [];
      const log = createDebug.log;
      const enabled = createDebug.disable();
      createDebug.enable('gripstream:redis:eviction');
      createDebug.log = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
      let es: EventStream;
      let port: number;
      try {
        ({ es, port } = await instance(prefix));
        await pollUntil(() => warnings.length > 0, WAIT, 'the eviction policy check');
      } finally {
        createDebug.log = log;
        createDebug.disable();
        if (enabled) createDebug.enable(enabled);
      }
      expect(warnings.some((w) => w.includes('WARNING')), warnings.join('\n')).toBe(policy !== 'noeviction');
      const id = await takeFirst(port, '/quiet', es, 'quiet');
      await es.publishEvent('quiet', { event: 'message', data: 'missed' });
      const used = Number(/used_memory:(\d+)/.exec(redis.cli('INFO', 'memory'))![1]);
      redis.cli('CONFIG', 'SET', 'maxmemory', String(used + 2 * 1024 * 1024));
      // Other channels fill Redis well past maxmemory: 6 MB in 10 KB events.
      const big = 'x'.repeat(10 * 1024);
      let refused = 0;
      for (let i = 0; i < 600; i++) {
        await es.publishEvent(`busy-${i}`, { event: 'message', data: big }).catch(() => refused++);
      }
      const evicted = redis.cli('EXISTS', `${prefix}{quiet}:s`, `${prefix}{quiet}:m`) !== '2';
      redis.cli('CONFIG', 'SET', 'maxmemory', '0');
      const events = await resume(port, '/quiet', id, (e) => truncated(e) || messages(e).includes('missed'));
      console.log(`${policy}: quiet keys evicted: ${evicted}, publishes refused: ${refused}, resume: ${truncated(events) ? 'history-truncated' : 'exact'}`);
      if (!truncated(events)) expect(messages(events)).toEqual(['missed']);
      if (evicted) expect(truncated(events)).toBe(true);
      if (policy === 'noeviction') expect(refused).toBeGreaterThan(0);
    });
  }
});
