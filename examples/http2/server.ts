import type { AddressInfo } from 'node:net';
import { EventStream } from '../../src/index.js';
import { closeOnSignals } from '../shutdown.js';
import { createHttp2Server } from './app.js';
import { selfSignedCertificate } from './selfSigned.js';

// HTTPS with HTTP/2 on a certificate made at start (openssl). The browser warns about it:
// accept it once, or start Chromium with --ignore-certificate-errors. PORT=0 picks a free port;
// HTTP1=1 also answers HTTP/1.1 clients (curl --http1.1) on the same port.
const eventStream = new EventStream();
const server = createHttp2Server(eventStream, selfSignedCertificate(), { allowHTTP1: process.env.HTTP1 === '1' });
const port = Number(process.env.PORT ?? 3443);
const host = process.env.HOST ?? '127.0.0.1';

server.listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(`gripstream HTTP/2 example on https://localhost:${actual}/ (self-signed certificate)`);
  console.log(`publish: curl -k -d hello 'https://localhost:${actual}/publish?channel=c3'`);
});

// SIGTERM drains (clients move to other instances over DRAIN_MS, resuming), SIGINT closes at once.
closeOnSignals(eventStream, () => new Promise<void>((resolve) => server.close(() => resolve())));
