import { EventStream } from '../../src/index.js';
import { createApp } from './app.js';
import { closeOnSignals } from '../shutdown.js';

// Fastify 5 on http://127.0.0.1:3000/ (PORT=0 picks a free port). Try:
//   curl -N http://127.0.0.1:3000/rooms/1/events
//   curl -d '{"data":"hi"}' -H 'content-type: application/json' http://127.0.0.1:3000/publish/room-1
const eventStream = new EventStream();
const app = await createApp(eventStream, { logger: true });
await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });

// SIGTERM drains (clients move to other instances over DRAIN_MS, resuming), SIGINT closes at
// once; then Fastify closes the server (its preClose finds nothing left to end).
closeOnSignals(eventStream, () => app.close());
