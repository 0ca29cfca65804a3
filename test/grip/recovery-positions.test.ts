import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { Auth } from '@fanoutio/grip';
import { EventStream, HISTORY_TRUNCATED_EVENT, MemoryHistory, type EventStreamOptions, type HistoryStore } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { acceptingProxy, cleanups, gripSig, ISS, KEY, oneShot, runRequestCleanups, serve, track } from '../support/origin-requests.js';
import { ownRedisHistory, requireRedis } from '../support/redis.js';

// The answer to a recovery request (one with Grip-Last) names the prev-ids its replay was read
// with, not whatever the store holds by the time the answer leaves; `last-id=-` (a channel the
// proxy has seen no event of) is read as the channel's start. (The same recovery through a
// real Pushpin, with Redis frozen: test/pushpin/recovery.test.ts.)

afterEach(runCleanups);
afterEach(runRequestCleanups);

describe('GRIP recovery: prev-ids from the replay\'s own snapshot', () => {
  it('an event published between the replay read and the answer is not claimed as delivered', async () => {
    // A publish endpoint that accepts everything: what is checked is the origin's answer.
    const proxy = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('Published\n'));
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    defer(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const key = 'snapshot-key';
    const memory = new MemoryHistory();
    let afterRead: (() => Promise<void>) | undefined;
    // The memory store, with a publish landing right after each replay read: the widest race.
    const racing: HistoryStore = {
      append: (channel, events) => memory.append(channel, events),
      readAfter: async (channels, lastEventId) => {
        const replay = memory.readAfter(channels, lastEventId);
        const hook = afterRead;
        afterRead = undefined;
        await hook?.();
        return replay;
      },
      lastIds: (channels) => memory.lastIds(channels),
    };
    const es = new EventStream({
      grip: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/?iss=pushpin&key=${key}`,
      gripReliable: true,
      history: racing,
    });
    defer(() => es.close());
    const app = express();
    app.get('/events', es('busy', 'quiet'));
    const server: Server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise<void>((resolve) => server.close(() => resolve())));

    await es.publishEvent('busy', { event: 'm', data: 'b1' });
    // After this request's reads (one per channel, all started at once), before its answer.
    afterRead = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await es.publishEvent('quiet', { event: 'm', data: 'q1' });
    };
    const sig = (await new Auth.Jwt({ iss: 'pushpin' }, new TextEncoder().encode(key)).buildHeader()).replace(/^Bearer /, '');
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, {
      headers: { 'Grip-Sig': sig, 'Grip-Last': 'events-busy; last-id=-, events-quiet; last-id=-' },
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    // q1 is not in this replay: the proxy must still expect it (prev-id -), and take it
    // from the publish; a prev-id of q1 would make it drop q1 as already delivered.
    expect(body).toContain('data: "b1"');
    expect(body).not.toContain('q1');
    const prevIds = Object.fromEntries(
      (res.headers.get('grip-channel') ?? '').split(',').map((entry) => {
        const [name = '', ...params] = entry.split(';').map((part) => part.trim());
        return [name, params.find((p) => p.startsWith('prev-id='))?.slice('prev-id='.length)];
      }),
    );
    expect(prevIds['events-quiet']).toBe('-');
    expect(prevIds['events-busy']).toBe(memory.lastIds(['busy']).get('busy'));
  });
});

describe('Grip-Last last-id=- is the channel\'s start', () => {
  const stores: Array<[string, () => Promise<EventStreamOptions['history']>]> = [
    ['memory', async () => ({ maxEvents: 2 })],
  ];
  if (requireRedis()) {
    stores.push([
      'redis',
      () => ownRedisHistory((step) => cleanups.push(step), { maxEvents: 2 }),
    ]);
  }

  it.each(stores)('%s: replays the channel from its start, complete; truncated only once events were evicted', async (_name, history) => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true, history: await history() });
    const srv = await serve((req, res) => void es.run(req, res, ['q', 'quiet']));
    const recover = async (): Promise<string> =>
      (await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig(), 'Grip-Last': 'events-q; last-id=-, events-quiet; last-id=-' })).body;

    await es.publishEvent('q', { event: 'm', data: 1 });
    await es.publishEvent('q', { event: 'm', data: 2 });
    const complete = await recover();
    expect(complete).not.toContain(HISTORY_TRUNCATED_EVENT);
    expect(complete).not.toContain('stream-open');
    expect(complete.match(/data: \d/g)).toEqual(['data: 1', 'data: 2']);

    await es.publishEvent('q', { event: 'm', data: 3 }); // maxEvents 2: event 1 is evicted
    const evicted = await recover();
    expect(evicted).toContain(HISTORY_TRUNCATED_EVENT);
    expect(evicted.match(/data: \d/g)).toEqual(['data: 2', 'data: 3']);
  });
});
