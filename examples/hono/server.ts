import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { EventStream } from '../../src/index.js';
import { closeOnSignals } from '../shutdown.js';
import { createApp } from './app.js';
import { listenOrExit } from '../listen.js';

// `tsx examples/hono/server.ts`; PORT=0 picks a free port (the log line says which).
const eventStream = new EventStream({
  grip: process.env.GRIP_URL ?? null,
  retry: process.env.RETRY_MS === undefined ? undefined : Number(process.env.RETRY_MS),
});
const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOST ?? '127.0.0.1';

// The adaptor server, not serve(): serve() would leave a busy port to an unhandled 'error'.
const server = createAdaptorServer({ fetch: createApp(eventStream).fetch }) as Server;
const actual = await listenOrExit(server, port, hostname);
console.log(`gripstream hono example on http://${hostname}:${actual}/ (GRIP: ${process.env.GRIP_URL ? 'on' : 'off'})`);

// SIGTERM drains (clients move to other instances over DRAIN_MS, resuming), SIGINT closes at once.
closeOnSignals(eventStream, () => new Promise<void>((resolve) => server.close(() => resolve())));
