import { afterEach, describe, expect, it } from 'vitest';
import { Auth } from '@fanoutio/grip';
import { type EventStreamOptions } from '../../src/index.js';
import { getOnce } from '../support/server.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair, requirePushpin, startPushpin } from '../support/pushpin.js';
import { Listener, startOrigin, type Origin } from './helpers.js';

// A publisher's event id goes into GRIP headers (the hold's `prev-id`, the items' ids, and back
// in Grip-Last). Whatever it holds, it must never change those headers' structure: before
// the fix, an id such as `msg-1, events-admin` subscribed a held client to `admin`, a channel
// its route's authorize refuses, and an id `a,b` made every new hold replay twice.

afterEach(runCleanups);

async function behindPushpin(): Promise<{ origin: Origin; httpPort: number }> {
  const [httpPort, publishPort] = await freePortPair();
  const options: EventStreamOptions = {
    grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
    gripReliable: true,
    authorize: (_req, channels) => !channels.includes('admin'),
  };
  const origin = await startOrigin('A', options);
  defer(() => origin.close());
  const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
  defer(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  return { origin, httpPort };
}

function listen(httpPort: number, path: string, types: string[]): Listener {
  const listener = new Listener(`http://127.0.0.1:${httpPort}${path}`, types);
  defer(() => listener.close());
  return listener;
}

describe.runIf(requirePushpin())('event ids never change a GRIP header (real Pushpin, reliable mode)', () => {
  it('an id naming another channel does not subscribe a client held on /room to it', async () => {
    const { origin, httpPort } = await behindPushpin();
    const es = origin.eventStream;
    // The route refuses admin outright.
    const refused = await fetch(`http://127.0.0.1:${httpPort}/events/admin`, {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.timeout(5000),
    });
    expect(refused.status).toBe(403);
    await refused.text();

    await es.publishEvent('room', { event: 'room', data: 'first', id: 'msg-1, events-admin' });
    const client = listen(httpPort, '/events/room', ['room', 'admin']);
    await client.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'room open');
    await es.publishEvent('admin', { event: 'admin', data: 'secret' });
    // A marker on room, published after the admin event: once it is there, the admin event had
    // its chance to arrive first (one proxy, one handler, publish order).
    await es.publishEvent('room', { event: 'room', data: 'marker', id: 'msg-2; x="y"' });
    await client.until((e) => e.some((x) => x.data === '\"marker\"'), 8000, 'room marker');
    expect(client.of('admin')).toEqual([]);
    expect(client.of('room').map((e) => [JSON.parse(e.data), e.id])).toEqual([['marker', 'msg-2; x="y"']]);
    expect(client.of('history-truncated')).toEqual([]);
  });

  it('after an event with id a,b a new hold gets history once: no doubled notice, no doubled events', async () => {
    const { origin, httpPort } = await behindPushpin();
    const es = origin.eventStream;
    await es.publishEvent('c', { event: 'm', data: 'one', id: 'x1' });
    await es.publishEvent('c', { event: 'm', data: 'two', id: 'a,b' });
    // A fresh client (held at prev-id a,b) and one resuming from an id never handed out
    // (history-truncated, then the whole replay in the hold).
    const fresh = listen(httpPort, '/events/c', ['m']);
    const resumed = listen(httpPort, '/events/c?lastEventId=junk', ['m']);
    await fresh.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'fresh open');
    await resumed.until((e) => e.filter((x) => x.type === 'm').length >= 2, 5000, 'replay');
    await es.publishEvent('c', { event: 'm', data: 'three', id: 'c"d' });
    // A position the proxy misread shows as a gap on the next item: recovery replays (message_wait
    // is 300 ms). The fourth event comes after that would have happened.
    await fresh.until((e) => e.some((x) => x.data === '\"three\"'), 8000, 'fresh live');
    await es.publishEvent('c', { event: 'm', data: 'four', id: 'e=f' });
    await fresh.until((e) => e.some((x) => x.data === '\"four\"'), 8000, 'fresh fourth');
    await resumed.until((e) => e.some((x) => x.data === '\"four\"'), 8000, 'resumed fourth');
    expect(fresh.of('history-truncated')).toEqual([]);
    expect(fresh.of('m').map((e) => [JSON.parse(e.data), e.id])).toEqual([
      ['three', 'c"d'],
      ['four', 'e=f'],
    ]);
    expect(resumed.of('history-truncated')).toHaveLength(1);
    expect(resumed.of('m').map((e) => [JSON.parse(e.data), e.id])).toEqual([
      ['one', 'x1'],
      ['two', 'a,b'],
      ['three', 'c"d'],
      ['four', 'e=f'],
    ]);
  });
});

describe('Grip-Last never widens what the route and authorize allowed', () => {
  it('a signed recovery naming another channel replays only the route\'s own', async () => {
    const origin = await startOrigin('A', {
      // No proxy runs: publishes to it fail, but history keeps them (that is all this needs).
      grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme',
      gripReliable: true,
      authorize: (_req, channels) => !channels.includes('admin'),
    });
    defer(() => origin.close());
    await origin.eventStream.publishEvent('room', { event: 'room', data: 'r', id: 'r1' }).catch(() => undefined);
    await origin.eventStream.publishEvent('admin', { event: 'admin', data: 'secret', id: 'a1' }).catch(() => undefined);
    const sig = (await new Auth.Jwt({ iss: 'pushpin' }, new TextEncoder().encode('changeme')).buildHeader()).replace(/^Bearer /, '');
    const reply = await getOnce(`http://127.0.0.1:${origin.port}/events/room`, {
      accept: 'text/event-stream',
      'grip-sig': sig,
      'grip-last': 'events-room; last-id=-, events-admin; last-id=-, events-admin; last-id="-"',
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['grip-channel']).toBe('events-room; prev-id=r1');
    expect(reply.body).toContain('id: r1\n');
    expect(reply.body).not.toContain('secret');
  });

  it('the next link, built from the client\'s own URL, stays one Grip-Link element', async () => {
    const origin = await startOrigin('A', { grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme', gripReliable: true });
    defer(() => origin.close());
    const sig = (await new Auth.Jwt({ iss: 'pushpin' }, new TextEncoder().encode('changeme')).buildHeader()).replace(/^Bearer /, '');
    const reply = await getOnce(`http://127.0.0.1:${origin.port}/events/room?x=a,%3C/events/admin%3E;rel=next`, {
      accept: 'text/event-stream',
      'grip-sig': sig,
    });
    expect(reply.status).toBe(200);
    const link = String(reply.headers['grip-link']);
    expect(link).toMatch(/^<\/events\/room\?x=[^<>,;"]*>; rel=next; timeout=120$/);
    expect(new URL(link.slice(1, link.indexOf('>')), 'http://x').searchParams.get('x')).toBe('a,</events/admin>;rel=next');
  });
});
