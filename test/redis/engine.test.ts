import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { EventStream, HISTORY_TRUNCATED_EVENT, InvalidConfigError, RedisTimeoutError } from '../../src/index.js';
import { defer, runCleanups, track } from '../support/cleanup.js';
import { POSITION_SCRIPT } from '../../src/redis/scripts/position.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { startHttp } from '../support/server.js';
import { connectSse, type SseClient } from '../support/sse.js';
import { pollUntil, Waiters } from '../support/wait.js';

// The Redis engine with several EventStreams (instances) in one process, each with its own HTTP
// server and clients, sharing one real redis-server; faults are real: CLIENT KILL, SIGSTOP,
// SIGKILL and restarts. test/redis/processes.test.ts runs the same flow as separate processes.

const hasRedis = requireRedis();
const WAIT = 10_000;

describe.runIf(hasRedis)('Redis engine: many instances', () => {
  let prefix: string;
  const redis = useRedis({ persistent: true });
  afterEach(runCleanups);

  // Generous timeouts: a loaded CI machine with fsync on every write is slow; the frozen test picks its own.
  async function instance(commandTimeout = 5000, client?: Redis): Promise<{ es: EventStream; url: string }> {
    const target = client === undefined ? { url: redis.url } : { client };
    const es = track(
      new EventStream({ redis: { ...target, keyPrefix: prefix, commandTimeout }, retry: 100, history: { maxEvents: 5000 } }),
    );
    const server = await startHttp((req, res) => {
      const channels = new URL(req.url!, 'http://x').pathname.slice(1).split(',');
      void es(channels)(req, res);
    });
    return { es, url: server.url };
  }

  function job(): EventStream {
    return track(new EventStream({ redis: { url: redis.url, keyPrefix: prefix, commandTimeout: 5000 } }));
  }

  const datas = (client: SseClient) => client.of('message').map((e) => e.data);
  const received = (client: SseClient, n: number) =>
    client.until((events) => events.filter((e) => e.type === 'message').length >= n, `${n} messages`, WAIT);
  const subscribed = () => redis.cli('PUBSUB', 'CHANNELS', `${prefix}*`).split('\n').filter(Boolean).sort();

  it('delivers every publish, from any instance or a job process, to every client once, in one order', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const b = await instance();
    const publisher = job();
    const clients = await Promise.all([
      connectSse(`${a.url}/room`),
      connectSse(`${a.url}/room`),
      connectSse(`${b.url}/room`),
      connectSse(`${b.url}/room`),
    ]);
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      sends.push(a.es.publishEvent('room', { event: 'message', data: `a${i}` }));
      sends.push(b.es.publishEvent('room', { event: 'message', data: `b${i}` }));
      sends.push(publisher.publishEvents('room', [{ event: 'message', data: `j${i}.0` }, { event: 'message', data: `j${i}.1` }]));
    }
    await Promise.all(sends);
    await Promise.all(clients.map((client) => received(client, 80)));
    const order = datas(clients[0]!);
    expect(new Set(order).size).toBe(80);
    for (const client of clients) expect(datas(client)).toEqual(order);
    // Each publisher's own events keep their order, and a batch stays together.
    expect(order.filter((d) => d.startsWith('"a'))).toEqual(Array.from({ length: 20 }, (_, i) => `"a${i}"`));
    for (let i = 0; i < 20; i++) expect(order.indexOf(`"j${i}.1"`)).toBe(order.indexOf(`"j${i}.0"`) + 1);
    // A client resumes on the other instance from an id the first one gave it.
    const resumeFrom = clients[0]!.of('message')[39]!.lastEventId;
    const resumed = await connectSse(`${b.url}/room`, { headers: { 'Last-Event-ID': resumeFrom } });
    await received(resumed, 40);
    expect(datas(resumed)).toEqual(order.slice(40));
    expect(resumed.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
  });

  it('a stream on several channels sees publish order across them, wherever they were published', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const b = await instance();
    const client = await connectSse(`${a.url}/x,y`);
    await pollUntil(() => subscribed().length === 2, WAIT, 'both channels subscribed');
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 30; i++) {
      sends.push(a.es.publishEvent(i % 2 === 0 ? 'x' : 'y', { event: 'message', data: `a${i}` }));
      sends.push(b.es.publishEvent(i % 3 === 0 ? 'x' : 'y', { event: 'message', data: `b${i}` }));
    }
    await Promise.all(sends);
    await received(client, 60);
    const ids = client.of('message').map((e) => Number(e.lastEventId));
    // The one Last-Event-ID a browser keeps resumes such a stream only if ids only grow.
    expect(ids).toEqual([...ids].sort((p, q) => p - q));
    expect(new Set(ids).size).toBe(60);
  });

  it('subscribes in Redis only to the channels its clients listen on, and lets go of the last', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const publisher = job();
    await publisher.publishEvent('quiet', { event: 'message', data: 1 });
    expect(subscribed()).toEqual([]);
    const one = await connectSse(`${a.url}/one`);
    const two = await connectSse(`${a.url}/two`);
    const twoAgain = await connectSse(`${a.url}/two`);
    await pollUntil(() => subscribed().length === 2, WAIT, 'two subscriptions');
    expect(subscribed()).toEqual([`${prefix}{one}:p`, `${prefix}{two}:p`]);
    two.close();
    await pollUntil(() => a.es.stats().subscribers === 2, WAIT, 'one client of two gone');
    expect(subscribed()).toEqual([`${prefix}{one}:p`, `${prefix}{two}:p`]);
    twoAgain.close();
    await pollUntil(() => subscribed().length === 1, WAIT, 'two unsubscribed');
    expect(subscribed()).toEqual([`${prefix}{one}:p`]);
    one.close();
    await pollUntil(() => subscribed().length === 0, WAIT, 'nothing subscribed');
  });

  it("a gap read answered before a channel's first publish and applied after that publish arrived live does not end the stream", async () => {
    prefix = `e-${randomUUID()}:`;
    // The instance's own connection, through which it reads the stream (the gap script:
    // 3 keys, then after-position and read=1). The feed's first read (sent once its
    // subscription is confirmed) runs in Redis at once, but its answer is handed over only
    // when released: a read answered before the channel's first publish, applied after that
    // publish reached the instance live, made certain.
    const real = new Redis(redis.url);
    real.on('error', () => undefined);
    defer(() => real.disconnect());
    // Loaded first, so that the held read is the EVALSHA itself (not a NOSCRIPT answer).
    await real.call('SCRIPT', 'LOAD', POSITION_SCRIPT);
    let holding = true;
    const held: Array<{ reply: Promise<unknown>; release(): void }> = [];
    const heldNow = new Waiters();
    let messages = 0;
    const call = real.call.bind(real) as (...args: Array<string | number>) => Promise<unknown>;
    const proxy = new Proxy(real, {
      get(target, prop) {
        if (prop === 'call') {
          return (...args: Array<string | number>) => {
            const gapRead = (args.length === 8 || args.length === 10) && Number(args[2]) === 3 && args[7] === '1';
            if (!gapRead || !holding) return call(...args);
            const reply = call(...args);
            reply.catch(() => undefined);
            return new Promise((resolve, reject) => {
              held.push({ reply, release: () => void reply.then(resolve, reject) });
              heldNow.notify();
            });
          };
        }
        if (prop === 'duplicate') {
          // The instance's subscriber connection: counts the messages that reached it.
          return () => {
            const subscriber = real.duplicate();
            subscriber.on('messageBuffer', () => {
              messages++;
              heldNow.notify();
            });
            return subscriber;
          };
        }
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const a = await instance(5000, proxy);
    const publisher = job();
    const client = await connectSse(`${a.url}/room`, { types: [HISTORY_TRUNCATED_EVENT] });
    // The feed's read, answered by Redis before the first publish of the channel (no epoch yet)...
    await heldNow.wait(() => held.length >= 1, WAIT, 'the feed read');
    await held[0]!.reply;
    await pollUntil(() => subscribed().length === 1, WAIT, 'subscribed');
    // ...while the first publish reaches the instance live (it waits for the read: one order).
    await publisher.publishEvent('room', { event: 'message', data: 'first' });
    await heldNow.wait(() => messages >= 1, WAIT, 'the live message');
    holding = false;
    for (const { release } of held.splice(0)) release();
    await received(client, 1);
    await publisher.publishEvent('room', { event: 'message', data: 'second' });
    await received(client, 2);
    expect(datas(client)).toEqual(['"first"', '"second"']);
    // Not taken for a wiped Redis: the stream stayed open, no resume.
    expect(client.opens).toBe(1);
    expect(client.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);
  });

  it('loses nothing when its Redis connections are killed (CLIENT KILL) while events are published', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const publisher = job();
    const client = await connectSse(`${a.url}/room`, { types: ['history-truncated'] });
    await pollUntil(() => subscribed().length === 1, WAIT, 'subscribed');
    await publisher.publishEvent('room', { event: 'message', data: 'before' });
    await received(client, 1);
    // Every subscriber link at once, then publishes while the instance reconnects.
    redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (let i = 0; i < 10; i++) await publisher.publishEvent('room', { event: 'message', data: `during${i}` });
    await received(client, 11);
    redis.cli('CLIENT', 'KILL', 'TYPE', 'normal');
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{room}:p`).endsWith('1'), WAIT, 'resubscribed');
    for (let i = 0; i < 5; i++) await retry(() => publisher.publishEvent('room', { event: 'message', data: `after${i}` }));
    await received(client, 16);
    expect(datas(client)).toEqual([
      '"before"',
      ...Array.from({ length: 10 }, (_, i) => `"during${i}"`),
      ...Array.from({ length: 5 }, (_, i) => `"after${i}"`),
    ]);
    // The stream stayed open throughout: no resume, no duplicate (a recheck answered before
    // the channel's first publish once ended it: see the test before this one).
    expect(client.opens).toBe(1);
    expect(client.of('history-truncated')).toHaveLength(0);
  });

  it('frozen Redis: a publish rejects within commandTimeout, no client gets it, streams carry on after', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance(1500);
    const b = await instance(1500);
    const [onA, onB] = await Promise.all([connectSse(`${a.url}/room`), connectSse(`${b.url}/room`)]);
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{room}:p`).endsWith('2'), WAIT, 'subscribed');
    await a.es.publishEvent('room', { event: 'message', data: 'before' });
    redis.freeze();
    let error: unknown;
    const started = Date.now();
    try {
      error = await a.es.publishEvent('room', { event: 'message', data: 'rejected' }).catch((err: unknown) => err);
    } finally {
      redis.thaw();
    }
    expect(error).toBeInstanceOf(RedisTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500 + 1000);
    await a.es.publishEvent('room', { event: 'message', data: 'after' });
    await Promise.all([received(onA, 2), received(onB, 2)]);
    for (const client of [onA, onB]) {
      expect(datas(client)).toEqual(['"before"', '"after"']);
      expect(client.opens).toBe(1);
    }
  });

  it('Redis restarted with its data: every accepted event arrives once; restarted empty: history-truncated', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const publisher = job();
    const client = await connectSse(`${a.url}/room`, { types: [HISTORY_TRUNCATED_EVENT] });
    await pollUntil(() => subscribed().length === 1, WAIT, 'subscribed');
    await publisher.publishEvent('room', { event: 'message', data: 'one' });
    await received(client, 1);

    await redis.restart({ keepData: true });
    await retry(() => publisher.publishEvent('room', { event: 'message', data: 'two' }));
    await publisher.publishEvent('room', { event: 'message', data: 'three' });
    await received(client, 3);
    expect(datas(client)).toEqual(['"one"', '"two"', '"three"']);
    expect(client.of(HISTORY_TRUNCATED_EVENT)).toEqual([]);

    await redis.restart({ keepData: false });
    // The instance finds the new epoch on reconnecting and ends the stream; the client resumes.
    await client.until((events) => events.some((e) => e.type === HISTORY_TRUNCATED_EVENT), 'history-truncated', WAIT);
    await pollUntil(() => subscribed().length === 1, WAIT, 'subscribed again');
    await retry(() => publisher.publishEvent('room', { event: 'message', data: 'four' }));
    await received(client, 4);
    expect(datas(client)).toEqual(['"one"', '"two"', '"three"', '"four"']);
    expect(client.opens).toBe(2);
  });

  // Issue 16, item 9: Redis killed during publishEvents(3000) must not leave half a batch.
  it('a batch is one step: Redis killed during publishEvents(3000) keeps and delivers all of it or none', async () => {
    prefix = `e-${randomUUID()}:`;
    const a = await instance();
    const b = await instance();
    const [onA, onB] = await Promise.all([connectSse(`${a.url}/room`), connectSse(`${b.url}/room`)]);
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{room}:p`).endsWith('2'), WAIT, 'subscribed');
    await a.es.publishEvent('room', { event: 'message', data: 'before' });
    await Promise.all([received(onA, 1), received(onB, 1)]);
    const events = Array.from({ length: 3000 }, (_, i) => ({ event: 'message', data: `${i}`.padEnd(200, '.') }));
    const outcome = a.es.publishEvents('room', events).then(
      () => 'kept',
      () => 'rejected',
    );
    // The publish is on its way: kill Redis (appendfsync always keeps what it answered).
    await new Promise((resolve) => setImmediate(resolve));
    await redis.restart({ keepData: true });
    const result = await outcome;
    await a.es.publishEvent('room', { event: 'message', data: 'after' }).catch(() =>
      retry(() => a.es.publishEvent('room', { event: 'message', data: 'after' })),
    );
    await Promise.all([onA, onB].map((client) => client.until((e) => e.some((x) => x.data === '"after"'), 'after', WAIT)));
    // The newest entry before 'after' tells whether the batch was kept (the stream is trimmed to maxEvents).
    const newest = redis.cli('XREVRANGE', `${prefix}{room}:s`, '+', '-', 'COUNT', '2');
    const kept = newest.includes(JSON.stringify(events[2999]!.data)) ? 3000 : 0;
    for (const client of [onA, onB]) {
      const got = datas(client);
      // Whatever Redis kept (all or nothing), each client has exactly that, once, in order.
      expect([2, 3002]).toContain(got.length);
      expect(got.length - 2).toBe(kept >= 3000 ? 3000 : 0);
      expect(got.slice(1, -1)).toEqual(got.length === 3002 ? events.map((e) => JSON.stringify(e.data)) : []);
    }
    if (result === 'kept') expect(kept).toBeGreaterThanOrEqual(3000);
  });

  it('takes an ioredis client (yours stays open) or { client, commandTimeout }', async () => {
    prefix = `e-${randomUUID()}:`;
    const mine = new Redis(redis.url);
    try {
      const serving = track(new EventStream({ redis: mine, history: { keyPrefix: prefix } }));
      const server = await startHttp((req, res) => void serving('room')(req, res));
      const client = await connectSse(`${server.url}/`);
      const publisher = track(new EventStream({ redis: { client: mine, commandTimeout: 1000, keyPrefix: prefix } }));
      await pollUntil(() => subscribed().length === 1, WAIT, 'subscribed');
      // Data of any bytes crosses Redis intact (the message frames by byte length).
      const data = { text: 'héllo: 12:ab 😀', nested: ['a:b', 'ü'] };
      await publisher.publishEvent('room', { event: 'message', data });
      await received(client, 1);
      expect(datas(client)).toEqual([JSON.stringify(data)]);
      await publisher.close();
      expect(await mine.ping()).toBe('PONG');
    } finally {
      mine.disconnect();
    }
  });

  it.each([
    ['history: false', { redis: 'redis://127.0.0.1:1', history: false as const }],
    ['history.redis too', { redis: 'redis://127.0.0.1:1', history: { redis: 'redis://127.0.0.1:1' } }],
    ['neither url nor client', { redis: {} }],
    ['a bad commandTimeout', { redis: { url: 'redis://127.0.0.1:1', commandTimeout: -1 } }],
  ])('refuses %s with InvalidConfigError', (_what, options) => {
    expect(() => new EventStream(options)).toThrow(InvalidConfigError);
  });
});

/** A publish right after a restart may find the connection still reconnecting: try again, bounded. */
async function retry(publish: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + WAIT;
  for (;;) {
    try {
      return await publish();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
