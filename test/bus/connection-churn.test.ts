/**
 * Connection churn: 10,000 connect/disconnect cycles in concurrent batches, of several kinds
 * (complete opens, requests cut mid-headers, resumes cut mid-replay, client half-closes,
 * node:http aborts), with publishes going on. Afterwards nothing may be left: no subscriber,
 * no connection, onConnect/onDisconnect balanced, no MaxListenersExceededWarning, and the
 * heap after GC back within a few percent of where it started.
 */
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';
import { listen, prng, SseClient, until, type TestServer } from '../support/resume-helpers.js';

// Vitest runs this file in a forked worker without --expose-gc: turn it on from inside.
function getGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
const gc = getGc();

const CYCLES = 10_000;
/** Enough to settle JIT, pools and caches before the baseline is taken. */
const WARMUP = 2_000;
const BATCH = 100;
const HEAP_TOLERANCE = 0.05;

type Kind = 'open' | 'mid-headers' | 'mid-replay-immediate' | 'mid-replay-first-bytes' | 'half-close' | 'http-abort';
const KINDS: Array<[Kind, number]> = [
  ['open', 0.3],
  ['mid-headers', 0.2],
  ['mid-replay-immediate', 0.15],
  ['mid-replay-first-bytes', 0.15],
  ['half-close', 0.1],
  ['http-abort', 0.1],
];

let es: EventStream;
let srv: TestServer;
let firstId: string;
let connects = 0;
let disconnects = 0;
const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};

beforeAll(async () => {
  process.on('warning', onWarning);
  es = new EventStream({
    history: { maxEvents: 300 },
    onConnect: () => connects++,
    onDisconnect: () => disconnects++,
  });
  const app = express();
  app.get('/a', es('a', 'b'));
  srv = await listen(app);
  const watcher = await SseClient.open(`${srv.url}/a`, { keepBody: false });
  await watcher.waitForOpen();
  // Both channels filled to their cap (300 each), so history holds the same amount of data
  // before and after the churn; a resume from the first id replays all of it (~130 KB).
  const payload = 'r'.repeat(200);
  for (let i = 0; i < 600; i++) await es.publishEvent(i % 2 ? 'a' : 'b', { event: 'm', data: { i, payload } });
  await watcher.waitForData(600);
  firstId = watcher.data[0]!.id!;
  await watcher.close();
  await until(() => es.stats().connections === 0, 2000, 'watcher gone');
});

afterAll(async () => {
  process.off('warning', onWarning);
  await srv.close();
  await es.close();
});

function pickKind(random: () => number): Kind {
  let r = random();
  for (const [kind, weight] of KINDS) {
    if (r < weight) return kind;
    r -= weight;
  }
  return 'open';
}

/** One cycle; resolves when the client side socket is closed. Never rejects, never hangs. */
function cycle(kind: Kind, port: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const deadline = setTimeout(() => {
      socket?.destroy();
      request?.destroy();
      resolve();
    }, 5000);
    const done = (): void => {
      clearTimeout(deadline);
      resolve();
    };
    let socket: net.Socket | undefined;
    let request: http.ClientRequest | undefined;
    if (kind === 'http-abort') {
      request = http.get({ port, host: '127.0.0.1', path: '/a', agent: false, headers: { accept: 'text/event-stream' } });
      request.on('response', (res) => {
        res.once('data', () => request!.destroy());
      });
      request.on('error', () => {});
      request.on('close', done);
      return;
    }
    socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('close', done);
    const resume = `GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: ${firstId}\r\n\r\n`;
    const plain = 'GET /a HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n';
    socket.on('connect', () => {
      const s = socket!;
      switch (kind) {
        case 'open': {
          s.write(plain);
          let seen = '';
          s.on('data', (chunk: Buffer) => {
            seen += chunk.toString('latin1');
            if (seen.includes('stream-open')) s.destroy();
          });
          break;
        }
        case 'mid-headers':
          s.write('GET /a HTTP/1.1\r\nHost: x\r\nAcc');
          setImmediate(() => s.destroy());
          break;
        case 'mid-replay-immediate':
          s.write(resume);
          s.destroy();
          break;
        case 'mid-replay-first-bytes':
          s.write(resume);
          s.once('data', () => s.destroy());
          break;
        case 'half-close': {
          s.write(plain);
          let seen = '';
          s.on('data', (chunk: Buffer) => {
            seen += chunk.toString('latin1');
            if (seen.includes('stream-open')) s.end(); // FIN only: the server must notice and close
          });
          break;
        }
      }
    });
  });
}

async function churn(count: number, seed: number): Promise<Record<Kind, number>> {
  const random = prng(seed);
  const counts = Object.fromEntries(KINDS.map(([k]) => [k, 0])) as Record<Kind, number>;
  let published = 0;
  for (let start = 0; start < count; start += BATCH) {
    const batch: Array<Promise<void>> = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const kind = pickKind(random);
      counts[kind]++;
      batch.push(cycle(kind, srv.port));
    }
    // Publishes racing the batch: subscribers come and go while events are delivered.
    await es.publishEvent(published % 2 ? 'a' : 'b', { event: 'm', data: { churn: published++, payload: 'c'.repeat(190) } });
    await Promise.all(batch);
  }
  return counts;
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

function openSockets(): Promise<number> {
  return new Promise((resolve, reject) => srv.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}

/** Waits until the EventStream and the HTTP server both hold nothing (bounded). */
async function allGone(): Promise<void> {
  let sockets = -1;
  const deadline = Date.now() + 10_000;
  for (;;) {
    sockets = await openSockets();
    const stats = es.stats();
    if (stats.connections === 0 && stats.subscribers === 0 && sockets === 0) return;
    if (Date.now() > deadline) throw new Error(`leftovers after 10 s: ${JSON.stringify(stats)}, ${sockets} server sockets`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('connection churn', () => {
  it(
    `${CYCLES.toLocaleString('en')} connect/disconnect cycles leave nothing behind`,
    async () => {
      const started = Date.now();
      await churn(WARMUP, 1);
      await allGone();
      const heapBefore = gc === undefined ? undefined : await settledHeap();
      const counts = await churn(CYCLES, 2);
      await allGone();
      const heapAfter = gc === undefined ? undefined : await settledHeap();
      const stats = es.stats();
      expect(stats.connections).toBe(0);
      expect(stats.subscribers).toBe(0);
      expect(stats.channels).toEqual({});
      expect(disconnects).toBe(connects);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      expect(connects).toBeGreaterThan(CYCLES * 0.5);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (heapBefore === undefined || heapAfter === undefined) {
        console.warn('[churn] HEAP CHECK SKIPPED: no gc() available (neither --expose-gc nor v8.setFlagsFromString worked)');
        return;
      }
      const delta = heapAfter - heapBefore;
      console.info(
        `[churn] ${CYCLES} cycles (+${WARMUP} warm-up) in ${seconds}s: ${JSON.stringify(counts)}; ` +
          `${connects} streams opened and closed; heap ${(heapBefore / 1048576).toFixed(2)} MiB → ${(heapAfter / 1048576).toFixed(2)} MiB ` +
          `(${delta >= 0 ? '+' : ''}${(delta / 1024).toFixed(0)} KiB, ${((delta / heapBefore) * 100).toFixed(2)}%); warnings: ${warnings.length}`,
      );
      expect(heapAfter).toBeLessThanOrEqual(heapBefore * (1 + HEAP_TOLERANCE));
    },
    90_000,
  );
});
