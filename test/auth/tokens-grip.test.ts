import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, GripPublishError, TokenVerifier, mintToken, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin, type PushpinInstance } from '../support/pushpin.js';
import { requireRedis, startRedis } from '../support/redis.js';
import { getOnce } from '../support/server.js';
import { connectSse } from '../support/sse.js';
import { startOrigin, type Origin } from '../support/pushpin/origin.js';

// Subscription tokens through a real Pushpin: the proxy forwards the client's cookie, query and
// Authorization header when it asks the origin, which checks the token before answering with a
// hold. In reliable mode the proxy's own recovery requests carry none of them, and must still
// be answered.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

afterEach(runCleanups);

async function setup(extra: Partial<EventStreamOptions> = {}, origins = 1): Promise<{ pushpin: PushpinInstance; origins: Origin[]; options: EventStreamOptions }> {
  const [httpPort, publishPort] = await freePortPair();
  const options: EventStreamOptions = {
    // The key Pushpin signs Grip-Sig with (the harness's default): holds come from a proven proxy.
    grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
    tokens: new TokenVerifier({ secret: SECRET, audience: 'streams' }),
    ...extra,
  };
  const started: Origin[] = [];
  for (let i = 0; i < origins; i++) {
    const origin = await startOrigin(`O${i}`, options);
    defer(() => origin.close());
    started.push(origin);
  }
  const pushpin = await startPushpin({ originPort: started[0]!.port, origins: started.map((o) => o.port), httpPort, publishPort, messageWait: 300 });
  defer(() => pushpin.stop());
  await pushpin.waitForOrigin('/events/warmup');
  return { pushpin, origins: started, options };
}

const token = (subscribe: string[]): Promise<string> => mintToken({ secret: SECRET, subscribe, audience: 'streams' });

describe.runIf(requirePushpin())('subscription tokens through a real Pushpin', () => {
  it('holds streams whose token came in the cookie or the query, and delivers publishes to them', async () => {
    const { pushpin, origins } = await setup();
    const base = `http://127.0.0.1:${pushpin.httpPort}`;
    const byCookie = await connectSse(`${base}/events/room-1`, { types: ['m'], headers: { cookie: `gripstream_token=${await token(['room-*'])}` } });
    const byQuery = await connectSse(`${base}/events/room-1?access_token=${await token(['room-1'])}`, { types: ['m'] });
    expect(origins[0]!.holds).toBe(2);
    expect(origins[0]!.eventStream.stats().connections).toBe(0);
    await origins[0]!.eventStream.publishEvent('room-1', { event: 'm', data: 'hello' });
    expect((await byCookie.nextEvent('m')).data).toBe('"hello"');
    expect((await byQuery.nextEvent('m')).data).toBe('"hello"');
  });

  it('passes the refusals through: 401 with the JSON code and challenge, 403 for another room', async () => {
    const { pushpin, origins } = await setup();
    const base = `http://127.0.0.1:${pushpin.httpPort}`;
    const missing = await getOnce(`${base}/events/room-1`, { accept: 'text/event-stream' });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="gripstream"');
    expect(JSON.parse(missing.body)).toMatchObject({ code: 'ERR_TOKEN_MISSING' });
    const otherRoom = await getOnce(`${base}/events/room-2`, { accept: 'text/event-stream', cookie: `gripstream_token=${await token(['room-1'])}` });
    expect(otherRoom.status).toBe(403);
    expect(JSON.parse(otherRoom.body)).toMatchObject({ code: 'ERR_TOKEN_SCOPE' });
    const wrongAudience = await mintToken({ secret: SECRET, subscribe: ['*'], audience: 'billing' });
    const refused = await getOnce(`${base}/events/room-1`, { accept: 'text/event-stream', cookie: `gripstream_token=${wrongAudience}` });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(origins[0]!.holds).toBe(0);
  });
});

describe.runIf(requirePushpin() && requireRedis())('subscription tokens with reliable GRIP', () => {
  it('answers the proxy\'s recovery request, which carries no cookie', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const { pushpin, origins, options } = await setup({ gripReliable: true, history: { redis: redis.url, keyPrefix: `tg-${randomUUID()}:` } }, 2);
    const client = await connectSse(`http://127.0.0.1:${pushpin.httpPort}/events/r`, { types: ['m'], headers: { cookie: `gripstream_token=${await token(['r'])}` } });
    await origins[0]!.eventStream.publishEvent('r', { event: 'm', data: 1 });
    await client.nextEvent('m');

    // An event only the shared history has: the next publish reveals the gap, and Pushpin
    // fetches it with a signed request carrying Grip-Last but not the client's cookie.
    const lost = new EventStream({ ...options, grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme' });
    defer(() => lost.close());
    await expect(lost.publishEvent('r', { event: 'm', data: 2 })).rejects.toBeInstanceOf(GripPublishError);
    await origins[1]!.eventStream.publishEvent('r', { event: 'm', data: 3 });
    await client.until((events) => events.filter((e) => e.type === 'm').length >= 3, 'the gap recovered', 10_000);
    expect(client.of('m').map((e) => e.data)).toEqual(['1', '2', '3']);

    // A client cannot pose as a recovery: Pushpin drops a Grip-Last the client sent, so its
    // signed request is an ordinary one, and without a token it is refused (no replay).
    const posing = await getOnce(`http://127.0.0.1:${pushpin.httpPort}/events/r`, { accept: 'text/event-stream', 'grip-last': 'events-r; last-id=-' });
    expect(posing.status).toBe(401);
    expect(posing.body).not.toContain('data:');
  });

  it('keeps the query token out of the next link the proxy stores', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const { origins } = await setup({ gripReliable: true, history: { redis: redis.url, keyPrefix: `tq-${randomUUID()}:` } });
    const secret = await token(['r']);
    // Straight to the origin, signed as the proxy would ask: the hold's Grip-Link header.
    const reply = await getOnce(`http://127.0.0.1:${origins[0]!.port}/events/r?access_token=${secret}&x=1`, {
      accept: 'text/event-stream',
      'grip-sig': await gripSig(),
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['grip-link']).toMatch(/^<\/events\/r\?x=1>; rel=next/);
    expect(String(reply.headers['grip-link'])).not.toContain(secret);
  });
});

/** A Grip-Sig as Pushpin signs it (HS256, iss pushpin, key changeme). */
async function gripSig(): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({ iss: 'pushpin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('changeme'));
}
