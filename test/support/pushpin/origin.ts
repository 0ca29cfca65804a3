import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { EventSource } from 'eventsource';
import { EventStream, type EventStreamOptions } from '../../../src/index.js';

/** Bounds any await: rejects with `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface Origin {
  name: string;
  port: number;
  eventStream: EventStream;
  /** Requests this origin answered with a GRIP hold. */
  holds: number;
  close(): Promise<void>;
}

/** An Express origin with `/events/:ch` (and `/multi` on a+b) served by its own EventStream. */
export async function startOrigin(name: string, options: EventStreamOptions, port = 0): Promise<Origin> {
  const origin = { name, holds: 0 } as Origin;
  const eventStream = new EventStream({
    ...options,
    onConnect: (info) => {
      // The harness's readiness probe (/events/warmup) is not a client.
      if (info.proxied && !info.channels.includes('warmup')) origin.holds++;
    },
  });
  const app = express();
  app.get('/events/:ch', eventStream('{ch}'));
  app.get('/multi', eventStream('a', 'b'));
  const server: Server = app.listen(port, '127.0.0.1');
  await once(server, 'listening');
  origin.port = (server.address() as AddressInfo).port;
  origin.eventStream = eventStream;
  origin.close = async () => {
    await eventStream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return origin;
}

export interface Received {
  type: string;
  data: string;
  id: string;
}

/** An `eventsource` client that records every event of the given types. */
export class Listener {
  readonly events: Received[] = [];
  readonly source: EventSource;
  private waiters: Array<() => void> = [];

  constructor(url: string, types: string[] = ['m']) {
    this.source = new EventSource(url);
    for (const type of ['stream-open', 'history-truncated', ...types]) {
      this.source.addEventListener(type, (e) => {
        this.events.push({ type, data: e.data, id: e.lastEventId });
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
  }

  of(type: string): Received[] {
    return this.events.filter((e) => e.type === type);
  }

  /** Resolves once `predicate` holds over the events received so far. */
  async until(predicate: (events: Received[]) => boolean, ms: number, what: string): Promise<void> {
    const check = async (): Promise<void> => {
      while (!predicate(this.events)) await new Promise<void>((wake) => this.waiters.push(wake));
    };
    await within(check(), ms, `${what}; got ${JSON.stringify(this.events.map((e) => `${e.type}:${e.data}`))}`);
  }

  close(): void {
    this.source.close();
  }
}
