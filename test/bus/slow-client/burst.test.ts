import http, { type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../../src/index.js';
import { defer, runCleanups, track } from '../../support/cleanup.js';
import { RawClient } from '../../support/raw.js';
import { startHttp } from '../../support/server.js';
import { turn } from '../../support/wait.js';

// Issue 16, item 4: the bound judges what a client has not taken from earlier ticks, never
// the size of one burst. Clients reading at full speed (raw sockets, as fast as the event
// loop lets them) survive any burst; a client that stops reading is still dropped.

afterEach(runCleanups);

const MiB = 1024 * 1024;
const BOUND = MiB;
const KB100 = 'a'.repeat(100 * 1000);
const MB2 = 'b'.repeat(2 * 1000 * 1000);

interface Setup {
  es: EventStream;
  readers: RawClient[];
  stalled: RawClient | undefined;
  /** The largest res.writableLength seen for the stalled client, sampled after every tick. */
  stalledPeak(): number;
}

async function setup(readers: number, withStalled: boolean, history: false | undefined = false): Promise<Setup> {
  const es = track(new EventStream({ maxBufferedBytes: BOUND, keepAliveInterval: 60_000, history }));
  const handler = es('feed');
  const responses: ServerResponse[] = [];
  const { port } = await startHttp((req, res) => {
    responses.push(res);
    void handler(req as http.IncomingMessage, res);
  });
  let stalled: RawClient | undefined;
  if (withStalled) {
    stalled = await RawClient.get(port, { path: '/feed', retain: false });
    await stalled.waitForEvents(1);
    stalled.pause();
  }
  const stalledRes = responses[0];
  const clients = await Promise.all(Array.from({ length: readers }, () => RawClient.get(port, { path: '/feed', retain: false })));
  await Promise.all(clients.map((c) => c.waitForEvents(1)));
  let peak = 0;
  const sampler = setInterval(() => {
    if (stalledRes !== undefined && withStalled && !stalledRes.destroyed) peak = Math.max(peak, stalledRes.writableLength);
  }, 1);
  defer(() => clearInterval(sampler));
  return { es, readers: clients, stalled, stalledPeak: () => peak };
}

const got = (client: RawClient, event: string): number => client.events.filter((e) => e.event === event).length;

/** Waits until `check` holds for every reader; fails at once if one of them was dropped. */
async function readersHave(readers: RawClient[], check: (c: RawClient) => boolean, what: string, ms = 20_000): Promise<void> {
  await Promise.all(readers.map((r) => r.waitFor((c) => c.closed || check(c), what, ms)));
  expect(readers.filter((r) => r.closed), `readers dropped while waiting for ${what}`).toHaveLength(0);
}

describe('bursts larger than maxBufferedBytes (1 MiB)', () => {
  it('one tick of 20 × 100 KB (publishEvents) reaches every reader, none is dropped', async () => {
    const { es, readers } = await setup(3, false);
    await es.publishEvents('feed', Array.from({ length: 20 }, () => ({ event: 'burst', data: KB100 })));
    await readersHave(readers, (c) => got(c, 'burst') === 20, '20 burst events');
    expect(es.stats().clientsDropped).toBe(0);
    expect(es.stats().connections).toBe(3);
  });

  it('one 2 MB event, then events every tick while it drains: readers get all of them', async () => {
    const { es, readers } = await setup(3, false);
    await es.publishEvent('feed', { event: 'big', data: MB2 });
    for (let i = 0; i < 200; i++) {
      await es.publishEvent('feed', { event: 'small', data: i });
      await turn();
    }
    await readersHave(readers, (c) => got(c, 'small') === 200, 'every event');
    for (const reader of readers) expect(got(reader, 'big')).toBe(1);
    expect(es.stats().clientsDropped).toBe(0);
  });

  it('a new burst while the readers are still draining the last one (five of 20 × 100 KB): readers keep up, a stalled client is dropped', async () => {
    const { es, readers, stalled, stalledPeak } = await setup(3, true, undefined);
    for (let burst = 1; burst <= 5; burst++) {
      await es.publishEvents('feed', Array.from({ length: 20 }, () => ({ event: 'burst', data: KB100 })));
      // The next burst leaves as soon as every reader has half of this one: they are mid-drain.
      const half = (burst - 1) * 20 + 10;
      await readersHave(readers, (c) => got(c, 'burst') >= half, `${half} burst events`);
    }
    // Small events until the stalled client's kernel buffers are full and it is dropped.
    let small = 0;
    while (es.stats().clientsDropped === 0 && small < 5000) {
      await es.publishEvent('feed', { event: 'small', data: small++ });
      await turn();
    }
    expect(es.stats().clientsDropped).toBe(1);
    await readersHave(readers, (c) => got(c, 'burst') === 100 && got(c, 'small') === small, 'every event', 30_000);
    expect(es.stats().connections).toBe(3);
    // What it held: at most the bound plus two ticks (the largest tick here is one burst, ~2 MB).
    const tick = 20 * (KB100.length + 64);
    expect(stalledPeak()).toBeLessThanOrEqual(BOUND + 2 * tick);
    stalled!.resume();
    await stalled!.waitForClose(10_000);
    expect(stalled!.complete).toBe(false);
  });

  it('a client that stops reading is dropped by the second tick after it passes the bound', async () => {
    const { es, stalled, stalledPeak } = await setup(1, true);
    const frame = 'c'.repeat(10_000);
    let n = 0;
    while (es.stats().clientsDropped === 0 && n < 20_000) {
      await es.publishEvent('feed', { event: 'small', data: frame });
      n++;
      await turn();
    }
    expect(es.stats().clientsDropped).toBe(1);
    // Each tick carries one 10 KB event.
    expect(stalledPeak()).toBeLessThanOrEqual(BOUND + 2 * (frame.length + 64));
    expect(stalledPeak()).toBeGreaterThan(BOUND / 2);
    stalled!.resume();
    await stalled!.waitForClose(10_000);
  });
});
