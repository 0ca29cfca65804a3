import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, HistoryError } from '../../src/index.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { Listener, within } from '../support/pushpin/origin.js';
import { startReliablePair, type ReliablePair } from '../support/pushpin/reliable-pair.js';

// Several instances behind a real Pushpin, sharing history in a real Redis, in GRIP
// reliable mode. Pushpin's message_wait is cut to 300 ms so gap recovery shows quickly.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Cluster extends ReliablePair {
  redis: RedisInstance;
}

async function cluster(retry = 200): Promise<Cluster> {
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const pair = await startReliablePair({ redis: redis.url, keyPrefix: `t-${randomUUID()}:` }, (...steps) => cleanups.push(...steps), retry);
  return { redis, ...pair };
}

function listen(port: number, path: string): Listener {
  const listener = new Listener(`http://127.0.0.1:${port}${path}`);
  cleanups.push(() => listener.close());
  return listener;
}

const opened = (events: { type: string }[]): boolean => events.some((e) => e.type === 'stream-open');
const data = (listener: Listener): unknown[] => listener.of('m').map((e) => JSON.parse(e.data));

describe.runIf(requirePushpin() && requireRedis())('many instances: reliable GRIP + shared Redis history', () => {
  it('Pushpin recovers a gap from the shared history, through any instance', async () => {
    const { a, b, pushpin, options } = await cluster();
    const client = listen(pushpin.httpPort, '/events/r');
    await client.until(opened, 5000, 'open');
    await a.eventStream.publishEvent('r', { event: 'm', data: 1 });
    await client.until((e) => e.some((x) => x.type === 'm'), 5000, 'first event');

    // An instance whose publish never reached the proxy: the event is in the shared history only.
    const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
    cleanups.push(() => lost.close());
    await expect(lost.publishEvent('r', { event: 'm', data: 2 })).rejects.toBeInstanceOf(GripPublishError);

    // The next publish names event 2 as its prev-id: Pushpin sees the gap and fetches it.
    await b.eventStream.publishEvent('r', { event: 'm', data: 3 });
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 3, 8000, 'gap recovered');
    await b.eventStream.publishEvent('r', { event: 'm', data: 4 });
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 4, 5000, 'live after recovery');
    expect(data(client)).toEqual([1, 2, 3, 4]);
    expect(client.of('history-truncated')).toEqual([]);
  });

  it('Pushpin killed mid-stream: publishes fail typed, clients come back through the new Pushpin with nothing lost or doubled', async () => {
    // Clients wait 2.5 s before reconnecting, so the new Pushpin is warmed up (a fresh Pushpin
    // can lose its very first proxied response, and EventSource gives up on a non-200).
    const { a, b, pushpin, httpPort, publishPort } = await cluster(2500);
    const clients = [listen(httpPort, '/events/k'), listen(httpPort, '/multi')];
    for (const client of clients) await client.until(opened, 5000, 'open');
    await a.eventStream.publishEvent('k', { event: 'm', data: 'k1' });
    await a.eventStream.publishEvent('a', { event: 'm', data: 'a1' });
    await clients[0]!.until((e) => e.some((x) => x.type === 'm'), 5000, 'k1');
    await clients[1]!.until((e) => e.some((x) => x.type === 'm'), 5000, 'a1');

    await pushpin.kill();
    await expect(b.eventStream.publishEvent('k', { event: 'm', data: 'k2' })).rejects.toBeInstanceOf(GripPublishError);
    await expect(b.eventStream.publishEvent('b', { event: 'm', data: 'b1' })).rejects.toBeInstanceOf(GripPublishError);
    // The instance that served them is gone too: the reconnect is answered by B.
    await a.close();

    const again = await startPushpin({ originPort: b.port, httpPort, publishPort, messageWait: 300 });
    cleanups.push(() => again.stop());
    await again.waitForOrigin('/events/warmup');
    await clients[0]!.until((e) => e.filter((x) => x.type === 'm').length >= 2, 15_000, 'k2 replayed on reconnect');
    await clients[1]!.until((e) => e.filter((x) => x.type === 'm').length >= 2, 15_000, 'b1 replayed on reconnect');
    await b.eventStream.publishEvent('k', { event: 'm', data: 'k3' });
    await b.eventStream.publishEvent('b', { event: 'm', data: 'b2' });
    await clients[0]!.until((e) => e.filter((x) => x.type === 'm').length >= 3, 5000, 'k3 live');
    await clients[1]!.until((e) => e.filter((x) => x.type === 'm').length >= 3, 5000, 'b2 live');
    expect(data(clients[0]!)).toEqual(['k1', 'k2', 'k3']);
    expect(data(clients[1]!)).toEqual(['a1', 'b1', 'b2']);
    for (const client of clients) expect(client.of('history-truncated')).toEqual([]);
  });

  it('a reconnect with Last-Event-ID through Pushpin replays what another instance published', async () => {
    const { a, b, pushpin } = await cluster();
    await a.eventStream.publishEvent('h', { event: 'm', data: 'h1', id: 'h-1' });
    await a.eventStream.publishEvent('h', { event: 'm', data: 'h2' });
    await b.eventStream.publishEvent('h', { event: 'm', data: 'h3' });
    await a.close(); // B answers
    const res = await within(
      fetch(`http://127.0.0.1:${pushpin.httpPort}/events/h`, { headers: { Accept: 'text/event-stream', 'Last-Event-ID': 'h-1' } }),
      5000,
      'resume through pushpin',
    );
    const reader = res.body!.getReader();
    let text = '';
    await within(
      (async () => {
        while (!text.includes('h3')) text += new TextDecoder().decode((await reader.read()).value);
      })(),
      5000,
      'replay body',
    );
    await reader.cancel();
    expect(text).toMatch(/^retry: 200\n\nevent: stream-open\ndata: \n\nid: \d+\nevent: m\ndata: "h2"\n\nid: \d+\nevent: m\ndata: "h3"\n\n/);
  });

  it('one origin instance killed: clients of the others, and those Pushpin holds, are untouched', async () => {
    const { a, b, pushpin } = await cluster();
    const held = listen(pushpin.httpPort, '/events/u');
    const directToB = listen(b.port, '/events/u');
    const directToA = listen(a.port, '/events/u');
    for (const client of [held, directToB, directToA]) await client.until(opened, 5000, 'open');
    expect(a.holds).toBe(1); // Pushpin's first target served the held client

    await a.close(); // A dies: its own direct client loses its connection, nobody else does
    await b.eventStream.publishEvent('u', { event: 'm', data: 'after A died' });
    await held.until((e) => e.some((x) => x.type === 'm'), 5000, 'held client');
    await directToB.until((e) => e.some((x) => x.type === 'm'), 5000, 'B client');
    expect(data(held)).toEqual(['after A died']);
    expect(data(directToB)).toEqual(['after A died']);
    expect(data(directToA)).toEqual([]);
  });

  it('Redis restarted: publishes fail typed while it is down and work again after', async () => {
    const { a, redis, pushpin } = await cluster();
    const client = listen(pushpin.httpPort, '/events/z');
    await client.until(opened, 5000, 'open');
    await a.eventStream.publishEvent('z', { event: 'm', data: 1 });
    await redis.kill();
    const failure = await a.eventStream.publishEvent('z', { event: 'm', data: 'lost' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HistoryError);
    expect((failure as HistoryError).code).toBe('ERR_HISTORY');
    const back = await startRedis(redis.port);
    cleanups.push(() => back.stop());
    // Pushpin's recovery request may reach either instance, and one whose Redis link is still
    // reconnecting cannot read the gap yet: it renews the hold and the proxy asks again
    // (test/pushpin/recovery.test.ts).
    await within(
      (async () => {
        for (;;) {
          try {
            await a.eventStream.publishEvent('z', { event: 'm', data: 2 });
            return;
          } catch (err) {
            if (!(err instanceof HistoryError)) throw err;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      })(),
      5000,
      'publish after redis restart',
    );
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 2, 8000, 'event after redis restart');
    expect(data(client)).toEqual([1, 2]);
  });
});
