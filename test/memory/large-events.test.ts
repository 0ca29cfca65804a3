/**
 * The default in-memory history is bounded in bytes: a 100 MiB burst of 256 KB events to one
 * channel, through a real server, pins a few tens of MiB at most, and a client resuming from
 * the start of the burst is told `history-truncated` and gets what was kept.
 */
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT } from '../../src/index.js';
import { DEFAULT_HISTORY_MAX_BYTES } from '../../src/config/defaults.js';
import { listen, SseClient, until } from '../support/resume-helpers.js';
import { collectGarbage as gc } from '../support/gc.js';


const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MiB = 1024 * 1024;
const EVENT_BYTES = 256 * 1024;
const EVENTS = (100 * MiB) / EVENT_BYTES; // 400

/** Heap and off-heap memory (Buffers) in use after full collections. */
function retained(): { heapAndBuffers: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  return { heapAndBuffers: usage.heapUsed + usage.external, rss: usage.rss };
}

it('100 MiB of 256 KB events to one channel: a few tens of MiB kept, truncation on resume', async () => {
  const es = new EventStream({ keepAliveInterval: 60_000 });
  const app = express();
  app.get('/big', es('big'));
  const srv = await listen(app);
  cleanups.push(() => srv.close(), () => es.close());

  // Ids as a client sees them: the first and the last published.
  const ids: string[] = [];
  const watcher = await SseClient.open(`${srv.url}/big`);
  await watcher.waitForOpen();
  await es.publishEvent('big', { event: 'm', data: 'before the burst' });
  await watcher.waitForData(1);
  await watcher.close();
  ids.push(watcher.data[0]!.id!);
  // Measure the history alone: no subscriber may be holding the burst in its socket buffer
  // (the in-memory store resolves each publish at once, so the loop below never yields to I/O).
  await until(() => es.stats().connections === 0, 5_000, 'the watcher to leave');

  const before = retained();
  for (let i = 0; i < EVENTS; i++) {
    // JSON of a string is the string plus two quotes: 256 KB on the wire, each one distinct.
    await es.publishEvent('big', { event: 'm', data: `${String(i).padStart(6, '0')}:`.padEnd(EVENT_BYTES - 2, 'x') });
  }
  const after = retained();
  const kept = after.heapAndBuffers - before.heapAndBuffers;
  console.log(
    `[history-bytes] ${EVENTS} × 256 KB published to one channel: +${(kept / MiB).toFixed(1)} MiB heap+buffers, ` +
      `+${((after.rss - before.rss) / MiB).toFixed(1)} MiB rss retained`,
  );
  // 8 MiB kept per channel, up to 50 % slack in its buffer: well under 20 MiB.
  expect(kept).toBeLessThan(20 * MiB);

  const client = await SseClient.open(`${srv.url}/big`, { headers: { 'last-event-id': ids[0]! } });
  const keptEvents = Math.floor(DEFAULT_HISTORY_MAX_BYTES / (EVENT_BYTES + 1 + 64));
  await client.waitFor((c) => c.data.length >= keptEvents, 10_000, 'the kept events replayed');
  await client.close();
  expect(client.events[1]).toMatchObject({ event: HISTORY_TRUNCATED_EVENT, data: JSON.stringify({ lastEventId: ids[0] }) });
  const replayed = client.events.slice(2);
  expect(replayed).toHaveLength(keptEvents);
  // The newest ones, in order, intact.
  const numbers = replayed.map((e) => Number(JSON.parse(e.data).slice(0, 6)));
  expect(numbers).toEqual(Array.from({ length: keptEvents }, (_, i) => EVENTS - keptEvents + i));
  expect(replayed.every((e) => e.data.length === EVENT_BYTES)).toBe(true);
});
