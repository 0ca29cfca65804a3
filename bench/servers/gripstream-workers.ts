/**
 * gripstream on every core of one machine (issue 25): a node:cluster primary and
 * BENCH_WORKERS workers sharing one port, the Redis engine between them (a private
 * redis-server started here, test/support/redis.ts), as in examples/cluster/server.ts.
 *
 * The primary serves no stream: it is the job process. It publishes through its own
 * EventStream on the same Redis, and answers the orchestrator for all: CPU and memory (PSS)
 * of the primary, every worker and redis-server together, streams open (the workers'
 * sum), event-loop delay (the worst worker's, each worker's p99 beside it), and the drop.
 * Each worker accepts from the shared socket itself (cluster.SCHED_NONE): at 100,000 streams
 * the cluster's default on Linux, round robin through the primary, which accepts every
 * connection and hands it to a worker over IPC, cost 331 µs of server CPU per accepted stream
 * against 146 µs this way, and the workers' shares still stayed within 8 % of each other.
 * NODE_CLUSTER_SCHED_POLICY=rr measures the default.
 */
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import createDebug from 'debug';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EventStream } from '../../src/index.ts';
import { startRedis, type RedisInstance } from '../../test/support/redis.ts';
import { processCpuMicros, processPssBytes } from '../proc.ts';
import type { LoopDelaySample, MemorySample } from '../protocol.ts';
import { cpuTimeMicros, sampleMemory, serveTarget } from './harness.ts';

const KEY_PREFIX = 'bench-workers:';
const EVENTS_PATH = '/events/';

/** What the primary asks a worker, and what the worker answers. */
/** `memory` alone collects garbage (twice, as the one-process harness does); the others must not. */
type WorkerAsk = { type: 'stats'; memory: boolean; reset: boolean } | { type: 'drop' };
type WorkerRequest = WorkerAsk & { id: number };
interface WorkerReply {
  id: number;
  connections: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  loop: LoopDelaySample;
}

// The orchestrator clears DEBUG for its children; BENCH_DEBUG=gripstream:redis* reaches these.
if (process.env['BENCH_DEBUG'] !== undefined) createDebug.enable(process.env['BENCH_DEBUG']);
if (process.env['NODE_CLUSTER_SCHED_POLICY'] === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
if (cluster.isPrimary) await runPrimary();
else runWorker();

async function runPrimary(): Promise<void> {
  const count = Number(process.env['BENCH_WORKERS'] ?? 2);
  const redis = await startRedis();
  const publisher = new EventStream({ redis: { url: redis.url, keyPrefix: KEY_PREFIX } });
  const workers: Worker[] = [];
  const listening: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    const worker = cluster.fork({ BENCH_REDIS_URL: redis.url });
    workers.push(worker);
    listening.push(new Promise((resolve) => worker.once('listening', (address) => resolve(address.port))));
    worker.once('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[workers] worker ${worker.process.pid} died (${signal ?? code})`);
        process.exit(1);
      }
    });
  }
  let stopping = false;
  const [port] = await Promise.all(listening);
  const ask = askWorkers(workers);
  const pids = (): number[] => [process.pid, redis.pid, ...workers.map((w) => w.process.pid!)];
  const close = async (): Promise<void> => {
    stopping = true;
    for (const w of workers) w.process.kill('SIGKILL');
    await publisher.close().catch(() => undefined);
    await redis.stop();
  };
  process.once('SIGTERM', () => void close().finally(() => process.exit(0)));
  serveTarget(
    {
      publish: (channel, event) => publisher.publishEvent(channel, event),
      cpuMicros: () => cpuTimeMicros() + pids().slice(1).reduce((sum, pid) => sum + processCpuMicros(pid), 0),
      memory: async () => memoryOfAll(await ask({ type: 'stats', memory: true, reset: false }), pids(), redis),
      connections: async () => sum(await ask({ type: 'stats', memory: false, reset: false }), 'connections'),
      dropAll: async () => void (await ask({ type: 'drop' })),
      loopDelay: async () => worstLoop(await ask({ type: 'stats', memory: false, reset: false })),
      resetLoopDelay: () => void ask({ type: 'stats', memory: false, reset: true }),
      close,
    },
    { type: 'ready', port: port! },
  );
}

/** Sends one request to every worker; resolves with all the replies. */
function askWorkers(workers: Worker[]): (req: WorkerAsk) => Promise<WorkerReply[]> {
  let next = 0;
  return (req) =>
    Promise.all(
      workers.map(
        (worker) =>
          new Promise<WorkerReply>((resolve) => {
            const id = next++;
            const onMessage = (reply: WorkerReply): void => {
              if (reply.id !== id) return;
              worker.off('message', onMessage);
              resolve(reply);
            };
            worker.on('message', onMessage);
            worker.send({ ...req, id });
          }),
      ),
    );
}

function sum(replies: WorkerReply[], key: 'connections' | 'heapUsed' | 'external' | 'arrayBuffers'): number {
  return replies.reduce((total, r) => total + r[key], 0);
}

/** PSS of every process (workers, primary, redis-server); heap figures of the workers. */
function memoryOfAll(replies: WorkerReply[], pids: number[], _redis: RedisInstance): MemorySample {
  const primary = sampleMemory();
  return {
    rss: pids.reduce((total, pid) => total + processPssBytes(pid), 0),
    heapUsed: sum(replies, 'heapUsed') + primary.heapUsed,
    external: sum(replies, 'external') + primary.external,
    arrayBuffers: sum(replies, 'arrayBuffers') + primary.arrayBuffers,
  };
}

/** The worst worker's delay, each worker's p99 beside it. */
function worstLoop(replies: WorkerReply[]): LoopDelaySample {
  return {
    p50Ms: Math.max(...replies.map((r) => r.loop.p50Ms)),
    p99Ms: Math.max(...replies.map((r) => r.loop.p99Ms)),
    maxMs: Math.max(...replies.map((r) => r.loop.maxMs)),
    workersP99Ms: replies.map((r) => r.loop.p99Ms),
  };
}

function runWorker(): void {
  const eventStream = new EventStream({ redis: { url: process.env['BENCH_REDIS_URL']!, keyPrefix: KEY_PREFIX } });
  let open = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method !== 'GET' || !url.startsWith(EVENTS_PATH)) {
      res.writeHead(404).end();
      return;
    }
    open++;
    res.once('close', () => open--);
    void eventStream.run(req, res, [decodeURIComponent(url.slice(EVENTS_PATH.length).split('?')[0]!)]);
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.on('message', (req: WorkerRequest) => {
    const reply = (): void => {
      const memory = req.type === 'stats' && req.memory ? sampleMemory() : { heapUsed: NaN, external: NaN, arrayBuffers: NaN };
      const answer: WorkerReply = {
        id: req.id,
        connections: open,
        heapUsed: memory.heapUsed,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        loop: { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 },
      };
      if (req.type === 'stats' && req.reset) loop.reset();
      process.send!(answer);
    };
    if (req.type === 'drop') {
      server.closeAllConnections();
      const check = setInterval(() => {
        if (open > 0) return;
        clearInterval(check);
        reply();
      }, 10);
    } else {
      reply();
    }
  });
  process.on('disconnect', () => process.exit(0));
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
}
