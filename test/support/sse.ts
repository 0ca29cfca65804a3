import { EventSource, type ErrorEvent } from 'eventsource';
import { defer } from './cleanup.js';
import { Waiters } from './wait.js';

export interface Received {
  type: string;
  data: string;
  lastEventId: string;
}

export interface SseOptions {
  /** Event types to listen for besides 'message' and 'stream-open' (EventSource needs names up front). */
  types?: readonly string[];
  headers?: Record<string, string>;
}

/**
 * An `eventsource` (npm, v4) client that records every event of the listened types in arrival
 * order. `nextEvent(type)` hands out each event once; `until(predicate)` waits on the whole list.
 */
export class SseClient {
  readonly source: EventSource;
  readonly events: Received[] = [];
  readonly errors: ErrorEvent[] = [];
  opens = 0;
  private readonly taken = new Set<number>();
  private readonly waiters = new Waiters();

  constructor(url: string, options: SseOptions = {}) {
    const headers = options.headers;
    this.source = new EventSource(url, {
      fetch: headers === undefined ? undefined : (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
    });
    const types = new Set(['message', 'stream-open', ...(options.types ?? [])]);
    for (const type of types) {
      this.source.addEventListener(type, (event) => {
        this.events.push({ type: event.type, data: event.data, lastEventId: event.lastEventId });
        this.waiters.notify();
      });
    }
    this.source.addEventListener('open', () => {
      this.opens++;
      this.waiters.notify();
    });
    this.source.addEventListener('error', (err) => {
      this.errors.push(err);
      this.waiters.notify();
    });
    defer(() => this.close());
  }

  /** The next event of `type` not handed out before (waits for it if need be). */
  async nextEvent(type: string, ms = 5000): Promise<Received> {
    let found = -1;
    await this.waiters.wait(
      () => {
        found = this.events.findIndex((e, i) => e.type === type && !this.taken.has(i));
        return found !== -1;
      },
      ms,
      `an event of type ${JSON.stringify(type)}`,
    );
    this.taken.add(found);
    return this.events[found]!;
  }

  /** Waits until `predicate(events)` holds. */
  until(predicate: (events: readonly Received[]) => boolean, what: string, ms = 5000): Promise<void> {
    return this.waiters.wait(() => predicate(this.events), ms, what);
  }

  /** Waits for a condition on the client itself (errors, readyState). */
  waitFor(check: (client: SseClient) => boolean, what: string, ms = 5000): Promise<void> {
    return this.waiters.wait(() => check(this), ms, what);
  }

  /** Events of one type, in order. */
  of(type: string): Received[] {
    return this.events.filter((e) => e.type === type);
  }

  close(): void {
    this.source.close();
  }
}

/** Opens a client and waits for `stream-open`: from then on it is subscribed. */
export async function connectSse(url: string, options: SseOptions = {}, ms = 5000): Promise<SseClient> {
  const client = new SseClient(url, options);
  await client.nextEvent('stream-open', ms);
  return client;
}
