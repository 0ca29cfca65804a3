/**
 * An EventStream whose onConnect/onDisconnect calls are recorded, for the fetch transport and the
 * Hono tests. What a test makes is closed by the steps in `cleanups`, which the test file runs
 * from afterEach.
 */
import { EventStream, type ConnectionInfo, type EventStreamOptions } from '../../src/index.js';
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
