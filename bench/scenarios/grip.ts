/**
 * GRIP scenario: the channel Writable publishing through a real Pushpin.
 *
 * Both GRIP-capable implementations (gripstream and the reference) run as in-process origins
 * behind one private Pushpin each (test/support/pushpin.ts). A client connected through Pushpin
 * counts the events; `pipeline(Readable.from(events), createChannelWritable(ch))` publishes.
 * Accepted events/s = N ÷ (pipeline start → pipeline end): the Writable's backpressure is the
 * proxy's acceptance. It counts only when the client received all N events.
 * The reference sends one publish request per event; gripstream batches what waits meanwhile.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pushpinAvailable, startPushpin } from '../../test/support/pushpin.ts';
import type { ScenarioResult } from './types.ts';

export const GRIP_IMPLEMENTATIONS = ['gripstream', 'reference'];
const CHANNEL = 'bench';
const DEADLINE_MS = 60_000;

interface GripLibrary {
  handler(req: http.IncomingMessage, res: http.ServerResponse): void;
  writable(): Writable;
  close(): Promise<void>;
}

async function load(name: string, controlUri: string): Promise<GripLibrary> {
  if (name === 'gripstream') {
    const { EventStream } = await import('../../src/index.ts');
    const es = new EventStream({ grip: controlUri });
    return { handler: es(CHANNEL), writable: () => es.createChannelWritable(CHANNEL), close: () => es.close() };
  }
  const { EventStream } = await import('@fanoutio/eventstream');
  const es = new EventStream({ grip: { control_uri: controlUri } });
  const handler = es(CHANNEL) as unknown as (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;
  return {
    handler: (req, res) => handler(req, res, () => undefined),
    writable: () => es.createChannelWritable(CHANNEL) as unknown as Writable,
    close: async () => undefined,
  };
}

export async function runGrip(name: string, events: number): Promise<Omit<ScenarioResult, 'implementation'>> {
  if (!GRIP_IMPLEMENTATIONS.includes(name)) {
    return { scenario: 'grip', status: 'skipped', metrics: {}, note: 'no GRIP support' };
  }
  if (!pushpinAvailable()) {
    return { scenario: 'grip', status: 'skipped', metrics: {}, note: 'pushpin not installed (apt-get install -y pushpin)' };
  }
  const publishPort = await freePortNear();
  const library = await load(name, `http://127.0.0.1:${publishPort}/`);
  const origin = http.createServer((req, res) => library.handler(req, res));
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const pushpin = await startPushpin({ originPort: (origin.address() as AddressInfo).port, publishPort });
  const controller = new AbortController();
  try {
    await pushpin.waitForOrigin('/');
    const counter = await connectCounter(`http://127.0.0.1:${pushpin.httpPort}/`, controller.signal);
    const payload = Array.from({ length: events }, (_, n) => ({ event: 'b', data: { n, t: Date.now() } }));
    const started = performance.now();
    await withDeadline(pipeline(Readable.from(payload), library.writable()), DEADLINE_MS, 'publishing');
    const acceptedMs = performance.now() - started;
    const complete = await counter.waitFor(events, 10_000);
    const deliveredMs = performance.now() - started;
    return {
      scenario: 'grip',
      status: complete ? 'ok' : 'incomplete',
      metrics: { gripAccepted: (events / acceptedMs) * 1000, gripDelivered: (counter.count() / deliveredMs) * 1000 },
      note: complete ? undefined : `client received ${counter.count()} of ${events}`,
      details: { events, acceptedMs, deliveredMs },
    };
  } catch (err) {
    return { scenario: 'grip', status: 'failed', metrics: {}, note: err instanceof Error ? err.message : String(err) };
  } finally {
    controller.abort();
    await pushpin.stop();
    await library.close();
    origin.closeAllConnections();
    origin.close();
  }
}

interface Counter {
  count(): number;
  waitFor(n: number, ms: number): Promise<boolean>;
}

/** One client through Pushpin counting `event: b` frames; resolves once the stream opened. */
async function connectCounter(url: string, signal: AbortSignal): Promise<Counter> {
  const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal });
  if (res.status !== 200 || res.body === null) throw new Error(`stream through pushpin answered ${res.status}`);
  let text = '';
  let seen = 0;
  const waiters: Array<() => void> = [];
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        // Count whole frames only; keep the unfinished tail for the next chunk.
        const end = text.lastIndexOf('\n\n');
        if (end < 0) continue;
        seen += text.slice(0, end).split('event: b\n').length - 1;
        text = text.slice(end + 2);
        for (const wake of waiters.splice(0)) wake();
      }
    } catch {
      // aborted at the end of the scenario
    }
  })();
  return {
    count: () => seen,
    async waitFor(n, ms) {
      const deadline = Date.now() + ms;
      while (seen < n && Date.now() < deadline) {
        await new Promise<void>((wake) => {
          waiters.push(wake);
          setTimeout(wake, 200);
        });
      }
      return seen >= n;
    },
  };
}

async function freePortNear(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} exceeded ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
