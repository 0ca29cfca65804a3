import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { Listener, startOrigin, type Origin } from '../support/pushpin/origin.js';
import { runCleanups, track } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { requireRedis, useRedis } from '../support/redis.js';
import { pollUntil } from '../support/wait.js';

// Redis and GRIP together: one publish reaches the clients Pushpin holds (sent once, by the
// publishing process) and the direct clients of every instance (through Redis).

const ready = requireRedis() && requirePushpin();
const WAIT = 15_000;

describe.runIf(ready)('Redis engine with a real Pushpin in front', () => {
  const redis = useRedis();
  afterEach(runCleanups);

  it('a job publish reaches Pushpin clients once and every instance direct clients once, in one order', async () => {
    const keyPrefix = `g-${randomUUID()}:`;
    const [httpPort, publishPort] = await freePortPair();
    const grip = `http://127.0.0.1:${publishPort}/`;
    const options = { grip, redis: { url: redis.url, keyPrefix } };
    const origins: Origin[] = [];
    for (const name of ['A', 'B']) {
      const origin = await startOrigin(name, options);
      track(origin);
      origins.push(origin);
    }
    const pushpin = await startPushpin({
      originPort: origins[0]!.port,
      origins: origins.map((o) => o.port),
      httpPort,
      publishPort,
    });
    track({ close: () => pushpin.stop() });
    await pushpin.waitForOrigin('/events/warmup');

    const viaProxy = track(new ListenerCloser(`http://127.0.0.1:${httpPort}/events/news`)).listener;
    const directA = track(new ListenerCloser(`http://127.0.0.1:${origins[0]!.port}/events/news`)).listener;
    const directB = track(new ListenerCloser(`http://127.0.0.1:${origins[1]!.port}/events/news`)).listener;
    const opened = (events: { type: string }[]) => events.some((e) => e.type === 'stream-open');
    await Promise.all([viaProxy, directA, directB].map((l) => l.until(opened, WAIT, 'stream-open')));
    await pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${keyPrefix}{news}:p`).endsWith('2'), WAIT, 'both subscribed');
    // Pushpin subscribes once the hold is in place: the held client counts as a connection.
    await pollUntil(() => origins.some((o) => o.holds > 0), WAIT, 'a hold');

    const job = track(new EventStream(options));
    for (let i = 0; i < 10; i++) await job.publishEvent('news', { event: 'm', data: i });
    await origins[1]!.eventStream.publishEvents('news', [{ event: 'm', data: 10 }, { event: 'm', data: 11 }]);
    const all = Array.from({ length: 12 }, (_, i) => String(i));
    for (const listener of [viaProxy, directA, directB]) {
      await listener.until((events) => events.filter((e) => e.type === 'm').length >= 12, WAIT, '12 events');
    }
    for (const listener of [viaProxy, directA, directB]) expect(listener.of('m').map((e) => e.data)).toEqual(all);
    // The same ids everywhere: one history, one order.
    expect(directA.of('m').map((e) => e.id)).toEqual(viaProxy.of('m').map((e) => e.id));
    expect(directB.of('m').map((e) => e.id)).toEqual(viaProxy.of('m').map((e) => e.id));
  });
});

class ListenerCloser {
  readonly listener: Listener;
  constructor(url: string) {
    this.listener = new Listener(url, ['m']);
  }
  async close(): Promise<void> {
    this.listener.close();
  }
}
