import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import type { ChannelPublisher } from '../../src/publish/ChannelPublisher.js';
import { runCleanups, track } from '../support/cleanup.js';
import { collectGarbage } from '../support/gc.js';

// Issue 21, item 8: getChannelPublisher kept one publisher per name for ever (100,000 names:
// +19.6 MiB). A publisher is now kept only while someone holds it, and is the same object
// for as long as they do.

afterEach(runCleanups);

const NAMES = 100_000;

/** Full collections with turns between them, so FinalizationRegistry callbacks run. */
async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await nextTurn();
  }
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

describe('getChannelPublisher keeps a publisher only while its caller holds it', () => {
  it(`${NAMES.toLocaleString('en')} publishers for distinct names, dropped by the caller, are not kept`, async () => {
    const es = track(new EventStream({ history: false }));
    const before = await settle();
    for (let i = 0; i < NAMES; i++) es.getChannelPublisher(`user-${i}`);
    const grown = (await settle()) - before;
    console.info(`[publisher-cache] ${NAMES} publishers made and dropped: heap grew ${(grown / 1048576).toFixed(2)} MiB`);
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });

  it('the same object for as long as the caller holds it, across collections; it still publishes', async () => {
    const es = track(new EventStream({ history: false }));
    const held: ChannelPublisher[] = Array.from({ length: 100 }, (_, i) => es.getChannelPublisher(`room-${i}`));
    for (let i = 0; i < 1000; i++) es.getChannelPublisher(`churn-${i}`);
    await settle();
    for (const [i, publisher] of held.entries()) expect(es.getChannelPublisher(`room-${i}`)).toBe(publisher);
    // Names are normalised before the lookup, as before.
    expect(es.getChannelPublisher(' room-0 '.trim())).toBe(held[0]);
    await expect(held[0]!.publishEvent({ event: 'm', data: 1 })).resolves.toBeUndefined();
    expect(es.stats().eventsPublished).toBe(1);
  });
});
