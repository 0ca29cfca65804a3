/**
 * Property (issue 16): random read speeds and publish patterns, on real sockets →
 *  - what gripstream holds for a client plus its response/socket buffer (`bufferedBytes`:
 *    the tick being gathered, live frames held behind a replay, `res.writableLength`) never
 *    passes maxBufferedBytes + two ticks' frames (+ one replay batch in flight while replaying);
 *  - clients reading at full speed are never dropped and get every event once, in order;
 *  - clients that read slowly or not at all are dropped, counted in stats().clientsDropped,
 *    and on reconnecting with their Last-Event-ID get every event they missed, once.
 *
 * Issue 21 adds: steps published by a loop that never yields (one tick of any size); a quiet
 * phase after the steps in which nothing is published, at whose end every stalled client
 * that was over the bound has been dropped by the stall watch (within STALL_DROP_MS plus two
 * looks), and a late client resuming with a junk Last-Event-ID (the whole history owed)
 * that never reads, held to the same bound plus one replay in flight.
 *
 * A full-speed reader is one that keeps up: each publish waits until those readers have
 * everything up to the publish before the previous one (they may still be draining it). The
 * seed is fixed; FC_SEED=<n> and FC_RUNS=<n> run other or more cases.
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import type { Subscriber } from '../../src/bus/Subscriber.js';
import { RawClient } from '../support/raw.js';
import { runCleanups } from '../support/cleanup.js';
import { observeFor, turn } from '../support/wait.js';
import { STALL_CHECK_MS, STALL_DROP_MS } from '../../src/bus/StallWatch.js';

const SEED = Number(process.env.FC_SEED ?? 20261201);
const RUNS = Number(process.env.FC_RUNS ?? 6);
/** Most a paced replay has in flight: the socket's high-water mark plus one batch. */
const REPLAY_IN_FLIGHT = 16 * 1024 + 64 * 1024 + 1024;
/** Chunk framing and SSE fields around each event's data, at most. */
const EVENT_OVERHEAD = 64;
const FLOOD_EVENT = 'f'.repeat(16 * 1024);
const FLOOD_LIMIT = 20_000;
const BURST_EVENT = 'b'.repeat(256 * 1024);

type Speed = { kind: 'full' } | { kind: 'stalled' } | { kind: 'slow'; bytesPer5ms: number };

interface Step {
  events: number;
  size: number;
  /** 'none': the next step is published in the same tick (a loop that never yields). */
  pause: 'turn' | 'timer' | 'none';
}

interface Scenario {
  bound: number;
  speeds: Speed[];
  steps: Step[];
  /** Nothing published for a while after the steps: only the stall watch can drop anyone. */
  quiet: boolean;
}

