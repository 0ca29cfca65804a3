/**
 * The in-memory history's layout (src/memory/RecordArena.ts, ByteBlocks.ts): one ring of
 * rows in publish order for all channels, events' bytes in shared blocks. Small blocks and
 * a small ring (the store's third constructor argument) bring its edges within a few
 * hundred events: the ring wrapping round, events crossing block boundaries or too large
 * for a block, many channels, channels dropped once empty, holes compacted away.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryHistory } from '../../src/index.js';
import { EVENTS_LOST } from '../../src/history/ReplaySource.js';
import { channelBytes, DEFAULT_LAYOUT, EVENT_OVERHEAD_BYTES } from '../../src/memory/RecordArena.js';
import { collectGarbage as gc } from '../support/gc.js';

// Property runs: fixed seed by default; FC_SEED / FC_RUNS for other or more runs (README).
const SEED = Number(process.env.FC_SEED ?? 20261202);
const RUNS = process.env.FC_RUNS === undefined ? undefined : Number(process.env.FC_RUNS);

/** Blocks of 1 KiB (events over 128 B get their own) and a ring of 16 rows to start with. */
const SMALL = { blockBytes: 1024, minRows: 16 };
/** What the index may hold besides what the bounds count (see the bound below). */
const ROW_BYTES = 48;

afterEach(() => {
  vi.useRealTimers();
});


function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const sizeOf = (event: string, data: string, id = ''): number =>
  Buffer.byteLength(event) + Buffer.byteLength(id) + Buffer.byteLength(data) + EVENT_OVERHEAD_BYTES;
const dataOf = (records: readonly { data: string }[]): string[] => records.map((r) => r.data);

/**
 * Memory held (blocks + typed arrays) against what the bounds count: blocks hold at most
 * twice the kept bytes plus two blocks (else they are compacted), the ring at most twice
 * twice the kept rows plus its slack; each row is counted as EVENT_OVERHEAD_BYTES.
 */
function heldBound(store: MemoryHistory, layout: { blockBytes: number; minRows: number }, channels = 64): number {
  const index = 4 * store.size * ROW_BYTES + 4 * layout.minRows * ROW_BYTES + 2 * 64 * Math.max(channels, 64);
  return 2 * store.bytes + 2 * layout.blockBytes + index;
}

