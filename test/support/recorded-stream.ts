/**
 * An EventStream whose onConnect/onDisconnect calls are recorded, and the loopback servers and
 * fetch() clients the transport and framework tests put in front of it. What a test makes is
 * closed by the steps in `cleanups`, which the test file runs from afterEach.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStream, type ConnectionInfo, type EventStreamOptions } from '../../src/index.js';
import { fetchStream, type SseResponse } from './sse-response.js';
import { Waiter } from './waiter.js';

export interface Recorded {
  eventStream: EventStream;
  connects: ConnectionInfo[];
  disconnects: ConnectionInfo[];
  hooks: Waiter;
}

/** Clean-up steps, run last-in first-out from the test file's afterEach. */
export const cleanups: Array<() => unknown> = [];

/** An EventStream recording its hooks, closed after the test. */
export function track(options: EventStreamOptions = {}): Recorded {
  const hooks = new Waiter();
  const connects: ConnectionInfo[] = [];
  const disconnects: ConnectionInfo[] = [];
  const eventStream = new EventStream({
    ...options,
    onConnect: (info) => {
      connects.push(info);
      hooks.notify();
    },
    onDisconnect: (info) => {
      disconnects.push(info);
      hooks.notify();
    },
  });
  cleanups.push(() => eventStream.close());
  return { eventStream, connects, disconnects, hooks };
}

/**
 * `server` listening on an ephemeral loopback port, closed after the test (its open streams
 * cut first, or close() would wait for them); its base URL.
 */
export async function serveOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A fetch() of an event stream, read as events arrive; aborted after the test. */
export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseResponse> {
  const client = await fetchStream(url, headers);
  cleanups.push(() => client.close());
  return client;
}

/** A Request as a fetch runtime hands it over, with its own abort controller (the client). */
export function fetchRequest(url: string, headers: Record<string, string> = { accept: 'text/event-stream' }) {
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  return { request: new Request(url, { headers, signal: controller.signal }), controller };
}
