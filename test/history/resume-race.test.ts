/**
 * The subscribe-vs-replay race. A publisher runs a tight loop (yielding with setImmediate)
 * while 20 clients keep dropping their connection and resuming with Last-Event-ID. The store
 * answers `readAfter` asynchronously and late, as a shared store (Redis) would, which widens
 * the window between "subscribed" and "history read". Every client must end with exactly the
 * published sequence of its channels: strictly increasing, no gap, no duplicate.
 */
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EventStream,
  HISTORY_TRUNCATED_EVENT,
  MemoryHistory,
  type HistoryInput,
  type HistoryRecord,
  type HistoryStore,
  type Replay,
} from '../../src/index.js';
import { listen, prng, SseClient, type SseEvent, type TestServer } from '../support/resume-helpers.js';

type ReadMode = 'read-after-delay' | 'read-then-delay';

/**
 * MemoryHistory behind an async interface. `read-after-delay` takes its snapshot late (events
 * published during the delay are in the replay AND held live); `read-then-delay` takes it at
 * once and answers late (events published meanwhile are only held live). `asyncAppend` also
 * makes `append` resolve on a later turn, in order, like a pipelined Redis connection.
 */
class SlowStore implements HistoryStore {
  readonly inner = new MemoryHistory({ maxEvents: 1_000_000 });
  /** Every record in append order: the ground truth of what was published. */
  readonly published: HistoryRecord[] = [];
  reads = 0;

  constructor(
    private readonly mode: ReadMode,
    private readonly asyncAppend: boolean,
    private readonly random: () => number,
  ) {}

  append(channel: string, events: readonly HistoryInput[]): HistoryRecord[] | Promise<HistoryRecord[]> {
    const store = (): HistoryRecord[] => {
      const records = this.inner.append(channel, events);
      this.published.push(...records);
      return records;
    };
    if (!this.asyncAppend) return store();
    return new Promise((resolve) => setImmediate(() => resolve(store())));
  }

  async readAfter(channels: readonly string[], lastEventId: string): Promise<Replay> {
    this.reads++;
    if (this.mode === 'read-then-delay') {
      const replay = this.inner.readAfter(channels, lastEventId);
      await this.delay();
      return replay;
    }
    await this.delay();
    return this.inner.readAfter(channels, lastEventId);
  }

  close(): void {
    this.inner.close();
  }

  private delay(): Promise<void> {
    const r = this.random();
    if (r < 0.4) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => setTimeout(resolve, Math.floor(r * 4)));
  }
}

const CHANNEL_SETS = [['a'], ['b'], ['a', 'b'], ['a', 'b', 'c'], ['c', 'a']];
const CLIENTS = 20;
/** Events per run; fewer when every append also costs a loop turn. */
const EVENTS = { sync: 5_000, asyncAppend: 2_000 };