const speedArb: fc.Arbitrary<Speed> = fc.oneof(
  fc.constant<Speed>({ kind: 'full' }),
  fc.constant<Speed>({ kind: 'stalled' }),
  fc.integer({ min: 256, max: 16 * 1024 }).map<Speed>((bytesPer5ms) => ({ kind: 'slow', bytesPer5ms })),
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  bound: fc.constantFrom(64 * 1024, 256 * 1024, 1024 * 1024),
  // At least one full-speed reader and one other.
  speeds: fc
    .tuple(fc.array(speedArb, { minLength: 0, maxLength: 3 }), speedArb)
    .map(([rest, other]) => [{ kind: 'full' } as Speed, other.kind === 'full' ? ({ kind: 'stalled' } as Speed) : other, ...rest]),
  steps: fc.array(
    fc.record({
      events: fc.integer({ min: 1, max: 20 }),
      // From small events to ones larger than the smallest bound.
      size: fc.oneof(fc.integer({ min: 10, max: 2000 }), fc.integer({ min: 20_000, max: 150_000 })),
      // Unbiased: fast-check's bias picks the first value in most of a short run's cases.
      pause: fc.noBias(fc.constantFrom<Step['pause']>('turn', 'timer', 'none')),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  quiet: fc.noBias(fc.nat(99)).map((n) => n % 2 === 0),
});

/** Bytes of the largest tick: steps joined by 'none' pauses land in one. */
function largestTick(steps: readonly Step[]): number {
  let largest = 0;
  let run = 0;
  for (const step of steps) {
    run += step.events * (step.size + 20 * EVENT_OVERHEAD);
    largest = Math.max(largest, run);
    if (step.pause !== 'none') run = 0;
  }
  return largest;
}

interface Client {
  speed: Speed;
  raw: RawClient;
  res: ServerResponse | undefined;
  timer?: NodeJS.Timeout;
}

function subscribersOf(es: EventStream): Subscriber[] {
  const key = Object.getOwnPropertySymbols(es).find((s) => s.description === 'gripstream.state');
  const state = (es as unknown as Record<symbol, { bus: { subscribers(): Iterable<Subscriber> } }>)[key!]!;
  return [...state.bus.subscribers()];
}

const numbers = (raw: RawClient): number[] =>
  raw.events.filter((e) => e.event === 'm').map((e) => (JSON.parse(e.data) as { n: number }).n);
/** Events received besides stream-open (every other event is an 'm'): cheap enough to poll. */
const received = (raw: RawClient): number => raw.events.length - 1;

async function run(scenario: Scenario): Promise<void> {
  const { bound, speeds, steps, quiet } = scenario;
  const es = new EventStream({ maxBufferedBytes: bound, keepAliveInterval: 600_000, history: { maxEvents: 100_000, maxAge: 600_000, maxBytes: 256 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 } });
  const handler = es('feed');
  const responses = new Map<string, ServerResponse>();
  const server = http.createServer((req, res) => {
    responses.set(req.url!, res);
    void handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let peak = 0;
  let limit = 0;
  const violations: string[] = [];
  const sample = (): void => {
    for (const subscriber of subscribersOf(es)) {
      const held = subscriber.bufferedBytes;
      peak = Math.max(peak, held);
      if (held > limit) violations.push(`${held} > ${limit}`);
    }
  };
  const sampler = setInterval(sample, 1);
  const started = Date.now();
  try {
    const clients: Client[] = [];
    for (const [k, speed] of speeds.entries()) {
      const raw = await RawClient.get(port, { path: `/feed?c=${k}` });
      await raw.waitForEvents(1);
      clients.push({ speed, raw, res: responses.get(`/feed?c=${k}`) });
    }
    const full = clients.filter((c) => c.speed.kind === 'full');
    const others = clients.filter((c) => c.speed.kind !== 'full');
    for (const client of others) {
      client.raw.pause();
      const { speed } = client;
      if (speed.kind === 'slow') {
        client.timer = setInterval(() => {
          const available = client.raw.socket.readableLength;
          if (available === 0) client.raw.socket.read(0);
          else client.raw.socket.read(Math.min(available, speed.bytesPer5ms));
        }, 5);
      }
    }
    // Before a quiet phase, one tick larger than the bound and the kernel's socket buffers.
    const burstEvents = quiet ? Math.ceil((2 * bound + 8 * 1024 * 1024) / BURST_EVENT.length) : 0;
    const maxTick = Math.max(16 * 1024, largestTick(steps), burstEvents * (BURST_EVENT.length + EVENT_OVERHEAD)) + 20 * EVENT_OVERHEAD;
    limit = bound + 2 * maxTick;

    let n = 0;
    const fullHave = async (count: number, what: string): Promise<void> => {
      await Promise.all(full.map((c) => c.raw.waitFor((x) => x.closed || received(x) >= count, what, 20_000)));
      expect(full.filter((c) => c.raw.closed), `a full-speed reader was dropped (${what})`).toHaveLength(0);
    };
    // A small first event every client gets into its kernel buffer, so each has an id to resume from.
    await es.publishEvent('feed', { event: 'm', data: { n: n++ } });
    let beforePrevious = n;
    let yielded = true;
    let quietDrops = 0;
    for (const step of steps) {
      // Within a never-yielding run, the readers cannot have read anything: wait after it.
      if (yielded) await fullHave(beforePrevious, 'everything up to the publish before the previous one');
      if (yielded) beforePrevious = n;
      const data = 'd'.repeat(step.size);
      await es.publishEvents('feed', Array.from({ length: step.events }, () => ({ event: 'm', data: { n: n++, data } })));
      yielded = step.pause !== 'none';
      if (step.pause === 'turn') await turn();
      else if (step.pause === 'timer') await new Promise((resolve) => setTimeout(resolve, 2));
      if (yielded) sample();
    }
    await turn();
    sample();
    if (quiet) {
      await fullHave(n, 'every event before the burst');
      for (let i = 0; i < burstEvents; i++) await es.publishEvent('feed', { event: 'm', data: { n: n++, data: BURST_EVENT } });
      await turn();
      sample();
      // Clients stalled over the bound now are dropped without any further publish.
      const over = others.filter((c) => c.speed.kind === 'stalled' && c.res !== undefined && c.res.writableLength > bound);
      const deadline = Date.now() + STALL_DROP_MS + 2 * STALL_CHECK_MS;
      while (Date.now() < deadline && over.some((c) => !c.res!.destroyed)) await observeFor(50);
      for (const client of over) expect(client.res!.destroyed, 'a stalled client over the bound was dropped while the channel was quiet').toBe(true);
      quietDrops = over.length;
      await fullHave(n, 'every event, after the quiet phase');
      // Slow readers kept reading through it: the stall watch spares them.
      for (const client of others) if (client.speed.kind === 'slow') expect(client.res!.destroyed, 'a slow reader was dropped while the channel was quiet').toBe(false);
    }
    // A late client owed the whole history, that never reads: one replay in flight at most.
    limit = bound + 2 * maxTick + REPLAY_IN_FLIGHT;
    const late = await RawClient.get(port, { path: '/feed?late', headers: { 'Last-Event-ID': 'junk' }, retain: false });
    late.pause();
    others.push({ speed: { kind: 'stalled' }, raw: late, res: responses.get('/feed?late') });
    // Then publish until every client that does not keep up is dropped.
    let flood = 0;
    while (es.stats().clientsDropped < others.length && flood++ < FLOOD_LIMIT) {
      await fullHave(n - 1, 'the flood so far');
      await es.publishEvent('feed', { event: 'm', data: { n: n++, data: FLOOD_EVENT } });
      sample();
      await turn();
    }
    await fullHave(n, 'every event');
    expect(es.stats().clientsDropped, 'slow and stalled clients are dropped and counted').toBe(others.length);
    for (const client of full) expect(numbers(client.raw)).toEqual(Array.from({ length: n }, (_, i) => i));
    // The dropped ones read what reached them, then reconnect with their last complete id.
    limit = bound + 2 * maxTick + REPLAY_IN_FLIGHT;
    for (const [k, client] of others.entries()) {
      clearInterval(client.timer);
      client.raw.resume();
      await client.raw.waitForClose(10_000);
      expect(client.raw.complete, 'dropped, not ended').toBe(false);
      const first = numbers(client.raw);
      const lastId = [...client.raw.events].reverse().find((e) => e.event === 'm')?.id;
      expect(lastId, 'the dropped client had received at least one event').toBeDefined();
      const resumed = await RawClient.get(port, { path: `/feed?again=${k}`, headers: { 'Last-Event-ID': lastId! } });
      await resumed.waitFor((x) => x.closed || received(x) >= n - first.length, 'the resumed stream to reach the last event', 20_000);
      expect(resumed.closed).toBe(false);
      expect(resumed.events.some((e) => e.event === 'history-truncated')).toBe(false);
      expect([...first, ...numbers(resumed)]).toEqual(Array.from({ length: n }, (_, i) => i));
      resumed.destroy();
    }
    sample();
    expect(violations, 'bufferedBytes over the stated bound').toEqual([]);
    console.info(
      `[memory-bound] bound ${bound}, speeds ${speeds.map((s) => (s.kind === 'slow' ? `slow ${s.bytesPer5ms}B/5ms` : s.kind)).join(' ')}, ` +
        `${steps.length} steps${quiet ? `, quiet phase (${quietDrops} stalled over the bound dropped)` : ''} + ${flood} flood events = ${n} events; peak bufferedBytes ${peak} (stated limit ${bound + 2 * maxTick}); ${Date.now() - started} ms`,
    );
  } finally {
    clearInterval(sampler);
    await runCleanups();
    await es.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('property: memory per client stays within the stated bound; fast readers are never dropped', () => {
  it(`holds for random read speeds and publish patterns (seed ${SEED}, ${RUNS} runs; FC_SEED / FC_RUNS)`, async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, run), { seed: SEED, numRuns: RUNS, endOnFailure: true });
  }, 60_000 + RUNS * 20_000);
});
