import { EventStream } from '../../src/index.js';
import { createApp } from './app.js';

// Fastify 5 on http://127.0.0.1:3000/ (PORT=0 picks a free port). Try:
//   curl -N http://127.0.0.1:3000/rooms/1/events
//   curl -d '{"data":"hi"}' -H 'content-type: application/json' http://127.0.0.1:3000/publish/room-1
const eventStream = new EventStream();
const app = await createApp(eventStream, { logger: true });
await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });

function shutdown(): void {
  // preClose ends the streams, then Fastify closes the server.
  void app.close().then(() => process.exit(0));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
