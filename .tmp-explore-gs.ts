import { serve } from '@hono/node-server';
import { EventSource } from 'eventsource';
import net from 'node:net';
import { EventStream } from './src/index.js';
import { createApp } from './examples/hono/app.js';

const es = new EventStream({ maxBufferedBytes: 64 * 1024, onConnect: (i) => console.log('connect', i.channels), onDisconnect: (i) => console.log('disconnect', i.channels) });
const server = serve({ fetch: createApp(es).fetch, port: 0, hostname: '127.0.0.1' }, async (info) => {
  const base = `http://127.0.0.1:${info.port}`;
  const src = new EventSource(`${base}/events/x`);
  await new Promise((r) => src.addEventListener('stream-open', r));
  console.log('open', es.stats());
  src.close();
  for (let i = 0; i < 50 && es.stats().connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
  console.log('after close', es.stats());
  const sock = net.connect(info.port, '127.0.0.1');
  sock.write(`GET /events/slow HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
  sock.pause();
  while (es.stats().connections < 1) await new Promise((r) => setTimeout(r, 5));
  const big = 'x'.repeat(32 * 1024);
  let i = 0;
  for (; i < 3000 && es.stats().clientsDropped === 0; i++) {
    await es.publishEvent('slow', { event: 'm', data: big });
    await new Promise((r) => setImmediate(r));
  }
  console.log('dropped after', i, es.stats(), process.memoryUsage().rss / 1e6);
  sock.on('close', (e) => console.log('sock closed', e));
  sock.on('error', (e) => console.log('sock err', e.message));
  sock.resume();
  await new Promise((r) => setTimeout(r, 500));
  await es.close();
  server.close();
});
