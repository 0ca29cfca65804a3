import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENTS_LOST } from '../../src/history/ReplaySource.js';
import type { HistoryRecord } from '../../src/history/HistoryStore.js';
import { MemoryHistory } from '../../src/memory/MemoryHistory.js';
import { replayCursorAfter } from '../../src/history/replay.js';

// Issue 21, item 6: a resume is pulled from the in-memory store as the client takes it
// (src/memory/ArenaReplay.ts), not read whole into a record per kept event.

const SEED = Number(process.env.FC_SEED ?? 20261207);
const RUNS = Number(process.env.FC_RUNS ?? 200);

describe('MemoryHistory.replaySource', () => {
  it('a resume costs time for what the client takes: opening it and taking 64 KiB is a small part of taking it all', async () => {
    const history = new MemoryHistory({ maxEvents: 1000, maxAge: 600_000, maxTotalBytes: 1e9 });
    const channels = Array.from({ length: 100 }, (_, i) => `c${i}`);
    for (let i = 0; i < 1000; i++) for (const c of channels) history.keep(c, [{ event: 'm', data: JSON.stringify({ n: i }) }]);
    const cpu = async (batches: number): Promise<number> => {
      let best = Infinity;
      for (let round = 0; round < 5; round++) {
        const start = process.cpuUsage();
        const cursor = await replayCursorAfter(history, channels, { kind: 'id', value: 'junk' });
        for (let n = 0; n < batches && cursor.nextBatch(64 * 1024) !== undefined; n++);
        const used = process.cpuUsage(start);
        best = Math.min(best, used.user + used.system);
      }
      return best / 1000;
    };
    const whole = await cpu(Infinity);
    const first = await cpu(1);
    console.info(`[replay-source] 100 × 1,000 events: resume + first 64 KiB ${first.toFixed(1)} ms, the whole 4.7 MB ${whole.toFixed(1)} ms`);
    // The first batch is ~1.4 % of the replay; reading every record up front made it most of it.
    expect(first).toBeLessThan(whole / 4);
    history.close();
  });

  it('model: what a source gives is the snapshot at its opening, in order, once; anything evicted before it was taken is announced where it was', async () => {
    type Op =
      | { kind: 'publish'; channel: number; events: number }
      | { kind: 'open'; channels: number[]; from: 'junk' | 'start' | number }
      | { kind: 'take'; cursor: number; count: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('publish' as const), channel: fc.nat(5), events: fc.integer({ min: 1, max: 4 }) }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('open' as const),
          channels: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 4 }),
          from: fc.oneof(fc.constant('junk' as const), fc.constant('start' as const), fc.nat(200)),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('take' as const), cursor: fc.nat(7), count: fc.integer({ min: 1, max: 6 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 120 }), fc.constantFrom(3, 8, 1000), async (ops, maxEvents) => {
        // A tiny layout: compactions and ring growth happen with a few events.
        const history = new MemoryHistory({ maxEvents, maxAge: 600_000, maxTotalBytes: 4000 }, Date.now, { blockBytes: 256, minRows: 4 });
        const published: HistoryRecord[] = [];
        const cursors: { snapshot: HistoryRecord[]; source: ReturnType<MemoryHistory['replaySource']>; got: (HistoryRecord | typeof EVENTS_LOST)[]; done: boolean }[] = [];
        let n = 0;
        for (const step of ops) {
          if (step.kind === 'publish') {
            const inputs = Array.from({ length: step.events }, () => ({ event: 'm', data: `d${n++}`, id: n % 3 === 0 ? `own-${n}` : undefined }));
            published.push(...history.append(`ch${step.channel}`, inputs));
          } else if (step.kind === 'open') {
            const channels = step.channels.map((c) => `ch${c}`);
            const id = step.from === 'junk' ? 'junk' : step.from === 'start' ? '' : (published[step.from % Math.max(1, published.length)]?.id ?? 'junk');
            const snapshot = history.readAfter(channels, id);
            const source = history.replaySource(channels, id);
            expect(source.complete).toBe(snapshot.complete);
            cursors.push({ snapshot: snapshot.records.map((r) => ({ ...r, id: r.id, data: r.data })), source, got: [], done: false });
          } else {
            const cursor = cursors[step.cursor % Math.max(1, cursors.length)];
            if (cursor === undefined || cursor.done) continue;
            for (let k = 0; k < step.count; k++) {
              const next = cursor.source.next();
              if (next === undefined) {
                cursor.done = true;
                break;
              }
              cursor.got.push(next === EVENTS_LOST ? next : { seq: next.seq, id: next.id, channel: next.channel, event: next.event, data: next.data });
            }
          }
        }
        for (const cursor of cursors) {
          while (!cursor.done) {
            const next = cursor.source.next();
            if (next === undefined) cursor.done = true;
            else cursor.got.push(next === EVENTS_LOST ? next : { seq: next.seq, id: next.id, channel: next.channel, event: next.event, data: next.data });
          }
          // Walk the snapshot: each of its events is given, in order, or left out with a notice
          // between the event given before the gap and the one given after it.
          let at = 0;
          let told = false;
          for (const item of cursor.got) {
            if (item === EVENTS_LOST) {
              told = true;
              continue;
            }
            let skipped = false;
            while (at < cursor.snapshot.length && cursor.snapshot[at]!.seq < item.seq) {
              at++;
              skipped = true;
            }
            expect(skipped && !told, 'an event of the snapshot was left out without a notice').toBe(false);
            told = false;
            const expected = cursor.snapshot[at++];
            expect(item).toEqual({ seq: expected?.seq, id: expected?.id, channel: expected?.channel, event: expected?.event, data: expected?.data });
          }
          // A tail left out (evicted, nothing after it) needs no notice: the stream goes on live.
        }
        history.close();
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
