/**
 * Between the workers of one machine: node:cluster IPC against Redis pub/sub (issue 25).
 * `npx tsx bench/ipc-vs-redis.ts` (needs redis-server): a primary and two workers; the primary
 * sends MESSAGES small messages, one every INTERVAL_MS, (a) through `worker.send` to each
 * worker (what a hub in the primary would do), (b) as one Redis PUBLISH that both workers'
 * subscriptions receive. Each worker takes the one-way delay from CLOCK_MONOTONIC, which all
 * processes share; CPU is that of every process involved (redis-server included), per message
 * delivered to one worker. Prints one JSON line per transport.
 */
import cluster from 'node:cluster';
import { Redis } from 'ioredis';
import { startRedis } from '../test/support/redis.ts';
import { processCpuMicros } from './proc.ts';

const MESSAGES = 3_000;
const INTERVAL_MS = 1;
const WORKERS = 2;
const payload = JSON.stringify({ event: 'b', data: { n: 0, t: 0, p: 'x'.repeat(60) } });

interface Sample {
  sentAt: string;
  n: number;
}

if (cluster.isPrimary) await primary();
else await worker();

async function primary(): Promise<void> {
  const redis = await startRedis();
  try {
    for (const transport of ['ipc', 'redis'] as const) {
      const workers = Array.from({ length: WORKERS }, () => cluster.fork({ TRANSPORT: transport, REDIS_URL: redis.url }));
      await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
      const pids = [...workers.map((w) => w.process.pid!), redis.pid];
      const cpuBefore = process.cpuUsage();
      const othersBefore = pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
      const publisher = transport === 'redis' ? new Redis(redis.url) : undefined;
      for (let n = 0; n < MESSAGES; n++) {
        const message = JSON.stringify({ sentAt: String(process.hrtime.bigint()), n, payload });
        if (publisher !== undefined) await publisher.publish('x', message);
        else for (const w of workers) w.send(message);
        await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
      }
      const results = await Promise.all(
        workers.map((w) => new Promise<{ p50: number; p99: number; got: number }>((resolve) => { w.once('message', resolve); w.send('report'); })),
      );
      const own = process.cpuUsage(cpuBefore);
      const cpu = own.user + own.system + pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0) - othersBefore;
      console.log(JSON.stringify({ transport, messages: MESSAGES, workers: WORKERS, perWorker: results, cpuMicrosPerDelivery: cpu / (MESSAGES * WORKERS) }));
      publisher?.disconnect();
      for (const w of workers) w.kill();
    }
  } finally {
    await redis.stop();
  }
}

async function worker(): Promise<void> {
  const delays: number[] = [];
  const take = (text: string): void => {
    const { sentAt } = JSON.parse(text) as Sample;
    delays.push(Number(process.hrtime.bigint() - BigInt(sentAt)) / 1e6);
  };
  process.on('message', (message: string) => {
    if (message !== 'report') return take(message);
    delays.sort((a, b) => a - b);
    const at = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? NaN;
    process.send!({ p50: at(0.5), p99: at(0.99), got: delays.length });
  });
  if (process.env['TRANSPORT'] === 'redis') {
    const subscriber = new Redis(process.env['REDIS_URL']!);
    subscriber.on('message', (_channel: string, message: string) => take(message));
    await subscriber.subscribe('x');
  }
  process.send!('ready');
}
