import http from 'node:http';
import { EventStream } from '../../src/index.js';
import { closeOnSignals } from '../shutdown.js';
import { createApp } from './app.js';
import { listenOrExit } from '../listen.js';

// Without GRIP_URL everything stays in this process; with it, a GRIP proxy (Pushpin,
// Fastly Fanout) holds the connections and receives the publishes. RETRY_MS sets how soon
// browsers reconnect (theirs is ~3 s); PORT=0 picks a free port.
const eventStream = new EventStream({
  grip: process.env.GRIP_URL ?? null,
  retry: process.env.RETRY_MS === undefined ? undefined : Number(process.env.RETRY_MS),
});
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const server = http.createServer(createApp(eventStream));
const actual = await listenOrExit(server, port, host);
console.log(`gripstream example on http://${host}:${actual}/ (GRIP: ${process.env.GRIP_URL ? 'on' : 'off'})`);

// SIGTERM drains (clients move to other instances over DRAIN_MS, resuming), SIGINT closes at once.
closeOnSignals(eventStream, () => new Promise<void>((resolve) => server.close(() => resolve())));