describe('MemoryHistory arena: edges of the layout', () => {
  it('the ring wraps round many times; reads stay exact and it does not grow', () => {
    const store = new MemoryHistory({ maxEvents: 3 }, clock().now, SMALL);
    const records = Array.from({ length: 1000 }, (_, i) => store.append('a', [{ event: 'm', data: `e${i}` }])[0]!);
    expect(store.size).toBe(3);
    expect(dataOf(store.readAfter(['a'], records[996]!.id).records)).toEqual(['e997', 'e998', 'e999']);
    expect(store.readAfter(['a'], records[996]!.id).complete).toBe(true);
    expect(store.readAfter(['a'], records[995]!.id)).toMatchObject({ complete: false });
    expect(store.heldBytes).toBeLessThanOrEqual(heldBound(store, SMALL));
    // Chained prev-ids survive the wrap.
    expect(store.readAfter(['a'], records[997]!.id).records.map((r) => r.prevId)).toEqual([records[997]!.id, records[998]!.id]);
  });

  it('an event larger than a block gets a block of its own, given back when it is evicted', () => {
    const store = new MemoryHistory({ maxEvents: 1 }, clock().now, SMALL);
    store.append('a', [{ event: 'm', data: 'small' }]);
    const before = store.heldBytes;
    const big = 'é'.repeat(5000); // 10,000 bytes of UTF-8
    const [kept] = store.append('a', [{ event: 'm', data: big }]);
    expect(store.heldBytes - before).toBeGreaterThanOrEqual(10_000);
    expect(store.readAfter(['a'], String(kept!.seq - 1)).records.map((r) => r.data)).toEqual([big]);
    store.append('a', [{ event: 'm', data: 'after' }]);
    expect(store.heldBytes).toBeLessThan(before + 10_000);
    expect(dataOf(store.readAfter(['a'], kept!.id).records)).toEqual(['after']);
  });

  it('events across block boundaries: the store-wide bound evicts them whole, blocks are given back', () => {
    const each = sizeOf('m', 'x'.repeat(100));
    // Room for twenty events and the seven channels they are on (each channel counts, issue 21).
    const store = new MemoryHistory({ maxTotalBytes: each * 20 + 7 * channelBytes('c0') }, clock().now, SMALL);
    // 100-byte events in 1 KiB blocks: nine to a block, the tenth starts the next one.
    const records = Array.from({ length: 200 }, (_, i) =>
      store.append(`c${i % 7}`, [{ event: 'm', data: String(i).padStart(3, '0').padEnd(100, 'x') }])[0]!,
    );
    expect(store.size).toBe(20);
    const all = store.readAfter(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'], String(records[0]!.seq - 1));
    expect(all.records.map((r) => Number(r.data.slice(0, 3)))).toEqual(Array.from({ length: 20 }, (_, i) => 180 + i));
    expect(all.records.every((r) => r.data.length === 100)).toBe(true);
    expect(store.heldBytes).toBeLessThanOrEqual(heldBound(store, SMALL));
  });

  it('many channels with one event each: every one kept and found', () => {
    const store = new MemoryHistory({}, clock().now);
    const records = Array.from({ length: 20_000 }, (_, i) => store.append(`user-${i}`, [{ event: 'm', data: `d${i}` }])[0]!);
    expect(store.size).toBe(20_000);
    for (const i of [0, 1, 9_999, 19_999]) {
      expect(store.readAfter([`user-${i}`], String(records[0]!.seq - 1))).toMatchObject({
        records: [{ seq: records[i]!.seq, id: records[i]!.id, channel: `user-${i}`, data: `d${i}` }],
        complete: true,
      });
      expect(store.lastIds([`user-${i}`])).toEqual(new Map([[`user-${i}`, records[i]!.id]]));
    }
    expect(store.heldBytes).toBeLessThanOrEqual(heldBound(store, { blockBytes: 256 * 1024, minRows: 1024 }, 20_000));
  });

  it('channels left empty are dropped by the sweep; memory is given back; their floor is kept', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const c = clock();
    const store = new MemoryHistory({ maxAge: 1000 }, c.now, SMALL);
    const first = Array.from({ length: 300 }, (_, i) => store.append(`ch${i % 30}`, [{ event: 'm', data: 'x'.repeat(50) }])[0]!);
    expect(store.heldBytes).toBeGreaterThan(300 * 50);
    c.advance(2000);
    vi.advanceTimersByTime(1000);
    expect(store.size).toBe(0);
    expect(store.heldBytes).toBeLessThan(16 * 1024); // no block, the ring at its smallest
    // A swept channel cannot vouch for what it had: a resume from its old id is truncated.
    expect(store.readAfter(['ch3'], first[3]!.id)).toMatchObject({ records: [], complete: false });
    const again = store.append('ch3', [{ event: 'm', data: 'new' }])[0]!;
    expect(store.readAfter(['ch3'], first[3]!.id)).toMatchObject({ records: [{ data: 'new' }], complete: false });
    expect(store.readAfter(['ch3'], String(again.seq - 1))).toMatchObject({ records: [{ data: 'new' }], complete: true });
    store.close();
  });

  it('holes left by busy channels are compacted: memory stays bounded, a quiet event is kept', () => {
    const store = new MemoryHistory({ maxEvents: 1 }, clock().now);
    const quiet = store.append('quiet', [{ event: 'm', data: 'q' }])[0]!;
    let peak = 0;
    for (let i = 0; i < 200_000; i++) {
      store.append(`busy${i % 3}`, [{ event: 'm', data: 'y'.repeat(200) }]);
      if (i % 1000 === 999) {
        peak = Math.max(peak, store.heldBytes);
      }
    }
    // 200,000 × 200 B went through; 4 events are kept, so almost everything was compacted away.
    expect(store.size).toBe(4);
    expect(peak).toBeLessThanOrEqual(heldBound(store, { blockBytes: 256 * 1024, minRows: 1024 }));
    expect(store.readAfter(['quiet'], String(quiet.seq - 1))).toMatchObject({ records: [{ data: 'q' }], complete: true });
    console.info(`[memory/arena] a quiet event kept while 200,000 events of 200 B went through busy channels: at most ${(peak / 1024).toFixed(0)} KiB held`);
  });

  it('a read points at the kept bytes: holding it copies nothing, and it stays right after eviction and compaction', () => {
    const store = new MemoryHistory({ maxEvents: 400 }, clock().now);
    const payload = (i: number): string => `${String(i).padStart(4, '0')}:`.padEnd(20_000, 'x');
    for (let i = 0; i < 400; i++) store.append('big', [{ event: 'm', data: payload(i) }]);
    gc();
    const before = process.memoryUsage().heapUsed;
    // Twenty resuming clients, each owed all 400 events (8 MB): they hold references, not copies.
    const reads = Array.from({ length: 20 }, () => store.readAfter(['big'], 'unknown'));
    gc();
    const perRead = (process.memoryUsage().heapUsed - before) / reads.length;
    console.info(`[memory/arena] a read owed 400 events of 20 KB holds ${(perRead / 1024).toFixed(0)} KiB of heap`);
    expect(perRead).toBeLessThan(512 * 1024);
    // Everything read is then evicted and its blocks compacted away or dropped.
    const quietStore = reads[0]!.records;
    for (let i = 0; i < 2000; i++) store.append(`other${i % 5}`, [{ event: 'm', data: 'y'.repeat(300) }]);
    for (let i = 0; i < 400; i++) store.append('big', [{ event: 'm', data: 'new' }]);
    expect(store.readAfter(['big'], 'unknown').records.every((r) => r.data === 'new')).toBe(true);
    expect(quietStore.map((r) => r.data)).toEqual(Array.from({ length: 400 }, (_, i) => payload(i)));
    expect(quietStore[1]!.prevId).toBe(quietStore[0]!.id);
  });

  it('a steady store holds little more than it counts', () => {
    // The per-user case: 5,000 channels, 100 B events, nothing evicted.
    const store = new MemoryHistory({}, clock().now);
    for (let i = 0; i < 40_000; i++) store.append(`user-${i % 5000}`, [{ event: 'message', data: 'z'.repeat(100) }]);
    const ratio = store.heldBytes / store.bytes;
    console.info(`[memory/arena] 40,000 events of 100 B on 5,000 channels: ${store.bytes} B counted, ${store.heldBytes} B held (${ratio.toFixed(2)}×)`);
    expect(ratio).toBeLessThan(1.5);
  });
});

