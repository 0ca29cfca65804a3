import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelPublisher,
  EventStream,
  HistoryError,
  InvalidEventError,
  MemoryHistory,
  type HistoryStore,
  type ServerSentEvent,
} from '../../src/index.js';
import { runCleanups, track } from '../support/cleanup.js';
import { FRAMEWORKS } from '../support/frameworks.js';
import { RawClient } from '../support/raw.js';
import { startApp } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { withTimeout } from '../support/wait.js';

// The three publishing paths of the reference (publishEvent, ChannelPublisher, Writable),
// each seen by a real client, on Express 5 and Express 4.

afterEach(runCleanups);

function writeWithCallback(writable: Writable, event: ServerSentEvent): Promise<void> {
  return new Promise((resolve, reject) => writable.write(event, (err) => (err ? reject(err) : resolve())));
}

describe.each(FRAMEWORKS)('publishing on $name', ({ create }) => {
  async function serve(): Promise<{ es: EventStream; url: string; port: number }> {
    const es = track(new EventStream());
    const app = create();
    app.get('/e/:ch', es('{ch}'));
    const { url, port } = await startApp(app);
    return { es, url, port };
  }

  it('publishEvent(ch, {event, data}): event name is the SSE type, data is JSON.stringify(data)', async () => {
    const { es, url } = await serve();
    const client = await connectSse(`${url}/e/ch`, { types: ['update', 'other'] });
    const payloads: unknown[] = [
      { name: 'John' },
      'text with\nnewline and "quotes"',
      42,
      null,
      [1, 'two', { three: 3 }],
      { unicode: 'ünïcødé ✓ 🎉', nested: { deep: [true, false] } },
      '',
    ];
    for (const data of payloads) await es.publishEvent('ch', { event: 'update', data });
    await es.publishEvent('ch', { event: 'other', data: 'other type' });
    for (const data of payloads) expect((await client.nextEvent('update')).data).toBe(JSON.stringify(data));
    expect((await client.nextEvent('other')).data).toBe('"other type"');
    expect(client.of('update')).toHaveLength(payloads.length);
  });

  it('publishEvent resolves only after the event is counted as published', async () => {
    const { es, url } = await serve();
    await connectSse(`${url}/e/ch`);
    const before = es.stats().eventsPublished;
    const done = es.publishEvent('ch', { event: 'm', data: 1 });
    await done;
    expect(es.stats().eventsPublished).toBe(before + 1);
  });

  it('data undefined is sent as empty data', async () => {
    const { es, url } = await serve();
    const client = await connectSse(`${url}/e/ch`, { types: ['ping'] });
    await es.publishEvent('ch', { event: 'ping' });
    expect((await client.nextEvent('ping')).data).toBe('');
  });

  it('getChannelPublisher returns the same object per channel and publishes to it', async () => {
    const { es, url } = await serve();
    const client = await connectSse(`${url}/e/test`, { types: ['message'] });
    const publisher = es.getChannelPublisher('test');
    expect(publisher).toBeInstanceOf(ChannelPublisher);
    expect(es.getChannelPublisher('test')).toBe(publisher);
    expect(es.getChannelPublisher('other')).not.toBe(publisher);
    await publisher.publishEvent({ event: 'message', data: { name: 'Alice' } });
    await publisher.publishEvent({ event: 'message', data: { name: 'Bob' } });
    expect((await client.nextEvent('message')).data).toBe('{"name":"Alice"}');
    expect((await client.nextEvent('message')).data).toBe('{"name":"Bob"}');
  });

  it('publishEvents (instance and publisher) deliver a batch in order', async () => {
    const { es, url } = await serve();
    const client = await connectSse(`${url}/e/b`, { types: ['a', 'b'] });
    await es.publishEvents('b', [
      { event: 'a', data: 1 },
      { event: 'b', data: 2 },
    ]);
    await es.getChannelPublisher('b').publishEvents([
      { event: 'a', data: 3 },
      { event: 'b', data: 4 },
    ]);
    await client.until((events) => events.filter((e) => e.type !== 'stream-open').length >= 4, '4 events');
    expect(client.events.slice(1).map((e) => `${e.type}:${e.data}`)).toEqual(['a:1', 'b:2', 'a:3', 'b:4']);
  });

  it.each([
    ['es.createChannelWritable(ch)', (es: EventStream) => es.createChannelWritable('w')],
    ['publisher.createWritable()', (es: EventStream) => es.getChannelPublisher('w').createWritable()],
  ])('%s is an object-mode Writable whose writes reach clients', async (_name, make) => {
    const { es, url } = await serve();
    const client = await connectSse(`${url}/e/w`, { types: ['message'] });
    const writable = make(es);
    expect(writable).toBeInstanceOf(Writable);
    expect(writable.writableObjectMode).toBe(true);
    writable.write({ event: 'message', data: { baz: ['hi', 'ho', 'hello'] } });
    writable.write({ event: 'message', data: 2 });
    writable.end();
    await withTimeout(
      new Promise((resolve, reject) => writable.on('finish', resolve).on('error', reject)),
      5000,
      'finish',
    );
    expect((await client.nextEvent('message')).data).toBe('{"baz":["hi","ho","hello"]}');
    expect((await client.nextEvent('message')).data).toBe('2');
  });

  it('pipeline of 5,000 events into a channel writable: all arrive, in order', async () => {
    const { es, port } = await serve();
    const raw = await RawClient.get(port, { path: '/e/bulk' });
    await raw.waitForEvents(1);
    expect(es.stats().channels).toEqual({ bulk: 1 });
    const N = 5000;
    const before = es.stats().eventsPublished;
    function* source(): Generator<ServerSentEvent> {
      for (let i = 0; i < N; i++) yield { event: 'n', data: { i } };
    }
    await withTimeout(pipeline(Readable.from(source()), es.createChannelWritable('bulk')), 10_000, 'pipeline');
    // The writable's callbacks fire after local delivery, so by now every event was published.
    expect(es.stats().eventsPublished - before).toBe(N);
    await raw.waitForEvents(N + 1, 10_000);
    const got = raw.events.slice(1);
    expect(got).toHaveLength(N);
    for (let i = 0; i < N; i++) {
      if (got[i]!.event !== 'n' || got[i]!.data !== JSON.stringify({ i })) {
        throw new Error(`event #${i} is ${JSON.stringify(got[i])}`);
      }
    }
  });

  it('a write callback fires only once its event has been delivered (counted and, later, received)', async () => {
    const { es, port } = await serve();
    const raw = await RawClient.get(port, { path: '/e/cb' });
    await raw.waitForEvents(1);
    const writable = es.createChannelWritable('cb');
    const base = es.stats().eventsPublished;
    const publishedAtCallback: number[] = [];
    for (let i = 0; i < 20; i++) {
      await writeWithCallback(writable, { event: 'k', data: i });
      publishedAtCallback.push(es.stats().eventsPublished - base);
    }
    expect(publishedAtCallback).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await raw.waitForEvents(21);
    expect(raw.events.slice(1).map((e) => e.data)).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('write() returns false past the highWaterMark and "drain" follows; nothing is lost', async () => {
    const { es, port } = await serve();
    const raw = await RawClient.get(port, { path: '/e/hwm' });
    await raw.waitForEvents(1);
    const writable = es.createChannelWritable('hwm');
    const hwm = writable.writableHighWaterMark;
    expect(hwm).toBeGreaterThan(0);
    const total = hwm * 3;
    const returns: boolean[] = [];
    // Synchronous writes: delivery is asynchronous, so they queue up in the Writable.
    for (let i = 0; i < total; i++) returns.push(writable.write({ event: 'h', data: i }));
    const firstFalse = returns.indexOf(false);
    expect(firstFalse).toBeGreaterThan(0);
    expect(firstFalse).toBeLessThanOrEqual(hwm);
    expect(returns.slice(firstFalse).every((r) => r === false)).toBe(true);
    await withTimeout(new Promise((resolve) => writable.once('drain', resolve)), 5000, 'drain');
    await raw.waitForEvents(total + 1);
    expect(raw.events.slice(1).map((e) => Number(e.data))).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('an invalid event in a piped stream fails the pipeline with the typed error', async () => {
    const { es } = await serve();
    const events: ServerSentEvent[] = [
      { event: 'ok', data: 1 },
      { event: 'bad\nname', data: 2 },
    ];
    await expect(pipeline(Readable.from(events), es.createChannelWritable('p'))).rejects.toMatchObject({
      code: 'ERR_INVALID_EVENT',
    });
  });
});

describe('one publish call is all or nothing', () => {
  it('a history store that fails the batch: the call rejects typed and no client sees any of it', async () => {
    // The store dies after keeping 1,000 events, as a Redis killed mid-batch would.
    let room = Infinity;
    const inner = new MemoryHistory();
    const store: HistoryStore = {
      append: (channel, inputs) => {
        if (inputs.length > room) throw new Error('store down');
        room -= inputs.length;
        return inner.append(channel, inputs);
      },
      readAfter: (channels, lastEventId) => inner.readAfter(channels, lastEventId),
    };
    const es = track(new EventStream({ history: store }));
    const app = FRAMEWORKS[0]!.create();
    app.get('/e', es('ch'));
    const { port } = await startApp(app);
    const raw = await RawClient.get(port, { path: '/e' });
    await raw.waitForEvents(1); // stream-open
    room = 1000;
    const batch = Array.from({ length: 3000 }, (_, i) => ({ event: 'm', data: i }));
    await expect(es.publishEvents('ch', batch)).rejects.toBeInstanceOf(HistoryError);
    room = Infinity;
    await es.publishEvent('ch', { event: 'after', data: 'x' });
    await raw.waitForEvents(2);
    expect(raw.events.map((e) => e.event)).toEqual(['stream-open', 'after']);
    expect(es.stats().eventsPublished).toBe(1);
  });

  it('publishEvents with a non-array is a typed error', async () => {
    const es = track(new EventStream());
    await expect(es.publishEvents('ch', null as unknown as ServerSentEvent[])).rejects.toBeInstanceOf(InvalidEventError);
  });
});
