import { randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { freePortPair } from '../support/ports.js';
import { requirePushpin, startPushpin } from '../support/pushpin.js';
import { requireRedis, startRedis } from '../support/redis.js';
import { Listener, within } from '../support/pushpin/origin.js';

// Pushpin recovers a gap by fetching the next link with Grip-Last. The answer's prev-ids must
// come from the very snapshot its replay was read from. If history cannot answer
// that request (Redis frozen, restarting, a link still reconnecting), the origin renews the
// hold at the proxy's own positions with a next link due in a second, and the proxy asks
// again by itself: the gap closes without waiting for another publish. (Pushpin 1.36 also
// retries a recovery answered 500, about 2.5 s later; this does not depend on that, and the
// app does not log an error per attempt.)

afterEach(runCleanups);

interface Recovery {
  gripLast: string;
  status: number;
  gripLink: string;
}

/** An Express origin that reports every recovery request (one with Grip-Last) it answered. */
async function recordingOrigin(options: EventStreamOptions) {
  const eventStream = new EventStream(options);
  const recoveries: Recovery[] = [];
  const answered = new EventEmitter();
  const app = express();
  app.use((req, res, next) => {
    const gripLast = req.headers['grip-last'];
    if (typeof gripLast === 'string') {
      res.on('finish', () => {
        const recovery = { gripLast, status: res.statusCode, gripLink: String(res.getHeader('grip-link') ?? '') };
        recoveries.push(recovery);
        answered.emit('recovery', recovery);
      });
    }
    next();
  });
  app.get('/events/:ch', eventStream('{ch}'));
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(async () => {
    await eventStream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = (server.address() as AddressInfo).port;
  /** Resolves with the first recovery answered from now on that matches. */
  const nextRecovery = (matches: (r: Recovery) => boolean): Promise<Recovery> =>
    new Promise((resolve) => {
      const listener = (recovery: Recovery): void => {
        if (!matches(recovery)) return;
        answered.off('recovery', listener);
        resolve(recovery);
      };
      answered.on('recovery', listener);
    });
  return { eventStream, port, recoveries, nextRecovery };
}

describe.runIf(requirePushpin() && requireRedis())('GRIP recovery when history cannot answer', () => {
  it('a recovery that Redis cannot serve is retried by the proxy and the gap closes', async () => {
    const redis = await startRedis();
    defer(() => redis.stop());
    const [httpPort, publishPort] = await freePortPair();
    const history = { redis: redis.url, keyPrefix: `t-${randomUUID()}:` };
    const origin = await recordingOrigin({
      grip: `http://127.0.0.1:${publishPort}/?iss=pushpin&key=changeme`,
      gripReliable: true,
      history,
    });
    // Appends to the same history without telling the proxy: the gap the proxy must recover.
    const sideWriter = new EventStream({ history });
    defer(() => sideWriter.close());
    const pushpin = await startPushpin({ originPort: origin.port, httpPort, publishPort, messageWait: 300 });
    defer(() => pushpin.stop());
    await pushpin.waitForOrigin('/events/warmup');

    const client = new Listener(`http://127.0.0.1:${pushpin.httpPort}/events/g`);
    defer(() => client.close());
    await client.until((e) => e.some((x) => x.type === 'stream-open'), 5000, 'open');
    await origin.eventStream.publishEvent('g', { event: 'm', data: 1 });
    await client.until((e) => e.some((x) => x.type === 'm'), 5000, 'event 1');

    await sideWriter.publishEvent('g', { event: 'm', data: 2 });
    await origin.eventStream.publishEvent('g', { event: 'm', data: 3 });
    // Pushpin now holds item 3 (prev-id 2, but the client is at 1) for message_wait, then
    // fetches the next link. Redis is frozen before that: the recovery cannot be read.
    const failed = origin.nextRecovery(() => true);
    redis.freeze();
    defer(() => redis.thaw());
    await within(failed, 10_000, 'a recovery answered while Redis is frozen');
    redis.thaw();

    await client.until((e) => e.filter((x) => x.type === 'm').length >= 3, 10_000, 'the gap recovered');
    expect(client.of('m').map((e) => JSON.parse(e.data))).toEqual([1, 2, 3]);
    // Never an error to the proxy (Express would log each one): a renewed hold due again in a
    // second while Redis was frozen, then the normal hold once the gap was read.
    expect(origin.recoveries.map((r) => r.status)).toEqual(origin.recoveries.map(() => 200));
    expect(origin.recoveries[0]!.gripLink).toMatch(/; timeout=1$/);
    expect(origin.recoveries.at(-1)!.gripLink).toMatch(/; timeout=120$/);
  }, 40_000);
});
