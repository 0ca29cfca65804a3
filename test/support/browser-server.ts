import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../examples/express/app.js';
import { EventStream } from '../../src/index.js';

/** The Express example in this process, as `tsx examples/express/server.ts` would run it. */
export interface ExampleServer {
  eventStream: EventStream;
  server: Server;
  port: number;
  base: string;
  /** A process exit, as far as clients can tell: stop listening, cut every connection. */
  stop(): Promise<void>;
}

/** Starts on `port` (0: a free one). `retry` shortens the browser's reconnection delay. */
export async function startExample(port = 0, retry = 500): Promise<ExampleServer> {
  const eventStream = new EventStream({ retry });
  const server = createApp(eventStream).listen(port, '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (err) {
    await eventStream.close();
    throw err;
  }
  const actual = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  return {
    eventStream,
    server,
    port: actual,
    base: `http://127.0.0.1:${actual}`,
    stop() {
      stopped ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await eventStream.close();
      })();
      return stopped;
    },
  };
}
