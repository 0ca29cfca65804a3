/**
 * Reliable mode through a real Pushpin: a quiet channel's `last-id=-` is its start, not an
 * unknown id, with the in-memory and the Redis store; a channel named in UTF-8 is held and
 * delivered. (Found in the request-side review, issue 16.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, type EventStreamOptions } from '../../src/index.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { ownRedisHistory, requireRedis } from '../support/redis.js';
import { Listener, startOrigin } from '../support/pushpin/origin.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type HistoryFactory = () => Promise<EventStreamOptions['history']>;

const stores: Array<[string, HistoryFactory]> = [
  // One store object shared by both EventStreams stands for a history every instance sees.
  ['memory', async () => new MemoryHistory()],
];
if (requireRedis()) {
  stores.push([
    'redis',
    () => ownRedisHistory((step) => cleanups.push(step)),
  ]);
}

async function behindPushpin(history: EventStreamOptions['history']) {
  const [httpPort, publishPort] = await freePortPair();
  const options: EventStreamOptions = {
    // The harness's Pushpin signs Grip-Sig with sig_key=changeme, sig_iss=pushpin.
    grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
    gripReliable: true,
    history,
    retry: 200,
  };
  const origin = await startOrigin('A', options);
  cleanups.push(() => origin.close());
  const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
  cleanups.push(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  // An instance whose publishes never reach the proxy: its events are in the history only.
  const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
  cleanups.push(() => lost.close());
  return { origin, pushpin, lost };
}

function listen(url: string): Listener {
  const listener = new Listener(url);
  cleanups.push(() => listener.close());
  return listener;
}

const opened = (events: { type: string }[]): boolean => events.some((e) => e.type === 'stream-open');
const data = (listener: Listener): unknown[] => listener.of('m').map((e) => JSON.parse(e.data));

describe.runIf(requirePushpin())('reliable mode through Pushpin: quiet channels and UTF-8 names', () => {
  it.each(stores)('%s: a gap on a channel that was quiet at the hold is recovered from its start, without history-truncated', async (_name, history) => {
    const { origin, pushpin, lost } = await behindPushpin(await history());
    // Both channels are empty when Pushpin starts holding: the hold says prev-id=- for each.
    const client = listen(`http://127.0.0.1:${pushpin.httpPort}/multi`);
    await client.until(opened, 5000, 'open');

    await expect(lost.publishEvent('a', { event: 'm', data: 'a1' })).rejects.toBeInstanceOf(GripPublishError);
    // a2 names a1 as its prev-id: Pushpin fetches the next link with
    // `Grip-Last: events-a; last-id=-, events-b; last-id=-`.
    await origin.eventStream.publishEvent('a', { event: 'm', data: 'a2' });
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 2, 8000, 'gap recovered');
    await origin.eventStream.publishEvent('b', { event: 'm', data: 'b1' });
    await client.until((e) => e.filter((x) => x.type === 'm').length >= 3, 5000, 'quiet channel live');
    expect(data(client)).toEqual(['a1', 'a2', 'b1']);
    expect(client.of('history-truncated')).toEqual([]);
  }, 30_000);

  it('a channel named in UTF-8 (café) is held and delivered', async () => {
    const { origin, pushpin } = await behindPushpin(new MemoryHistory());
    const client = listen(`http://127.0.0.1:${pushpin.httpPort}/events/${encodeURIComponent('café')}`);
    await client.until(opened, 5000, 'open');
    expect(origin.holds).toBe(1);
    await origin.eventStream.publishEvent('café', { event: 'm', data: 'crème' });
    await client.until((e) => e.some((x) => x.type === 'm'), 5000, 'event on café');
    expect(data(client)).toEqual(['crème']);
  }, 30_000);
});
