import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT } from '../../../src/index.js';
import { runCleanups, track } from '../../support/cleanup.js';
import { collectGarbage } from '../../support/gc.js';
import { RawClient } from '../../support/raw.js';
import { startHttp } from '../../support/server.js';
import { observeFor, pollUntil } from '../../support/wait.js';

// Issue 21, item 6. A resume on many channels read every kept event into a record object
// per event per client before writing the first byte: 60 clients on 100 channels × 1,000
// events that never read held 17.3 MiB each (none dropped), and each resume cost 226 ms of
// CPU. Now a resume pulls events from the store as the client takes them: what a client that
// never reads costs stays within maxBufferedBytes, and the CPU is for what it takes.

afterEach(runCleanups);

const CHANNELS = Array.from({ length: 100 }, (_, i) => `c${i}`);
const PER_CHANNEL = 1000;
const BOUND = 1024 * 1024;
const CLIENTS = 30;

async function setup(history: { maxEvents?: number } = {}, maxBufferedBytes = BOUND) {
  const es = track(
    new EventStream({ maxBufferedBytes, keepAliveInterval: 60_000, history: { maxEvents: PER_CHANNEL, maxAge: 600_000, maxTotalBytes: 256 * 1024 * 1024, ...history } }),
  );
  const route = es(CHANNELS);
  const { port } = await startHttp((req, res) => void route(req, res));
  return { es, port };
}

/** 100,000 small events, round-robin over the channels (so a replay interleaves all of them). */
async function fill(es: EventStream, rounds = PER_CHANNEL, from = 0, pad = ''): Promise<void> {
  for (let i = from; i < from + rounds; i++) {
    for (const [k, channel] of CHANNELS.entries()) await es.publishEvent(channel, { event: 'm', data: { n: i * CHANNELS.length + k, pad } });
  }
}

const numbers = (client: RawClient): number[] =>
  client.events.filter((e) => e.event === 'm').map((e) => (JSON.parse(e.data) as { n: number }).n);

describe('a resume on many channels is bounded and costs what the client takes', () => {
  it(`${CLIENTS} clients with a junk Last-Event-ID that never read: memory per client within maxBufferedBytes, little CPU per resume`, async () => {
    const { es, port } = await setup();
    await fill(es);
    collectGarbage();
    collectGarbage();
    const before = process.memoryUsage();
    const cpuBefore = process.cpuUsage();
    const clients: RawClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const client = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': 'junk' }, retain: false });
      client.pause();
      clients.push(client);
    }
    await pollUntil(() => es.stats().connections === CLIENTS, 20_000, 'every client subscribed');
    // Each replay writes until its socket is full, then waits for a drain that never comes.
    await observeFor(300);
    const cpu = process.cpuUsage(cpuBefore);
    collectGarbage();
    collectGarbage();
    const after = process.memoryUsage();
    const heapPerClient = (after.heapUsed - before.heapUsed) / CLIENTS;
    const buffersPerClient = (after.arrayBuffers - before.arrayBuffers) / CLIENTS;
    const cpuPerResume = (cpu.user + cpu.system) / 1000 / CLIENTS;
    console.info(
      `[replay-bound] ${CLIENTS} unread resumes on 100 × 1,000 events: heap ${Math.round(heapPerClient)} B, ` +
        `array buffers ${Math.round(buffersPerClient)} B per client; CPU ${cpuPerResume.toFixed(1)} ms per resume ` +
        `(most of it encoding what the kernel's socket buffers, some MB on loopback, take of each replay)`,
    );
    // Was 17.3 MiB on the machine: a record per kept event per client.
    expect(heapPerClient + buffersPerClient).toBeLessThan(BOUND);
    expect(es.stats().clientsDropped).toBe(0);
  }, 60_000);

  it('a client that reads gets every kept event of every channel once, in publish order, then live ones', async () => {
    const { es, port } = await setup();
    await fill(es, 200);
    const client = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': 'junk' }, retain: false });
    await es.publishEvent('c7', { event: 'm', data: { n: 200 * CHANNELS.length } });
    await client.waitFor((c) => c.closed || numbers(c).length >= 200 * CHANNELS.length + 1, 'the whole replay and the live event', 30_000);
    expect(numbers(client)).toEqual(Array.from({ length: 200 * CHANNELS.length + 1 }, (_, i) => i));
    expect(client.events.filter((e) => e.event === HISTORY_TRUNCATED_EVENT)).toHaveLength(1);
    // Ids only grow: each is the event's position in the store.
    const ids = client.events.filter((e) => e.event === 'm').map((e) => Number(e.id));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  }, 60_000);

  it('a resume from a real id takes only what follows it', async () => {
    const { es, port } = await setup();
    await fill(es, 50);
    const first = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': 'junk' }, retain: false });
    await first.waitFor((c) => numbers(c).length >= 50 * CHANNELS.length, 'the replay', 30_000);
    const middle = first.events.filter((e) => e.event === 'm')[1234]!;
    first.destroy();
    const resumed = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': middle.id! }, retain: false });
    await resumed.waitFor((c) => numbers(c).length >= 50 * CHANNELS.length - 1235, 'the rest', 30_000);
    await observeFor(50);
    expect(numbers(resumed)).toEqual(Array.from({ length: 50 * CHANNELS.length - 1235 }, (_, i) => i + 1235));
    expect(resumed.events.some((e) => e.event === HISTORY_TRUNCATED_EVENT)).toBe(false);
  }, 60_000);

  it('events evicted before a slow client reached them: a history-truncated notice where they were, then the rest once', async () => {
    // A bound that spares the live events held behind the replay: this test is about eviction.
    const { es, port } = await setup({ maxEvents: 100 }, 64 * 1024 * 1024);
    const pad = 'p'.repeat(1000);
    await fill(es, 100, 0, pad);
    const client = await RawClient.get(port, { path: '/', headers: { 'Last-Event-ID': 'junk' }, retain: false });
    client.pause();
    await pollUntil(() => es.stats().connections === 1, 5000, 'the client subscribed');
    // The client has taken at most a socket's worth of the 10 MB; 100 more per channel evict what it was owed.
    await fill(es, 100, 100, pad);
    client.resume();
    await client.waitFor((c) => c.closed || numbers(c).includes(200 * CHANNELS.length - 1), 'the last event', 30_000);
    const got = numbers(client);
    expect(new Set(got).size, 'none twice').toBe(got.length);
    expect(got.every((n, i) => i === 0 || n > got[i - 1]!), 'in order').toBe(true);
    // Everything after the gap is there; the gap is announced where it is.
    const kinds = client.events.map((e) => (e.event === HISTORY_TRUNCATED_EVENT ? 'gap' : e.event));
    const gapAt = kinds.lastIndexOf('gap');
    expect(gapAt, 'a notice after the first events').toBeGreaterThan(kinds.indexOf('m'));
    const afterGap = client.events.slice(gapAt + 1).filter((e) => e.event === 'm').map((e) => (JSON.parse(e.data) as { n: number }).n);
    expect(afterGap[afterGap.length - 1]).toBe(200 * CHANNELS.length - 1);
    expect(afterGap).toEqual(Array.from({ length: afterGap.length }, (_, i) => afterGap[0]! + i));
    const notice = JSON.parse(client.events[gapAt]!.data) as { lastEventId: string };
    const beforeGap = client.events.slice(0, gapAt).filter((e) => e.event === 'm');
    expect(notice.lastEventId).toBe(beforeGap[beforeGap.length - 1]!.id);
    expect(client.closed).toBe(false);
  }, 60_000);
});
