import { afterEach, describe, expect, it } from 'vitest';
import { Auth } from '@fanoutio/grip';
import { EventStream, InvalidConfigError } from '../../src/index.js';
import { acceptingProxy, gripSig, ISS, KEY, oneShot, runRequestCleanups, serve, track } from '../support/origin-requests.js';
import { getOnce } from '../support/server.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { startOrigin } from '../support/pushpin/origin.js';

// A signed recovery request (Grip-Sig + Grip-Last) names channels and ids; none of it may reach
// past the route's channels and authorize's answer, or split the Grip-Link header the origin
// answers with. (Event ids in GRIP headers through a real Pushpin: test/pushpin/id-injection.test.ts.)

afterEach(runCleanups);
afterEach(runRequestCleanups);

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

describe('a signed recovery request (Grip-Last) replays only the route\'s channels, after authorize', () => {
  it('gripReliable without a key to verify Grip-Sig is refused at construction', async () => {
    const proxy = await acceptingProxy();
    expect(() => new EventStream({ grip: proxy, gripReliable: true })).toThrow(InvalidConfigError);
    expect(() => new EventStream({ grip: proxy, gripReliable: true })).toThrow(/key to verify Grip-Sig/);
    // With a key it is accepted.
    track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
  });

  it('Grip-Last naming a channel that is not on the route replays nothing of it', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
    await es.publishEvent('secret', { event: 'm', data: 'classified', id: 's1' });
    await es.publishEvent('public', { event: 'm', data: 'hello', id: 'p1' });
    await es.publishEvent('public', { event: 'm', data: 'again', id: 'p2' });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', {
      'Grip-Sig': await gripSig(),
      'Grip-Last': 'events-secret; last-id=0, events-public; last-id=p1',
    });
    expect(reply.status).toBe(200);
    expect(reply.body).not.toContain('classified');
    expect(reply.body).toBe('id: p2\nevent: m\ndata: "again"\n\n');
  });

  it('authorize still decides for a signed recovery request', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true, authorize: () => false });
    await es.publishEvent('public', { event: 'm', data: 'x' });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig(), 'Grip-Last': 'events-public; last-id=-' });
    expect(reply.status).toBe(403);
  });

  it('a Grip-Sig signed with another key is refused, Grip-Last or not', async () => {
    const proxy = await acceptingProxy();
    const es = track({ grip: `${proxy}/?iss=${ISS}&key=${KEY}`, gripReliable: true });
    const srv = await serve((req, res) => void es.run(req, res, 'public'));
    const reply = await oneShot(srv.port, '/', { 'Grip-Sig': await gripSig('other'), 'Grip-Last': 'events-public; last-id=-' });
    expect(reply.status).toBe(403);
  });
});
