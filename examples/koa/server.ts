import type { AddressInfo } from 'node:net';
import { EventStream } from '../../src/index.js';
import { createApp } from './app.js';

// `tsx examples/koa/server.ts`; PORT=0 picks a free port (the log line says which).
const eventStream = new EventStream({
  grip: process.env.GRIP_URL ?? null,
  retry: process.env.RETRY_MS === undefined ? undefined : Number(process.env.RETRY_MS),
});
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

const server = createApp(eventStream).listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`gripstream koa example on http://${host}:${actual}/ (GRIP: ${process.env.GRIP_URL ? 'on' : 'off'})`);
});

function shutdown(): void {
  void eventStream.close().then(() => server.close(() => process.exit(0)));
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
