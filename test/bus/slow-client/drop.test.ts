import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, type ConnectionInfo } from '../../../src/index.js';
import { runCleanups, track } from '../../support/cleanup.js';
import { RawClient } from '../../support/raw.js';
import { startApp } from '../../support/server.js';
import { connectSse } from '../../support/sse.js';
import { turn } from '../../support/wait.js';

// A client that stops reading must not make the server buffer without bound: once
// maxBufferedBytes are waiting for it, it is disconnected; readers keep going.

afterEach(runCleanups);

const MAX = 64 * 1024;
const BIG = 'x'.repeat(16 * 1024);
/** Publishes before giving up: 4,000 × 16 KiB = 64 MiB, far beyond any socket buffer. */
const MAX_PUBLISHES = 4000;

async function setup(options: ConstructorParameters<typeof EventStream>[0] = {}) {
  const es = track(new EventStream({ maxBufferedBytes: MAX, keepAliveInterval: 60_000, ...options }));
  const app = express();
  app.get('/e', es('big'));
  const { port, url } = await startApp(app);
  const stalled = await RawClient.get(port, { path: '/e', retain: false });
  await stalled.waitForEvents(1);
  stalled.pause();
  const reader = await RawClient.get(port, { path: '/e', retain: false });
  await reader.waitForEvents(1);
  return { es, port, url, stalled, reader };
}

/** Publishes 16 KiB events, yielding to I/O between them, until `done()` or the bound. */
async function publishUntil(es: EventStream, done: () => boolean): Promise<number> {
  let n = 0;
  while (!done() && n < MAX_PUBLISHES) {
    await es.publishEvent('big', { event: 'big', data: BIG });
    n++;
    await turn();
  }
  return n;
}

describe('slow client bound (maxBufferedBytes)', () => {
  it('drops a client that stopped reading; a reading client on the same channel is unaffected', async () => {
    const { es, url, stalled, reader } = await setup();
    expect(es.stats().connections).toBe(2);
    const published = await publishUntil(es, () => es.stats().clientsDropped > 0);
    expect(published).toBeLessThan(MAX_PUBLISHES);
    expect(es.stats().clientsDropped).toBe(1);
    // Removed from the bus at once; the socket is closed by the server (a paused socket only
    // notices when it reads again).
    expect(es.stats().connections).toBe(1);
    stalled.resume();
    await stalled.waitForClose();
    expect(es.stats().channels).toEqual({ big: 1 });
    // The reader got every event and is still being served.
    await reader.waitForEvents(1 + published, 10_000);
    await es.publishEvent('big', { event: 'after', data: 'still here' });
    await reader.waitFor((c) => c.events.some((e) => e.event === 'after'), 'the event after the drop');
    expect(reader.closed).toBe(false);
    // ...and new clients are served too.
    const fresh = await connectSse(`${url}/e`, { types: ['m'] });
    await es.publishEvent('big', { event: 'm', data: 1 });
    expect((await fresh.nextEvent('m')).data).toBe('1');
    expect(es.stats().clientsDropped).toBe(1);
  });

  it('the dropped client is cut off (no end-of-stream marker), even if it resumes reading', async () => {
    const { es, stalled } = await setup();
    await publishUntil(es, () => es.stats().clientsDropped > 0);
    stalled.resume();
    await stalled.waitForClose();
    expect(stalled.complete).toBe(false); // cut off, not ended politely
  });

  it('onDisconnect fires exactly once for a client dropped for being slow ("once per stream")', async () => {
    const disconnected: ConnectionInfo[] = [];
    const { es, stalled } = await setup({ onDisconnect: (info) => disconnected.push(info) });
    await publishUntil(es, () => es.stats().clientsDropped > 0);
    stalled.resume();
    await stalled.waitForClose();
    await turn();
    expect(es.stats().clientsDropped).toBe(1);
    expect(disconnected).toHaveLength(1);
  });
});
