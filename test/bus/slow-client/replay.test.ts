import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import compression from 'compression';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream, HISTORY_TRUNCATED_EVENT } from '../../../src/index.js';
import { defer, runCleanups, track } from '../../support/cleanup.js';
import { collectGarbage } from '../../support/gc.js';
import { RawClient } from '../../support/raw.js';
import { startApp, startHttp } from '../../support/server.js';
import { observeFor, pollUntil, turn, withTimeout } from '../../support/wait.js';

// Issue 16, item 3: a replay is paced by the client's reading. A client owed a large replay
// that does not read costs the server about one replay batch, not the replay; live events
// published meanwhile are held (bounded) and follow the replay in order, none twice.

afterEach(runCleanups);

const BOUND = 1024 * 1024;
const EVENTS = 400;
const PAYLOAD = 'r'.repeat(20_000);
/** Most a paced replay may leave in a response: the socket's high-water mark plus one batch. */
const REPLAY_IN_FLIGHT = 16 * 1024 + 64 * 1024 + 1024;

async function setup(withCompression = false, maxEvents = EVENTS) {
  const es = track(
    new EventStream({ maxBufferedBytes: BOUND, keepAliveInterval: 60_000, history: { maxEvents, maxAge: 600_000 } }),
  );
  const handler = es('feed');
  const responses: ServerResponse[] = [];
  const record = (req: IncomingMessage, res: ServerResponse): void => {
    responses.push(res);
    void handler(req, res);
  };
  let port: number;
  if (withCompression) {
    // compression wraps res.write: the stream goes through the response, not raw chunks.
    const app = express();
    app.use(compression());
    app.get('/feed', record);
    ({ port } = await startApp(app));
  } else {
    ({ port } = await startHttp(record));
  }
  for (let i = 0; i < EVENTS; i++) await es.publishEvent('feed', { event: 'h', data: { i, p: PAYLOAD } });
  return { es, port, responses };
}

/** Opens `n` clients that resume with an unknown id (so they are owed everything) and never read. */
async function stalledResumes(port: number, n: number, httpVersion: '1.0' | '1.1' = '1.1'): Promise<RawClient[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, () =>
      RawClient.get(port, { path: '/feed', httpVersion, headers: { 'Last-Event-ID': 'junk', 'Accept-Encoding': 'gzip' } }),
    ),
  );
  for (const client of clients) client.pause();
  return clients;
}

/** The largest `writableLength` of any of `responses`, sampled every millisecond for `ms`. */
async function peakBuffered(responses: readonly ServerResponse[], ms: number): Promise<number> {
  let peak = 0;
  const sample = (): void => {
    for (const res of responses) peak = Math.max(peak, res.writableLength);
  };
  const timer = setInterval(sample, 1);
  defer(() => clearInterval(timer));
  await observeFor(ms);
  clearInterval(timer);
  sample();
  return peak;
}

const numbered = (client: RawClient, event: string): number[] =>
  client.events.filter((e) => e.event === event).map((e) => (JSON.parse(e.data) as { i: number }).i);

describe('a replay larger than maxBufferedBytes, to clients that do not read', () => {
  it('costs each about one replay batch in the server, not the replay (8 MB owed each)', async () => {
    const { es, port, responses } = await setup();
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    // Bare sockets, paused before the request goes out: nothing is read into this process.
    const clients = Array.from({ length: 5 }, () => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.pause();
      socket.on('error', () => {});
      socket.write('GET /feed HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: junk\r\n\r\n');
      defer(() => socket.destroy());
      return socket;
    });
    await pollUntil(() => es.stats().connections === 5, 10_000, 'five streams open');
    const peak = await peakBuffered(responses, 300);
    collectGarbage();
    const perClient = (process.memoryUsage().arrayBuffers - before) / clients.length;
    console.info(`[bus/slow-client/replay] peak writableLength ${peak} B; array buffers per client ${Math.round(perClient)} B`);
    expect(peak).toBeLessThanOrEqual(REPLAY_IN_FLIGHT);
    expect(perClient).toBeLessThan(BOUND);
    expect(es.stats().clientsDropped).toBe(0);
  });

  it('resumed later, each gets history-truncated, the whole replay, then the live events held meanwhile: in order, none twice', async () => {
    const { es, port } = await setup();
    const clients = await stalledResumes(port, 3);
    await pollUntil(() => es.stats().connections === 3, 5000, 'three streams open');
    // 50 live events while the replay waits for the clients: held behind it.
    for (let i = EVENTS; i < EVENTS + 50; i++) {
      await es.publishEvent('feed', { event: 'live', data: { i } });
      await turn();
    }
    for (const client of clients) client.resume();
    await Promise.all(clients.map((c) => c.waitFor((x) => x.closed || numbered(x, 'live').length === 50, 'replay and live events', 20_000)));
    for (const client of clients) {
      expect(client.closed).toBe(false);
      const kinds = client.events.map((e) => e.event);
      expect(kinds[0]).toBe('stream-open');
      expect(kinds[1]).toBe(HISTORY_TRUNCATED_EVENT);
      const all = client.events.filter((e) => e.event === 'h' || e.event === 'live');
      expect(all.map((e) => (JSON.parse(e.data) as { i: number }).i)).toEqual(Array.from({ length: EVENTS + 50 }, (_, i) => i));
      const ids = all.map((e) => BigInt(e.id!));
      for (let k = 1; k < ids.length; k++) expect(ids[k]! > ids[k - 1]!).toBe(true);
    }
    // And the stream goes on live.
    await es.publishEvent('feed', { event: 'live', data: { i: EVENTS + 50 } });
    await Promise.all(clients.map((c) => c.waitFor((x) => numbered(x, 'live').length === 51, 'the next live event')));
    expect(es.stats().clientsDropped).toBe(0);
  });

  it('a client whose held live events pass the bound while its replay waits is dropped; a reader is not', async () => {
    const { es, port } = await setup();
    const [stalled] = await stalledResumes(port, 1);
    const reader = await RawClient.get(port, { path: '/feed', retain: false });
    await reader.waitForEvents(1);
    const big = 'L'.repeat(50_000);
    let n = 0;
    while (es.stats().clientsDropped === 0 && n < 200) {
      await es.publishEvent('feed', { event: 'live', data: { i: n++, big } });
      await turn();
    }
    expect(es.stats().clientsDropped).toBe(1);
    // Held from earlier ticks may pass the bound by two ticks at most: 1 MiB / 50 KB ≈ 21.
    expect(n).toBeLessThanOrEqual(Math.ceil(BOUND / big.length) + 3);
    await reader.waitFor((c) => c.closed || c.events.filter((e) => e.event === 'live').length === n, 'every live event');
    expect(reader.closed).toBe(false);
    stalled!.resume();
    await stalled!.waitForClose(10_000);
    expect(es.stats().connections).toBe(1);
  });
});

