import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EventStream } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { startPublisher, xrange } from '../support/publisher.js';
import { RawClient, type RawEvent } from '../support/raw.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { startHttp } from '../support/server.js';
import { withTimeout } from '../support/wait.js';

// A stream on two channels of one Redis, fed by a separate process publishing to both as fast as
// it can: every fresh stream must see ids that only grow (one order across the channels), and a
// client resuming from the last id it received must get exactly what came after it.

const hasRedis = requireRedis();
const WAIT = 10_000;
const STREAMS = 20;
const EVENTS_PER_STREAM = 40;

const messages = (client: RawClient): RawEvent[] => client.events.filter((e) => e.event === 'message');

describe.runIf(hasRedis)('Redis engine: a stream on several channels', () => {
  const redis = useRedis();
  afterEach(runCleanups);

  async function instance(prefix: string): Promise<number> {
    const es = track(new EventStream({ redis: { url: redis.url, keyPrefix: prefix }, retry: 100, history: { maxEvents: 100_000 } }));
    const server = await startHttp((req, res) => {
      const channels = new URL(req.url!, 'http://x').pathname.slice(1).split(',');
      void es(channels)(req, res);
    });
    return Number(new URL(server.url).port);
  }

  it('gives every fresh stream ids that only grow, while another process publishes to both channels', async () => {
    const prefix = `o-${randomUUID()}:`;
    const port = await instance(prefix);
    await startPublisher(redis.url, prefix, ['A', 'B'], 'p');
    let backwards = 0;
    for (let i = 0; i < STREAMS; i++) {
      const client = await RawClient.get(port, { path: '/A,B' });
      await client.waitFor((c) => messages(c).length >= EVENTS_PER_STREAM, `${EVENTS_PER_STREAM} events`, WAIT);
      const ids = messages(client).map((e) => Number(e.id));
      if (ids.some((id, k) => k > 0 && id <= ids[k - 1]!)) backwards++;
      client.destroy();
    }
    console.log(`streams whose ids went backwards: ${backwards} of ${STREAMS}`);
    expect(backwards).toBe(0);
  }, 60_000);

  it('resumes a stream on two channels exactly from the last id it received', async () => {
    const prefix = `r-${randomUUID()}:`;
    const port = await instance(prefix);
    const publisher = await startPublisher(redis.url, prefix, ['A', 'B'], 'p');
    const runs: Array<{ first: RawEvent[]; second: RawEvent[] }> = [];
    for (let i = 0; i < 8; i++) {
      const first = await RawClient.get(port, { path: '/A,B' });
      await first.waitFor((c) => messages(c).length >= 5 + i * 3, 'events', WAIT);
      first.destroy();
      const got = messages(first);
      const second = await RawClient.get(port, { path: '/A,B', headers: { 'Last-Event-ID': got.at(-1)!.id! } });
      await second.waitFor((c) => messages(c).length >= 30, 'resumed events', WAIT);
      second.destroy();
      runs.push({ first: got, second: second.events.filter((e) => e.event === 'message' || e.event === 'history-truncated') });
    }
    publisher.disconnect();
    await withTimeout(once(publisher, 'exit'), WAIT, 'publisher exit');
    // The truth: every event of both channels, in the order Redis handed out their positions.
    const truth = [...xrange(redis, `${prefix}{A}:s`), ...xrange(redis, `${prefix}{B}:s`)].sort((a, b) => a.seq - b.seq);
    const index = new Map(truth.map((entry, k) => [String(entry.seq), k]));
    let lossy = 0;
    for (const { first, second } of runs) {
      expect(second.some((e) => e.event === 'history-truncated')).toBe(false);
      const at = index.get(first.at(-1)!.id!)!;
      const expected = truth.slice(at + 1, at + 1 + second.length).map((entry) => String(entry.seq));
      if (second.map((e) => e.id).join() !== expected.join()) lossy++;
    }
    console.log(`resumes that did not continue exactly: ${lossy} of ${runs.length}`);
    expect(lossy).toBe(0);
  }, 60_000);

  it('a channel whose stream cannot be read does not stop the other channels for longer than the hold limit', async () => {
    const prefix = `h-${randomUUID()}:`;
    // The instance's connection answers nothing to the feed reads of one channel (its start read
    // carries 10 arguments after EVALSHA's name: sha, 3, three keys, then four).
    const real = new Redis(redis.url);
    real.on('error', () => undefined);
    defer(() => real.disconnect());
    const call = real.call.bind(real) as (...args: Array<string | number>) => Promise<unknown>;
    const client = new Proxy(real, {
      get(target, prop) {
        if (prop === 'call') {
          return (...args: Array<string | number>) =>
            args.some((arg) => String(arg).includes('{stuck}')) && args.length >= 8 && Number(args[2]) === 3 ? new Promise(() => undefined) : call(...args);
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const es = track(new EventStream({ redis: { client, keyPrefix: prefix, commandTimeout: 1000 }, retry: 100 }));
    const server = await startHttp((req, res) => void es(new URL(req.url!, 'http://x').pathname.slice(1).split(','))(req, res));
    const port = Number(new URL(server.url).port);
    const stuck = await RawClient.get(port, { path: '/stuck' });
    await stuck.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
    const free = await RawClient.get(port, { path: '/free' });
    await free.waitFor((c) => c.events.some((e) => e.event === 'stream-open'), 'stream-open', WAIT);
    const started = Date.now();
    await es.publishEvent('free', { event: 'message', data: 'goes' });
    await free.waitFor((c) => messages(c).length === 1, 'the free channel\'s event', WAIT);
    const waited = Date.now() - started;
    console.log(`the free channel's event waited ${waited} ms behind the stuck feed`);
    expect(waited).toBeLessThan(WAIT);
  }, 30_000);
});
