/**
 * socket.io 4 with @socket.io/redis-adapter: what Node users pick today for fan-out across
 * instances. Each process is a socket.io server (WebSocket transport only, the library's
 * defaults otherwise) whose adapter shares one Redis with the others; `io.emit('b', data)`
 * on any of them reaches every socket of every server.
 *
 * `--redis=<url>` (required). The cross-instance scenario's publisher is this same server
 * with no socket connected: it only emits, the same call through the same adapter.
 *
 * 'ready' is sent only once the adapter's subscriber is subscribed in Redis (seen in
 * CLIENT LIST under this process's connection name), so no early emit is lost.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { cpuTimeMicros, serveTarget } from './harness.ts';

const redisUrl = process.argv.find((a) => a.startsWith('--redis='))?.slice('--redis='.length);
if (redisUrl === undefined) throw new Error('socketio.ts needs --redis=<url>');
const subscriberName = `bench-sio-${randomUUID().slice(0, 8)}`;
const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl, { connectionName: subscriberName });

const server = http.createServer();
server.requestTimeout = 0;
const io = new Server(server, { transports: ['websocket'], adapter: createAdapter(pub, sub) });

async function subscribed(timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const list = String(await pub.call('CLIENT', 'LIST'));
    const line = list.split('\n').find((l) => l.includes(`name=${subscriberName} `));
    if (line !== undefined && /\bpsub=[1-9]/.test(line)) return;
    if (Date.now() > giveUpAt) throw new Error(`the adapter did not subscribe within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  subscribed(10_000).then(
    () =>
      serveTarget(
        {
          publish: (_channel, event) => void io.emit(event.event, event.data),
          cpuMicros: cpuTimeMicros,
          memory: () => process.memoryUsage(),
          connections: () => io.engine.clientsCount,
          dropAll: () => Promise.reject(new Error('not supported for socket.io')),
          close: async () => {
            await io.close();
            pub.disconnect();
            sub.disconnect();
          },
        },
        { type: 'ready', port: address.port },
      ),
    (err: unknown) => {
      console.error('[socketio]', err);
      process.exit(1);
    },
  );
});