interface ClientOutcome {
  channels: string[];
  received: SseEvent[];
  connections: number;
  truncations: number;
  replayedConnections: number;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runRace(mode: ReadMode, asyncAppend: boolean, seed: number, events: number): Promise<{ store: SlowStore; outcomes: ClientOutcome[] }> {
  const random = prng(seed);
  const store = new SlowStore(mode, asyncAppend, random);
  const es = new EventStream({ history: store, keepAliveInterval: 60_000 });
  const app = express();
  app.get('/s', es((req) => String((req.query as Record<string, unknown>).ch).split(',')));
  const srv: TestServer = await listen(app);
  cleanups.push(() => srv.close(), () => es.close());

  let publisherDone = false;
  let announceDone!: () => void;
  const done = new Promise<void>((resolve) => (announceDone = resolve));

  const runClient = async (k: number, ready: () => void): Promise<ClientOutcome> => {
    const channels = CHANNEL_SETS[k % CHANNEL_SETS.length]!;
    const own = prng(seed * 31 + k);
    const outcome: ClientOutcome = { channels, received: [], connections: 0, truncations: 0, replayedConnections: 0 };
    let lastId: string | undefined;
    for (;;) {
      const headers: Record<string, string> = lastId === undefined ? {} : { 'last-event-id': lastId };
      const client = await SseClient.open(`${srv.url}/s?ch=${channels.join(',')}`, { headers, keepBody: false });
      outcome.connections++;
      if (outcome.connections === 1) {
        await client.waitForOpen();
        ready();
      }
      // Until a client has seen one id it has nothing to resume from (as in a browser), so its
      // first connection stays until the first event; the expected sequence starts at zero.
      if (lastId === undefined) await client.waitForData(1, 10_000);
      const finishing = publisherDone;
      if (!finishing) {
        // Stay connected for a random while, or hang up right away (mid-replay).
        const stay = own() < 0.25 ? 0 : Math.floor(own() * 15);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, stay)), done]);
      }
      if (publisherDone) {
        const expected = store.published.filter((r) => channels.includes(r.channel));
        const lastExpected = expected[expected.length - 1]!.id;
        await client.waitFor((c) => (c.lastId ?? lastId) === lastExpected, 10_000, `client ${k} reaches the last event`);
      }
      await client.close();
      const data = client.data;
      if (lastId !== undefined && data.length > 0) outcome.replayedConnections++;
      outcome.truncations += client.events.filter((e) => e.event === HISTORY_TRUNCATED_EVENT).length;
      outcome.received.push(...data);
      lastId = client.lastId ?? lastId;
      if (publisherDone && lastId !== undefined && finishingReached(store, channels, lastId)) break;
      if (!finishing && own() < 0.3) await new Promise((resolve) => setTimeout(resolve, Math.floor(own() * 3)));
    }
    return outcome;
  };

  const readies: Array<Promise<void>> = [];
  const clientRuns: Array<Promise<ClientOutcome>> = [];
  for (let k = 0; k < CLIENTS; k++) {
    let ready!: () => void;
    readies.push(new Promise((resolve) => (ready = resolve)));
    clientRuns.push(runClient(k, ready));
  }
  await Promise.all(readies);

  const channels = ['a', 'b', 'c'];
  for (let n = 0; n < events; n++) {
    await es.publishEvent(channels[Math.floor(random() * 3)]!, { event: 'm', data: n });
    if (random() < 0.5) await new Promise((resolve) => setImmediate(resolve));
  }
  publisherDone = true;
  announceDone();
  const outcomes = await Promise.all(clientRuns);
  return { store, outcomes };
}

function finishingReached(store: SlowStore, channels: string[], lastId: string): boolean {
  const expected = store.published.filter((r) => channels.includes(r.channel));
  return expected[expected.length - 1]!.id === lastId;
}

function check(store: SlowStore, outcomes: ClientOutcome[], events: number): void {
  expect(store.published).toHaveLength(events);
  for (const [k, outcome] of outcomes.entries()) {
    const expected = store.published.filter((r) => outcome.channels.includes(r.channel));
    const ids = outcome.received.map((e) => e.id);
    const label = `client ${k} on ${outcome.channels.join('+')} over ${outcome.connections} connections`;
    expect(outcome.truncations, label).toBe(0);
    // Duplicate-free and strictly increasing...
    const seqs = ids.map((id) => BigInt(id!));
    const firstBad = seqs.findIndex((s, i) => i > 0 && s <= seqs[i - 1]!);
    expect(firstBad, `${label}: order broken at ${firstBad}`).toBe(-1);
    // ...and gap-free against the published sequence of its channels.
    expect(ids, label).toEqual(expected.map((r) => r.id));
    expect(outcome.received.map((e) => e.data), label).toEqual(expected.map((r) => r.data));
  }
}

describe('resume race: publishes racing reconnects with an async, late store', () => {
  it.each([
    ['read-after-delay', false, 1],
    ['read-then-delay', false, 2],
    ['read-after-delay', true, 3],
    ['read-then-delay', true, 4],
  ] as const)(
    'store mode %s (async append: %s): every client gets each event exactly once, in order',
    async (mode, asyncAppend, seed) => {
      const events = asyncAppend ? EVENTS.asyncAppend : EVENTS.sync;
      const { store, outcomes } = await runRace(mode, asyncAppend, seed, events);
      check(store, outcomes, events);
      const connections = outcomes.reduce((sum, o) => sum + o.connections, 0);
      const replayed = outcomes.reduce((sum, o) => sum + o.replayedConnections, 0);
      console.info(
        `[resume-race] ${mode}${asyncAppend ? ' +async append' : ''}: ${events} events, ${CLIENTS} clients, ` +
          `${connections} connections, ${store.reads} history reads, ${replayed} resumed connections received events`,
      );
      // The race window was really exercised: many resumes, not a handful.
      expect(store.reads).toBeGreaterThan(CLIENTS * 5);
    },
    60_000,
  );
});