describe.each([
  { path: 'HTTP/1.0 (no chunked encoding)', httpVersion: '1.0' as const, withCompression: false },
  { path: 'a compression middleware wrapping res.write', httpVersion: '1.1' as const, withCompression: true },
])('through res.write: $path', ({ httpVersion, withCompression }) => {
  it('the replay is paced the same way, and arrives whole once the clients read', async () => {
    const { es, port, responses } = await setup(withCompression);
    const clients = await stalledResumes(port, 2, httpVersion);
    await pollUntil(() => es.stats().connections === 2, 5000, 'two streams open');
    const peak = await peakBuffered(responses, 200);
    expect(peak).toBeLessThanOrEqual(REPLAY_IN_FLIGHT);
    for (const client of clients) client.resume();
    await Promise.all(clients.map((c) => c.waitFor((x) => x.closed || numbered(x, 'h').length === EVENTS, 'the whole replay', 20_000)));
    for (const client of clients) {
      expect(client.closed).toBe(false);
      expect(numbered(client, 'h')).toEqual(Array.from({ length: EVENTS }, (_, i) => i));
    }
    expect(es.stats().clientsDropped).toBe(0);
  });
});

describe('HTTP/2 (cleartext, node:http2 compatibility API)', () => {
  it('the replay is paced by the stream\'s flow control, and arrives whole once the client reads', async () => {
    const es = track(
      new EventStream({ maxBufferedBytes: BOUND, keepAliveInterval: 60_000, history: { maxEvents: EVENTS, maxAge: 600_000 } }),
    );
    const responses: http2.Http2ServerResponse[] = [];
    const server = http2.createServer((req, res) => {
      responses.push(res);
      void es.run(req, res, 'feed');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    defer(() => new Promise((resolve) => server.close(resolve)));
    for (let i = 0; i < EVENTS; i++) await es.publishEvent('feed', { event: 'h', data: { i, p: PAYLOAD } });
    const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    defer(() => session.destroy());
    const stream = session.request({ ':path': '/feed', accept: 'text/event-stream', 'last-event-id': 'junk' });
    stream.pause();
    await pollUntil(() => es.stats().connections === 1, 5000, 'the stream open');
    const peak = await peakBuffered(responses as unknown as ServerResponse[], 200);
    expect(peak).toBeLessThanOrEqual(REPLAY_IN_FLIGHT);
    let text = '';
    stream.setEncoding('utf8');
    const whole = new Promise<void>((resolve) => {
      stream.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes(`"i":${EVENTS - 1},`)) resolve();
      });
    });
    stream.resume();
    await withTimeout(whole, 20_000, 'the whole replay');
    const numbers = [...text.matchAll(/^data: \{"i":(\d+)/gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: EVENTS }, (_, i) => i));
    expect(es.stats().clientsDropped).toBe(0);
  });
});

describe('the fetch sink (ReadableStream) paces a replay the same way', () => {
  it('unread bodies cost about one pace of the queue, not the replay; a body read later has everything once', async () => {
    // Room for the live events too: a replay is read from the store as the client takes it,
    // so an event evicted before a slow client reaches it is gone (stall-replay.test.ts).
    const { es } = await setup(false, EVENTS + 10);
    const request = (): Request => new Request('http://localhost/feed', { headers: { accept: 'text/event-stream', 'last-event-id': 'junk' } });
    collectGarbage();
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    const responses = await Promise.all(Array.from({ length: 5 }, () => es.fetch(request(), 'feed')));
    await observeFor(100);
    collectGarbage();
    const perClient = (process.memoryUsage().arrayBuffers - before) / responses.length;
    console.info(`[bus/slow-client/replay] fetch: array buffers per unread body ${Math.round(perClient)} B`);
    // About one batch queued each (≤ REPLAY_IN_FLIGHT); the figure is noisy, the old cost was the replay (8 MB).
    expect(perClient).toBeLessThan(BOUND / 4);
    for (let i = EVENTS; i < EVENTS + 10; i++) await es.publishEvent('feed', { event: 'live', data: { i } });
    // Read one body to the end of the live events.
    const reader = responses[0]!.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(`"i":${EVENTS + 9}}`)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const numbers = [...text.matchAll(/^data: \{"i":(\d+)/gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(Array.from({ length: EVENTS + 10 }, (_, i) => i));
    expect(text.split(`event: ${HISTORY_TRUNCATED_EVENT}\n`)).toHaveLength(2);
    await reader.cancel();
    for (const response of responses.slice(1)) await response.body!.cancel();
    expect(es.stats().clientsDropped).toBe(0);
  });
});
