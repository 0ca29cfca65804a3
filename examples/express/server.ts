import { EventStream } from '../../src/index.js';
import { createApp } from './app.js';

// Without GRIP_URL everything stays in this process; with it, a GRIP proxy (Pushpin,
// Fastly Fanout) holds the connections and receives the publishes.
const eventStream = new EventStream({ grip: process.env.GRIP_URL ?? null });
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const server = createApp(eventStream).listen(port, host, () => {
  console.log(`gripstream example on http://${host}:${port}/ (GRIP: ${process.env.GRIP_URL ? 'on' : 'off'})`);
});

function shutdown(): void {
  void eventStream.close().then(() => server.close(() => process.exit(0)));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
