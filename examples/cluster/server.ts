import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import os from 'node:os';
import { EventStream } from '../../src/index.js';
import { listenOrExit } from '../listen.js';

// One machine, all its cores: WORKERS processes (default: one per core) share one port through
// node:cluster, and the Redis engine carries every publish to every worker and keeps the history
// all of them resume from. So a publish from any worker, or from a job process on the same Redis
// (job.ts), reaches every client, and a client that reconnects resumes exactly on whichever
// worker the next connection lands on.
//
//   REDIS_URL=redis://127.0.0.1:6379 WORKERS=4 PORT=3000 npx tsx examples/cluster/server.ts
//   GET  /events/<channel>   the stream (header X-Served-By: the worker's pid)
//   POST /publish/<channel>  the body, as one `message` event, from whichever worker takes it
//
// KEY_PREFIX sets the Redis key prefix, RETRY_MS the reconnect delay the clients are told, and
// RESPAWN=0 leaves a dead worker dead (by default the primary starts a new one).
// NODE_CLUSTER_SCHED_POLICY=none lets each worker accept itself instead of the primary handing
// every connection over: about half the CPU per accepted stream, a less even deal (docs/one-machine.md).

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';

if (cluster.isPrimary) await runPrimary();
else await runWorker();

async function runPrimary(): Promise<void> {
  const count = Number(process.env.WORKERS ?? os.availableParallelism());
  const respawn = process.env.RESPAWN !== '0';
  let stopping = false;
  const ready = new Set<number>();
  let announced = false;
  const start = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: { listening?: number }) => {
      if (message.listening === undefined) return;
      ready.add(worker.id);
      // Every worker listens on the same port: port 0 is chosen once, by the primary.
      if (!announced && ready.size === count) {
        announced = true;
        const pids = Object.values(cluster.workers ?? {}).map((w) => w?.process.pid);
        console.log(JSON.stringify({ port: message.listening, workers: pids }));
      }
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping || !respawn) return;
    console.error(`worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    start();
  });
  for (let i = 0; i < count; i++) start();
  const stop = (): void => {
    stopping = true;
    // Not worker.disconnect(): it waits for every server to close, which open streams never let
    // happen. Each worker closes its streams and its Redis links on SIGTERM, then exits.
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function runWorker(): Promise<void> {
  const eventStream = new EventStream({
    redis: { url: redisUrl, keyPrefix: process.env.KEY_PREFIX ?? 'gripstream:' },
    retry: process.env.RETRY_MS === undefined ? undefined : Number(process.env.RETRY_MS),
  });
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    const [, action, channel] = pathname.split('/');
    if (action === 'events' && channel && req.method === 'GET') {
      res.setHeader('X-Served-By', String(process.pid));
      void eventStream.run(req, res, [decodeURIComponent(channel)]);
    } else if (action === 'publish' && channel && req.method === 'POST') {
      void publishBody(eventStream, decodeURIComponent(channel), req, res);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('GET /events/<channel> or POST /publish/<channel>\n');
    }
  });
  const actual = await listenOrExit(server, port, host);
  process.send?.({ listening: actual });
  const shutdown = (): void => {
    server.closeAllConnections();
    server.close();
    void eventStream.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // The primary gone (killed): nobody would stop this worker, so it stops itself.
  process.on('disconnect', shutdown);
}

async function publishBody(eventStream: EventStream, channel: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  try {
    await eventStream.publishEvent(channel, { event: 'message', data: body });
    res.writeHead(204).end();
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
  }
}