describe('MemoryHistory against a model (fast-check)', () => {
  // A plain-array store with the same rules: the arena's ring, blocks, chains, sweep and
  // compaction must answer exactly like it, in the default layout and in a small one.
  // Publisher ids are of two kinds: a few shared names reused everywhere, and per-channel
  // counters ('1', '2', … in each channel: unique within it, the same across channels). A read
  // may resume from an event a client really got; whenever the store says complete and the id
  // is unique within each channel read, the replay must be exactly what was published after it.
  interface Kept { seq: number; channel: string; id: string | undefined; event: string; data: string; time: number; size: number }
  type Op =
    /** ids: a shared name `id<n>`, COUNTER (the channel's next counter), or none. */
    | { kind: 'append'; channel: number; sizes: number[]; ids: (number | undefined)[] }
    | { kind: 'tick'; ms: number }
    | { kind: 'sweep' }
    | { kind: 'read'; channels: number[]; pick: number; custom: boolean; seen: boolean };
  const COUNTER = -1;
  const CHANNELS = 6;
  const EVENT_NAMES = ['m', 'é', 'n'.repeat(70)];

  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 10, arbitrary: fc.record({
      kind: fc.constant('append' as const),
      channel: fc.nat(CHANNELS - 1),
      // Mostly events that share blocks, some larger than a block.
      sizes: fc.array(fc.oneof({ weight: 4, arbitrary: fc.nat(120) }, { weight: 1, arbitrary: fc.integer({ min: 500, max: 3000 }) }), { minLength: 1, maxLength: 3 }),
      ids: fc.array(fc.option(fc.oneof(fc.nat(4), fc.constant(COUNTER), fc.constant(COUNTER)), { nil: undefined, freq: 3 }), { minLength: 3, maxLength: 3 }),
    }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(60) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
    { weight: 3, arbitrary: fc.record({
      kind: fc.constant('read' as const),
      channels: fc.uniqueArray(fc.nat(CHANNELS - 1), { minLength: 1, maxLength: 3 }),
      pick: fc.nat(1000),
      custom: fc.boolean(),
      seen: fc.boolean(),
    }) },
  );
  const limitsArb = fc.record({
    maxEvents: fc.integer({ min: 1, max: 40 }),
    maxBytes: fc.integer({ min: 300, max: 20_000 }),
    maxTotalBytes: fc.integer({ min: 300, max: 40_000 }),
  })
    // A total below the per-channel bound is refused (one channel could never hold maxBytes).
    .map((limits) => ({ ...limits, maxTotalBytes: Math.max(limits.maxTotalBytes, limits.maxBytes) }));

  it.each([
    ['small blocks and ring', SMALL],
    ['the default layout', DEFAULT_LAYOUT],
  ])('%s: answers every read like the model, within its memory bound', (_name, layout) => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 400 }), limitsArb, (ops, limits) => {
        const c = clock();
        const store = new MemoryHistory({ ...limits, maxAge: 100 }, c.now, layout);
        const kept: Kept[] = [];
        /** Channels the store has (their evicted-up-to); others read the floor of dropped ones. */
        const exists = new Map<string, number>();
        let droppedUpTo = 0;
        /** Channels (with a slot) that evicted an event with a publisher id; the floor of dropped ones. */
        const evictedIds = new Set<string>();
        let droppedIds = false;
        const firstSeq = c.now() * 1000;
        let sweeping = false;
        const handed: { id: string }[] = [];
        /** Everything ever published: what a client may have seen. */
        const log: { seq: number; channel: string; id: string }[] = [];
        const counters = new Map<string, number>();
        const forget = (channel: string): void => {
          droppedUpTo = Math.max(droppedUpTo, exists.get(channel)!);
          droppedIds ||= evictedIds.delete(channel);
          exists.delete(channel);
        };
        const dropFrom = (victim: Kept): void => {
          kept.splice(kept.indexOf(victim), 1);
          exists.set(victim.channel, Math.max(exists.get(victim.channel) ?? 0, victim.seq));
          if (victim.id !== undefined) evictedIds.add(victim.channel);
          // A channel is forgotten the moment its last event goes (issue 21).
          if (kept.some((k) => k.channel === victim.channel)) return;
          forget(victim.channel);
        };
        /** What the store-wide bound counts: the events, and each channel that has some. */
        const counted = (): number =>
          kept.reduce((n, k) => n + k.size, 0) + [...exists.keys()].reduce((n, ch) => n + channelBytes(ch), 0);
        const evictChannel = (channel: string): void => {
          for (;;) {
            const mine = kept.filter((k) => k.channel === channel);
            const bytes = mine.reduce((n, k) => n + k.size, 0);
            if (mine.length === 0) return;
            if (mine.length <= limits.maxEvents && bytes <= limits.maxBytes && mine[0]!.time >= c.now() - 100) return;
            dropFrom(mine[0]!);
          }
        };
        for (const o of ops) {
          if (o.kind === 'tick') c.advance(o.ms);
          else if (o.kind === 'sweep') {
            if (!sweeping) continue;
            vi.advanceTimersByTime(1000);
            for (const channel of [...exists.keys()]) {
              evictChannel(channel);
              if (!exists.has(channel) || kept.some((k) => k.channel === channel)) continue;
              forget(channel);
            }
          } else if (o.kind === 'append') {
            const channel = `ch${o.channel}`;
            if (!exists.has(channel)) {
              exists.set(channel, droppedUpTo);
              // A new slot may be a channel dropped before: it inherits the floor.
              if (droppedIds) evictedIds.add(channel);
            }
            const idOf = (pick: number | undefined): string | undefined => {
              if (pick === undefined) return undefined;
              if (pick !== COUNTER) return `id${pick}`;
              const next = (counters.get(channel) ?? 0) + 1;
              counters.set(channel, next);
              return String(next);
            };
            const inputs = o.sizes.map((n, i) => ({
              event: EVENT_NAMES[n % EVENT_NAMES.length]!,
              data: 'é'.repeat(n >> 1) + 'x'.repeat(n & 1),
              id: idOf(o.ids[i]),
            }));
            for (const [i, r] of store.append(channel, inputs).entries()) {
              const input = inputs[i]!;
              expect(r.event).toBe(input.event);
              expect(r.data).toBe(input.data);
              kept.push({ seq: r.seq, channel, id: input.id, event: input.event, data: input.data, time: c.now(), size: sizeOf(input.event, input.data, input.id ?? '') });
              handed.push({ id: r.id });
              log.push({ seq: r.seq, channel, id: r.id });
            }
            sweeping = true;
            evictChannel(channel);
            while (kept.length > 0 && counted() > limits.maxTotalBytes) dropFrom(kept[0]!);
          } else {
            const channels = o.channels.map((n) => `ch${n}`);
            for (const ch of channels) if (exists.has(ch)) evictChannel(ch);
            const recent = handed.length === 0 || o.pick % 25 === 0 ? undefined : handed[handed.length - 1 - (o.pick % Math.min(handed.length, 40))];
            // An event a client on these channels really got (any age, evicted or not).
            const mine = log.filter((e) => channels.includes(e.channel));
            const seen = o.seen && mine.length > 0 ? mine[mine.length - 1 - (o.pick % mine.length)] : undefined;
            const asked = seen?.id ?? (o.custom ? `id${o.pick % 5}` : (recent?.id ?? 'unknown'));
            const matches = kept.filter((k) => channels.includes(k.channel) && k.id === asked);
            // A channel that does not keep the id but evicted publisher ids may have had it.
            const elsewhere = channels.some(
              (ch) => !matches.some((k) => k.channel === ch) && (exists.has(ch) ? evictedIds.has(ch) : droppedIds),
            );
            const numeric = /^\d+$/.test(asked) ? Number(asked) : undefined;
            const position = matches.length > 0 ? (elsewhere ? undefined : Math.min(...matches.map((k) => k.seq))) : numeric;
            const after = position ?? -Infinity;
            const expected = kept.filter((k) => channels.includes(k.channel) && k.seq > after);
            const exact = matches.length > 0 ? matches.length === 1 && !elsewhere : numeric !== undefined;
            const complete = exact && after >= firstSeq && channels.every((ch) => (exists.get(ch) ?? droppedUpTo) <= after);
            const replay = store.readAfter(channels, asked);
            const got = replay.records.map((r) => [r.seq, r.channel, r.event, r.id, r.data]);
            expect(got).toEqual(expected.map((k) => [k.seq, k.channel, k.event, k.id ?? String(k.seq), k.data]));
            expect(replay.complete).toBe(complete);
            // The lazy path (resumes over HTTP, src/memory/ArenaReplay.ts) looks the id up the same way.
            const source = store.replaySource(channels, asked);
            const pulled: unknown[] = [];
            for (let next = source.next(); next !== undefined; next = source.next()) {
              pulled.push(next === EVENTS_LOST ? 'lost' : [next.seq, next.channel, next.event, next.id, next.data]);
            }
            expect(pulled).toEqual(got);
            expect(source.complete).toBe(complete);
            // The promise itself, whatever the rule: complete means nothing the client missed is left out.
            const uniqueInEach = channels.every((ch) => log.filter((e) => e.channel === ch && e.id === asked).length <= 1);
            if (seen !== undefined && replay.complete && uniqueInEach) {
              expect(replay.records.map((r) => r.seq)).toEqual(mine.filter((e) => e.seq > seen.seq).map((e) => e.seq));
            }
          }
          expect(store.size).toBe(kept.length);
          expect(store.bytes).toBe(counted());
          expect(store.heldBytes).toBeLessThanOrEqual(heldBound(store, layout));
        }
        store.close();
      }),
      { seed: SEED, numRuns: RUNS ?? 150 },
    );
  });
});
