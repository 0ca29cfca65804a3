import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { channelBytes } from '../../src/memory/RecordArena.js';
import { runCleanups, track } from '../support/cleanup.js';
import { collectGarbage } from '../support/gc.js';

// Issue 21, item 7. maxTotalBytes dropped the oldest events but not the channels they left
// empty, and did not count what a channel itself costs: 300,000 one-event publishes to
// distinct channels with maxTotalBytes 1 MiB held +68 MiB until the next sweep (up to 60 s).
// Now a channel costs the bound its bytes, and is forgotten the moment its last event goes.

afterEach(runCleanups);

const TOTAL = 1024 * 1024;
const PUBLISHES = 300_000;

function heldNow(): number {
  collectGarbage();
  collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe('maxTotalBytes bounds the store when channel names churn', () => {
  it(`${PUBLISHES.toLocaleString('en')} one-event publishes to distinct channels hold about maxTotalBytes, not a channel each`, async () => {
    const history = new MemoryHistory({ maxTotalBytes: TOTAL, maxAge: 600_000 });
    const es = track(new EventStream({ history }));
    const before = heldNow();
    for (let i = 0; i < PUBLISHES; i++) await es.publishEvent(`user-${i}`, { event: 'm', data: i });
    const after = heldNow();
    const grown = after - before;
    console.info(
      `[memory/channel-churn] ${PUBLISHES} channels through maxTotalBytes ${TOTAL}: ${history.size} events kept, ` +
        `${history.bytes} B counted, ${history.heldBytes} B held by the arena; heap + buffers grew ${(grown / 1048576).toFixed(1)} MiB`,
    );
    expect(history.bytes).toBeLessThanOrEqual(TOTAL);
    // The channels kept are only those with an event; each counted with its own cost.
    expect(history.size).toBeLessThan(TOTAL / channelBytes('user-299999'));
    // The arena stays within about twice what the bound counts; the rest is the Map and names.
    expect(history.heldBytes).toBeLessThan(4 * TOTAL);
    expect(grown).toBeLessThan(8 * TOTAL);
  }, 120_000);

  it('channels renumbered once most are gone: kept events, resumes and a replay under way are unaffected', () => {
    const history = new MemoryHistory({ maxTotalBytes: 1024 * 1024, maxAge: 600_000 });
    for (let i = 0; i < 3000; i++) history.keep(`once-${i}`, [{ event: 'm', data: 'x' }]);
    const kept = history.append('kept', ['k0', 'k1', 'k2'].map((data) => ({ event: 'm', data })));
    const source = history.replaySource(['kept', 'once-2999'], 'junk');
    const heldBefore = history.heldBytes;
    // The oldest go first: nearly all 3,000 one-off channels, so their slots are renumbered.
    history.keep('big', [{ event: 'm', data: 'b'.repeat(900 * 1024) }]);
    expect(history.size).toBeLessThan(500);
    const given: string[] = [];
    for (let next = source.next(); next !== undefined; next = source.next()) given.push(typeof next === 'object' ? next.data : 'LOST');
    expect(given).toEqual(['x', 'k0', 'k1', 'k2']);
    expect(history.readAfter(['kept'], 'junk').records.map((r) => r.data)).toEqual(['k0', 'k1', 'k2']);
    expect(history.readAfter(['kept'], kept[0]!.id)).toMatchObject({ complete: true, records: [{ data: 'k1' }, { data: 'k2' }] });
    const [k3] = history.append('kept', [{ event: 'm', data: 'k3' }]);
    expect(k3!.prevId).toBe(kept[2]!.id);
    expect(history.lastIds(['kept', 'big']).get('kept')).toBe(k3!.id);
    expect(history.bytes).toBeLessThanOrEqual(1024 * 1024);
    console.info(`[memory/channel-churn] renumbered: arena held ${heldBefore} B before, ${history.heldBytes} B after`);
    history.close();
  });

  it('a channel emptied by its own bounds is forgotten at once, and a resume on it is told events were lost', () => {
    const history = new MemoryHistory({ maxEvents: 1, maxAge: 600_000 });
    history.keep('a', [{ event: 'm', data: '1' }]);
    const [first] = history.append('b', [{ event: 'm', data: '2' }]);
    history.keep('b', [{ event: 'm', data: '3' }]);
    expect(history.size).toBe(2);
    expect(history.readAfter(['b'], first!.id).complete).toBe(true);
    // A byte bound below one event: the channel empties on its own publish.
    const tiny = new MemoryHistory({ maxBytes: 10, maxAge: 600_000 });
    const bytes0 = tiny.bytes;
    const [lost] = tiny.append('c', [{ event: 'm', data: 'x'.repeat(100) }]);
    expect(tiny.size).toBe(0);
    expect(tiny.bytes).toBe(bytes0);
    expect(tiny.lastIds(['c']).size).toBe(0);
    const replay = tiny.readAfter(['c'], String(lost!.seq - 1));
    expect(replay.records).toEqual([]);
    expect(replay.complete).toBe(false);
    history.close();
    tiny.close();
  });
});
