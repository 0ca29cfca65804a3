import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { RawClient } from '../support/raw.js';
import { startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { pollUntil } from '../support/wait.js';

// Fan-out between channels: who gets what, how stats count it, and that connections that
// come and go leave nothing behind.

afterEach(runCleanups);

async function serve(es: EventStream): Promise<{ url: string; port: number }> {
  const app = express();
  app.get('/one/:ch', es('{ch}'));
  app.get('/both', es('a', 'b'));
  app.get('/dup', es('a', 'a', ' a ', 'b', 'a'));
  app.get('/dup-builder', es(() => ['x', 'x', 'y', 'x']));
  return startApp(app);
}

describe('channel isolation', () => {
  it("a client on 'a' never gets 'b' events; a client on both gets both, in publish order", async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    const onA = await connectSse(`${url}/one/a`, { types: ['m'] });
    const onB = await connectSse(`${url}/one/b`, { types: ['m'] });
    const onBoth = await connectSse(`${url}/both`, { types: ['m'] });
    const sequence = ['b1', 'a1', 'b2', 'b3', 'a2', 'a-end', 'b-end'];
    for (const tag of sequence) await es.publishEvent(tag.startsWith('a') ? 'a' : 'b', { event: 'm', data: tag });
    // Each stream is ordered, so once the last event of a channel arrived, every earlier
    // event that was going to reach that client has arrived too.
    await onA.until((ev) => ev.some((e) => e.data === '"a-end"'), 'a-end on a');
    await onB.until((ev) => ev.some((e) => e.data === '"b-end"'), 'b-end on b');
    await onBoth.until((ev) => ev.some((e) => e.data === '"b-end"'), 'b-end on both');
    expect(onA.of('m').map((e) => JSON.parse(e.data))).toEqual(['a1', 'a2', 'a-end']);
    expect(onB.of('m').map((e) => JSON.parse(e.data))).toEqual(['b1', 'b2', 'b3', 'b-end']);
    expect(onBoth.of('m').map((e) => JSON.parse(e.data))).toEqual(sequence);
  });

  it('a publish to a channel nobody listens to reaches nobody and is still counted', async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    const client = await connectSse(`${url}/one/a`, { types: ['m'] });
    await es.publishEvent('nobody', { event: 'm', data: 'lost' });
    await es.publishEvent('a', { event: 'm', data: 'mine' });
    await client.nextEvent('m');
    expect(client.of('m').map((e) => e.data)).toEqual(['"mine"']);
    expect(es.stats().eventsPublished).toBe(2);
  });

  it('channel names are matched exactly (case, prefixes), after trimming', async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    const client = await connectSse(`${url}/one/news`, { types: ['m'] });
    await es.publishEvent('News', { event: 'm', data: 1 });
    await es.publishEvent('news2', { event: 'm', data: 2 });
    await es.publishEvent('new', { event: 'm', data: 3 });
    await es.publishEvent('  news  ', { event: 'm', data: 4 });
    await client.nextEvent('m');
    expect(client.of('m').map((e) => e.data)).toEqual(['4']);
  });

  it('two independent EventStreams do not share channels', async () => {
    const es1 = track(new EventStream());
    const es2 = track(new EventStream());
    const { url } = await serve(es1);
    const client = await connectSse(`${url}/one/a`, { types: ['m'] });
    await es2.publishEvent('a', { event: 'm', data: 'other instance' });
    await es1.publishEvent('a', { event: 'm', data: 'this instance' });
    await client.nextEvent('m');
    expect(client.of('m').map((e) => e.data)).toEqual(['"this instance"']);
  });
});

describe('duplicate channels', () => {
  it.each([
    ['the argument list', '/dup', ['a', 'b']],
    ['a builder result', '/dup-builder', ['x', 'y']],
  ])('duplicates in %s give one subscription and one copy of each event', async (_what, path, channels) => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    const client = await connectSse(`${url}${path}`, { types: ['m'] });
    expect(es.stats().channels).toEqual(Object.fromEntries(channels.map((c) => [c, 1])));
    await es.publishEvent(channels[0]!, { event: 'm', data: 1 });
    await es.publishEvent(channels[0]!, { event: 'm', data: 2 });
    await es.publishEvent(channels[1]!, { event: 'm', data: 3 });
    await client.until((ev) => ev.some((e) => e.data === '3'), 'the last event');
    expect(client.of('m').map((e) => e.data)).toEqual(['1', '2', '3']);
  });
});

describe('stats', () => {
  it('counts connections, per-channel subscribers and their sum', async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    expect(es.stats()).toEqual({ connections: 0, heldStreams: 0, subscribers: 0, channels: {}, eventsPublished: 0, clientsDropped: 0 });
    const a = await connectSse(`${url}/one/a`);
    await connectSse(`${url}/both`);
    await connectSse(`${url}/one/c`);
    expect(es.stats()).toMatchObject({ connections: 3, subscribers: 4, channels: { a: 2, b: 1, c: 1 } });
    a.close();
    await pollUntil(() => es.stats().connections === 2, 5000, 'the closed client to be removed');
    expect(es.stats()).toMatchObject({ connections: 2, subscribers: 3, channels: { a: 1, b: 1, c: 1 } });
  });
});

describe('churn', () => {
  it('1,000 connect/disconnect cycles leave no connection and no subscriber behind', async () => {
    const es = track(new EventStream({ keepAliveInterval: 60_000 }));
    const { port } = await serve(es);
    const BATCH = 100;
    for (let round = 0; round < 1000 / BATCH; round++) {
      const clients = await Promise.all(
        Array.from({ length: BATCH }, (_, i) =>
          RawClient.get(port, { path: i % 2 === 0 ? `/one/c${i % 7}` : '/both' }),
        ),
      );
      // Half wait until they are subscribed, half hang up as soon as the request is out.
      await Promise.all(clients.filter((_, i) => i % 4 !== 3).map((c) => c.waitForEvents(1)));
      for (const c of clients) c.destroy();
    }
    await pollUntil(() => es.stats().connections === 0, 10_000, `connections to drain (${JSON.stringify(es.stats())})`);
    expect(es.stats()).toMatchObject({ connections: 0, subscribers: 0, channels: {} });
    // The bus still works afterwards.
    const { url } = { url: `http://127.0.0.1:${port}` };
    const client = await connectSse(`${url}/one/after`, { types: ['m'] });
    await es.publishEvent('after', { event: 'm', data: 'ok' });
    expect((await client.nextEvent('m')).data).toBe('"ok"');
    expect(es.stats().connections).toBe(1);
  });

  it('EventSource clients closing in bulk are all removed', async () => {
    const es = track(new EventStream());
    const { url } = await serve(es);
    const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => connectSse(`${url}/one/c${i % 5}`)));
    expect(es.stats().connections).toBe(50);
    expect(es.stats().subscribers).toBe(50);
    for (const c of clients) c.close();
    await pollUntil(() => es.stats().connections === 0, 5000, 'connections to drain');
    expect(es.stats().subscribers).toBe(0);
  });
});
