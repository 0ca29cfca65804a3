import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import compression from 'compression';
import express from 'express';
import { afterEach, expect, it } from 'vitest';
import { EventStream } from '../../src/index.js';

// `compression` buffers what it compresses until it is flushed; `no-transform` must keep it
// off the stream entirely, so each event reaches a gzip-accepting client as it is published.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

it('events pass a compression middleware uncompressed and at once', async () => {
  const es = new EventStream();
  const app = express();
  app.use(compression());
  app.get('/events', es('c'));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => es.close(), () => void server.closeAllConnections(), () => void server.close());
  const { port } = server.address() as AddressInfo;

  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ port, host: '127.0.0.1', path: '/events', headers: { 'Accept-Encoding': 'gzip' } }, resolve).on('error', reject);
  });
  cleanups.push(() => void res.destroy());
  expect(res.headers['content-encoding']).toBeUndefined();
  res.setEncoding('utf8');
  let text = '';
  const arrived = (needle: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${needle}" within 1 s; got ${JSON.stringify(text)}`)), 1000);
      const check = (): void => {
        if (!text.includes(needle)) return;
        clearTimeout(timer);
        res.off('data', onData);
        resolve();
      };
      const onData = (chunk: string): void => {
        text += chunk;
        check();
      };
      res.on('data', onData);
      check();
    });
  await arrived('stream-open');
  for (let i = 0; i < 3; i++) {
    await es.publishEvent('c', { event: 'm', data: i });
    await arrived(`data: ${i}\n\n`); // one event at a time: nothing held back by a gzip buffer
  }
});
