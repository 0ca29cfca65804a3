/**
 * Shared by the attack suites: a real Express server around an EventStream, raw-socket
 * requests, and the three things every attack must leave behind — no unhandled rejection or
 * uncaught exception, no open subscription, and a server that still serves.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { EventStream, type EventStreamOptions } from '../../src/index.js';
import { defer, runCleanups } from '../support/cleanup.js';
import { RawClient, type RawRequest } from '../support/raw.js';
import { pollUntil, withTimeout } from '../support/wait.js';

export const WAIT_MS = 5000;

/**
 * Fails the file when anything escapes as an unhandled rejection or uncaught exception
 * (a crash in production), and runs the clean-up stack after each test.
 */
export function watchForEscapes(): { escaped: unknown[] } {
  const escaped: unknown[] = [];
  const onEscape = (err: unknown): void => {
    escaped.push(err);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtException', onEscape);
  });
  afterEach(async () => {
    await runCleanups();
    // Emptied either way, so one test's escape does not fail the next.
    expect(escaped.splice(0), 'an error escaped as an unhandled rejection or uncaught exception').toEqual([]);
  });
  afterAll(() => {
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtException', onEscape);
  });
  return { escaped };
}

export interface Target {
  es: EventStream;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * An EventStream behind an Express app with the given routes. `scope: 'test'` (default) closes
 * both at the end of the test; `'file'` leaves that to the caller's afterAll (`target.close()`).
 */
export async function serve(
  options: EventStreamOptions,
  routes: (app: express.Express, es: EventStream) => void,
  scope: 'test' | 'file' = 'test',
): Promise<Target> {
  const es = new EventStream({ keepAliveInterval: 60_000, ...options });
  const app = express();
  routes(app, es);
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    await es.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  if (scope === 'test') defer(close);
  return { es, port, url: `http://127.0.0.1:${port}`, close };
}

/** Opens a raw request and waits for its head (or the socket closing). */
export async function rawHead(port: number, request: RawRequest): Promise<RawClient> {
  const client = await RawClient.get(port, request);
  await client.waitFor((c) => c.head !== undefined || c.closed, 'a response head', WAIT_MS);
  return client;
}

/** A 4xx whose body is one line of reason matching `reason`, with the connection answered in full. */
export async function expectRefusal(client: RawClient, status: number, reason?: RegExp): Promise<void> {
  expect(client.head?.status, client.rawText.slice(0, 300)).toBe(status);
  await client.waitForComplete(WAIT_MS);
  const body = client.bodyText;
  expect(body).toMatch(/^[^\r\n]+\n$/);
  if (reason !== undefined) expect(body).toMatch(reason);
}

/** Sends exact bytes on a fresh socket; resolves with everything received until `until` holds or it closes. */
export async function sendBytes(
  port: number,
  bytes: Buffer | string,
  until: (text: string) => boolean = () => false,
  ms = WAIT_MS,
): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  const done = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  socket.write(bytes);
  try {
    return await withTimeout(done, ms, `an answer to ${JSON.stringify(String(bytes).slice(0, 60))}`);
  } finally {
    socket.destroy();
  }
}

/** Status of the first response in `text` (raw HTTP), or NaN. */
export function statusOf(text: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? NaN);
}

/** Every subscription released: `stats().connections` and `subscribers` back to 0. */
export async function noneLeft(es: EventStream): Promise<void> {
  await pollUntil(
    () => es.stats().connections === 0 && es.stats().subscribers === 0,
    WAIT_MS,
    `no connection left (${JSON.stringify(es.stats())})`,
  );
}

/** A fresh client on `path` gets stream-open and a live event published to `channel`. */
export async function stillServes(target: Target, path: string, channel: string): Promise<void> {
  const client = await RawClient.get(target.port, { path });
  await client.waitForEvents(1, WAIT_MS);
  await target.es.publishEvent(channel, { event: 'alive', data: 'yes' });
  await client.waitFor((c) => c.events.some((e) => e.event === 'alive'), 'a live event', WAIT_MS);
  client.destroy();
}
