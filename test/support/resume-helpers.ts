/**
 * Small helpers for the resume / history / fuzz / churn / slow-client / hostile suites:
 * a real HTTP server on an ephemeral 127.0.0.1 port, an SSE client over `node:http` that
 * parses with eventsource-parser, raw-socket requests, and bounded waits.
 */
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type RequestListener } from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createParser } from 'eventsource-parser';

export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:0 with `handler` (an Express app or any request listener). */
export async function listen(handler: RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export const STREAM_OPEN = 'stream-open';

/** Fails with `label` after `ms`; otherwise the promise's own outcome. */
export function within<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `condition` (every few ms) until true, failing after `ms`. For state with no event
 * to await (stats counters); everything with an event uses that event instead.
 */
export async function until(condition: () => boolean, ms: number, label: string | (() => string)): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${typeof label === 'string' ? label : label()}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Waiter {
  predicate: (client: SseClient) => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * One SSE request over `node:http` (no agent, so no pooling), parsed with eventsource-parser.
 * Keeps every complete event; `lastId` is the id of the last complete event that had one.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  headers: IncomingHttpHeaders = {};
  body = '';
  retry: number | undefined;
  lastId: string | undefined;
  ended = false;
  error: Error | undefined;
  private readonly waiters = new Set<Waiter>();
  private request!: http.ClientRequest;
  private readonly endedPromise: Promise<void>;
  private markEnded!: () => void;

  private constructor(private readonly keepBody: boolean) {
    this.endedPromise = new Promise((resolve) => (this.markEnded = resolve));
  }

  /** Opens the stream; resolves once the response head arrived. */
  static open(
    url: string,
    options: { headers?: Record<string, string>; keepBody?: boolean; timeoutMs?: number } = {},
  ): Promise<SseClient> {
    const client = new SseClient(options.keepBody ?? true);
    const parser = createParser({
      onEvent: (message) => {
        const event: SseEvent = { id: message.id, event: message.event, data: message.data };
        client.events.push(event);
        if (message.id !== undefined) client.lastId = message.id;
        client.check();
      },
      onRetry: (retry) => (client.retry = retry),
    });
    return within(
      new Promise<SseClient>((resolve, reject) => {
        const req = http.get(url, { agent: false, headers: { accept: 'text/event-stream', ...options.headers } });
        client.request = req;
        req.on('error', (err) => {
          client.error = err;
          client.finish();
          reject(err);
        });
        req.on('response', (res) => {
          client.status = res.statusCode ?? 0;
          client.headers = res.headers;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (client.keepBody) client.body += chunk;
            parser.feed(chunk);
          });
          res.on('error', () => {});
          res.on('close', () => client.finish());
          resolve(client);
        });
      }),
      options.timeoutMs ?? 5000,
      `response head from ${url}`,
    );
  }

  /** Events that carry application data: not `stream-open`, not `history-truncated`. */
  get data(): SseEvent[] {
    return this.events.filter((e) => e.event !== STREAM_OPEN && e.event !== 'history-truncated');
  }

  /** Resolves when `predicate` holds; rejects if the stream ends first or after `ms`. */
  waitFor(predicate: (client: SseClient) => boolean, ms = 5000, label = 'condition'): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    if (this.ended) return Promise.reject(new Error(`stream ended before ${label}; ${this.describe()}`));
    let waiter!: Waiter;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { predicate, resolve, reject };
      this.waiters.add(waiter);
    });
    return within(promise, ms, `${label}; ${this.describe()}`).finally(() => this.waiters.delete(waiter));
  }

  waitForOpen(ms = 5000): Promise<void> {
    return this.waitFor((c) => c.events.some((e) => e.event === STREAM_OPEN), ms, 'stream-open');
  }

  /** Waits until `count` data events arrived. */
  waitForData(count: number, ms = 5000): Promise<void> {
    return this.waitFor((c) => c.data.length >= count, ms, `${count} data events`);
  }

  /** Resolves when the response has closed (either side). */
  waitForEnd(ms = 5000): Promise<void> {
    return within(this.endedPromise, ms, `end of stream; ${this.describe()}`);
  }

  /** Drops the connection, as a browser tab closing or a network cut would. */
  close(): Promise<void> {
    this.request.destroy();
    return this.waitForEnd();
  }

  describe(): string {
    const tail = this.events.slice(-3).map((e) => `${e.event ?? 'message'}#${e.id ?? ''}`);
    return `status ${this.status}, ${this.events.length} events (last: ${tail.join(', ')}), ended=${this.ended}`;
  }

  private check(): void {
    for (const waiter of [...this.waiters]) {
      let ok = false;
      try {
        ok = waiter.predicate(this);
      } catch (err) {
        waiter.reject(err as Error);
        continue;
      }
      if (ok) waiter.resolve();
    }
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.markEnded();
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(this)) waiter.resolve();
      else waiter.reject(new Error(`stream ended; ${this.describe()}`));
    }
  }
}

export interface RawReply {
  /** Status code parsed from the first line; 0 when the server answered nothing. */
  status: number;
  head: string;
  body: string;
  /** True when the server closed the connection (as opposed to us timing out). */
  closedByServer: boolean;
}

/**
 * Sends raw bytes (a hand-written request) and collects what comes back until the server
 * closes, `until` matches the text so far, or `ms` passes. Never rejects on socket errors:
 * a reset is a legitimate answer to a hostile request.
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: { until?: (text: string) => boolean; ms?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const body = split === -1 ? '' : Buffer.concat(chunks).subarray(Buffer.byteLength(head, 'latin1') + 4).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body, closedByServer });
    };
    const timer = setTimeout(() => finish(false), options.ms ?? 5000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (options.until?.(Buffer.concat(chunks).toString('utf8'))) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** A GET request line plus headers, as bytes (header values may hold any byte). */
export function rawGet(path: string, headers: Record<string, string | Buffer> = {}): Buffer {
  const parts: Buffer[] = [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n`, 'latin1')];
  for (const [name, value] of Object.entries(headers)) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), typeof value === 'string' ? Buffer.from(value, 'latin1') : value, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** Removes chunked transfer-encoding framing from a (possibly truncated) body. */
export function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    const start = lineEnd + 2;
    out.push(body.subarray(start, Math.min(start + size, body.length)));
    at = start + size + 2;
  }
  return Buffer.concat(out);
}

/** Seeded PRNG (mulberry32): the same seed gives the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
