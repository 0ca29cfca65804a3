import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, TokenVerifier, mintToken, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { requireRedis, startRedis } from '../support/redis.js';
import { getOnce } from '../support/server.js';

// A proxy's recovery request skips the checks a client brings (its token, its cookies), so it
// may only renew what the proxy already holds. Found from outside: a path with `%2e%2e` was
// resolved in the next link, and the proxy's recovery then reached another room's route.

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

afterEach(runCleanups);

/** A node:http app routing by path prefix, as the auth guide's example does. */
async function roomApp(options: EventStreamOptions): Promise<{ es: EventStream; port: number }> {
  const es = new EventStream(options);
  defer(() => es.close());
  const rooms = es.route('room-{room}');
  const server = http.createServer((req, res) => {
    const room = /^\/rooms\/([\w-]+)/.exec(req.url ?? '')?.[1];
    if (room === undefined) return void res.writeHead(404).end();
    void rooms(Object.assign(req, { params: { room } }), res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { es, port: (server.address() as AddressInfo).port };
}

async function gripSig(): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT({ iss: 'pushpin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('changeme'));
}

/** A GET whose path goes out as written (a URL string would have its dot segments resolved). */
function getPath(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} did not complete within 5 s`)));
    req.on('error', reject);
  });
}

const token = (subscribe: string[]): Promise<string> => mintToken({ secret: SECRET, subscribe, audience: 'streams' });

describe.runIf(requireRedis())('a GRIP recovery renews only what the proxy holds', () => {
  // No proxy listens at the GRIP URL: a publish still lands in history, which is all these need.
  const publishToHistory = async (es: EventStream, channel: string, data: string): Promise<void> => {
    await es.publishEvent(channel, { event: 'm', data }).catch((err: Error) => expect(err.name).toBe('GripPublishError'));
  };

  async function reliableApp(): Promise<{ es: EventStream; port: number }> {
    const redis = await startRedis();
    defer(() => redis.stop());
    return roomApp({
      grip: 'http://127.0.0.1:9/?iss=pushpin&key=changeme',
      gripReliable: true,
      history: { redis: redis.url, keyPrefix: `rs-${randomUUID()}:` },
      tokens: new TokenVerifier({ secret: SECRET, audience: 'streams' }),
    });
  }

  it('the next link is the path the client sent, dot segments and all', async () => {
    const { port } = await reliableApp();
    const reply = await getPath(port, '/rooms/1/%2e%2e/2', {
      accept: 'text/event-stream',
      'grip-sig': await gripSig(),
      authorization: `Bearer ${await token(['room-1'])}`,
    });
    expect(reply.status, reply.body).toBe(200);
    expect(reply.headers['grip-channel']).toMatch(/^events-room-1;/);
    expect(reply.headers['grip-link']).toMatch(/^<\/rooms\/1\/%2e%2e\/2>; rel=next/);
  });

  it('a signed recovery whose route resolves a channel the hold did not have is refused, and replays nothing', async () => {
    const { es, port } = await reliableApp();
    await publishToHistory(es, 'room-2', 'for room-2 only');
    const reply = await getOnce(`http://127.0.0.1:${port}/rooms/2`, {
      accept: 'text/event-stream',
      'grip-sig': await gripSig(),
      'grip-last': 'events-room-1; last-id=-',
    });
    expect(reply.status).toBe(403);
    expect(reply.headers['grip-channel']).toBeUndefined();
    expect(reply.body).not.toContain('room-2 only');
  });

  it('a signed recovery of the channels held is still answered without a token', async () => {
    const { es, port } = await reliableApp();
    await publishToHistory(es, 'room-1', 'missed');
    const reply = await getOnce(`http://127.0.0.1:${port}/rooms/1`, {
      accept: 'text/event-stream',
      'grip-sig': await gripSig(),
      'grip-last': 'events-room-1; last-id=-',
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['grip-channel']).toMatch(/^events-room-1;/);
    expect(reply.body).toContain('missed');
  });
});

describe.runIf(requirePushpin() && requireRedis())('through a real Pushpin', () => {
  it('a room-1 token never hears room-2 through a path that resolves to /rooms/2', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const [httpPort, publishPort] = await freePortPair();
    const { es, port } = await roomApp({
      grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
      gripReliable: true,
      history: { redis: redis.url, keyPrefix: `rp-${randomUUID()}:` },
      tokens: new TokenVerifier({ secret: SECRET, audience: 'streams' }),
    });
    const pushpin = await startPushpin({ originPort: port, httpPort, publishPort, messageWait: 300 });
    defer(() => pushpin.stop());
    await pushpin.waitForOrigin('/rooms/warmup');
    await es.publishEvent('room-2', { event: 'm', data: 'room-2 history' });

    // Raw, so that no client library resolves the dot segments first.
    const received: string[] = [];
    const socket = (await import('node:net')).connect(httpPort, '127.0.0.1');
    defer(() => socket.destroy());
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => received.push(chunk));
    await once(socket, 'connect');
    socket.write(
      `GET /rooms/1/%2e%2e/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${await token(['room-1'])}\r\n\r\n`,
    );
    const until = Date.now() + 5_000;
    while (!received.join('').includes('stream-open') && Date.now() < until) await once(socket, 'data');
    expect(received.join('')).toContain('stream-open');
    // The proxy recovers through the next link at once (its channel starts at `-`); give that
    // round trip its time by publishing to room-1 and waiting for it to arrive.
    await es.publishEvent('room-1', { event: 'm', data: 'room-1 live' });
    await es.publishEvent('room-2', { event: 'm', data: 'room-2 live' });
    while (!received.join('').includes('room-1 live') && Date.now() < until + 5_000) {
      await Promise.race([once(socket, 'data'), once(socket, 'close')]);
      if (socket.destroyed) break;
    }
    const text = received.join('');
    expect(text).not.toContain('room-2');
  });
});
