import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../../src/index.js';
import { STALL_CHECK_MS, STALL_DROP_MS } from '../../../src/bus/StallWatch.js';
import { runCleanups, track } from '../../support/cleanup.js';
import { RawClient } from '../../support/raw.js';
import { startHttp } from '../../support/server.js';
import { pollUntil } from '../../support/wait.js';

// Issue 21, item 4. The tick rule judges a client only when a publish reaches it, so a burst
// published by a loop that never yields (one tick, of any size), then silence, left a client
// that never reads holding the whole burst for ever. The stall watch drops it within a bounded
// time whatever the publisher does next, and still spares a client that keeps reading.

afterEach(runCleanups);

const EVENT = 'x'.repeat(256 * 1024);
const BURST = 40; // 10 MiB in one tick: ten times the default bound
/** The promise: dropped within STALL_DROP_MS of its last progress, looked at every STALL_CHECK_MS. */
const DROP_WITHIN = STALL_DROP_MS + 2 * STALL_CHECK_MS;

async function setup() {
  // Default options: maxBufferedBytes 1 MiB, keep-alive 20 s (no keep-alive comes in this test).
  const es = track(new EventStream());
  const { port } = await startHttp((req, res) => void es('burst')(req, res));
  return { es, port };
}

async function burst(es: EventStream): Promise<void> {
  // Never yields to the event loop: every publish lands in the same tick.
  for (let i = 0; i < BURST; i++) await es.publishEvent('burst', { event: 'big', data: EVENT });
}

describe('a client over maxBufferedBytes that takes nothing is dropped within a bounded time', () => {
  it('after a one-tick burst on a channel that then goes quiet', async () => {
    const { es, port } = await setup();
    const stalled = await RawClient.get(port, { path: '/', retain: false });
    await stalled.waitForEvents(1);
    stalled.pause();
    await burst(es);
    const burstAt = Date.now();
    // Nothing more is published: only the stall watch can find it.
    await pollUntil(() => es.stats().clientsDropped === 1, DROP_WITHIN + 2000, 'the stalled client to be dropped');
    const after = Date.now() - burstAt;
    expect(after).toBeGreaterThanOrEqual(STALL_DROP_MS - STALL_CHECK_MS);
    expect(after).toBeLessThanOrEqual(DROP_WITHIN);
    await pollUntil(() => es.stats().connections === 0, 2000, 'the dropped client off the bus');
    stalled.resume();
    await stalled.waitForClose();
    expect(stalled.complete, 'cut off, not ended').toBe(false);
  }, 20_000);

  it('a resuming client whose replay waits, with a burst over the bound held behind it, is dropped too', async () => {
    const es = track(new EventStream({ history: { maxEvents: 10_000, maxBytes: 64 * 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 } }));
    const { port } = await startHttp((req, res) => void es('burst')(req, res));
    // A replay larger than the socket buffers, so it is still under way when the burst comes.
    const small = 'y'.repeat(1000);
    for (let i = 0; i < 10_000; i++) await es.publishEvent('burst', { event: 'old', data: small });
    const resuming = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': 'junk' }, retain: false });
    resuming.pause();
    await pollUntil(() => es.stats().connections === 1, 5000, 'the resuming client subscribed');
    await burst(es);
    const burstAt = Date.now();
    await pollUntil(() => es.stats().clientsDropped === 1, DROP_WITHIN + 2000, 'the stalled resuming client to be dropped');
    expect(Date.now() - burstAt).toBeLessThanOrEqual(DROP_WITHIN);
  }, 30_000);

  it('a client that keeps reading, slower than the burst takes to pass STALL_DROP_MS, is not dropped and gets it all', async () => {
    const { es, port } = await setup();
    const slow = await RawClient.get(port, { path: '/', retain: false });
    await slow.waitForEvents(1);
    slow.pause();
    // About 1.3 MB/s: the 10 MiB burst takes some 8 s, longer than STALL_DROP_MS.
    const reading = setInterval(() => {
      const available = slow.socket.readableLength;
      if (available === 0) slow.socket.read(0);
      else slow.socket.read(Math.min(available, 64 * 1024));
    }, 50);
    try {
      await burst(es);
      await slow.waitFor((c) => c.closed || c.events.length >= 1 + BURST, 'the whole burst at reading speed', 30_000);
      expect(slow.closed).toBe(false);
      expect(es.stats().clientsDropped).toBe(0);
    } finally {
      clearInterval(reading);
    }
  }, 40_000);
});
