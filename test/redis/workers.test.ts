import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EventSource } from 'eventsource';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defer, runCleanups } from '../support/cleanup.js';
import { requireRedis, startRedis, type RedisInstance } from '../support/redis.js';
import { pollUntil, Waiters, withTimeout } from '../support/wait.js';

// examples/cluster/server.ts as it ships: a node:cluster primary and its workers on one port, the
// Redis engine between them, a job process publishing through the same real redis-server, and
// `eventsource` clients that record which worker (pid) served each of their connections.

const hasRedis = requireRedis();
const WAIT = 20_000;
const example = (name: string) => fileURLToPath(new URL(`../../examples/cluster/${name}.ts`, import.meta.url));

interface Cluster {
  port: number;
  workers: number[];
  child: ChildProcess;
}

/** An EventSource that records every `message`, each connection's worker, and any truncation notice. */
class WorkerClient {
  readonly source: EventSource;
  readonly data: string[] = [];
  readonly servedBy: number[] = [];
  truncated = 0;
  lastEventId = '';
  private readonly waiters = new Waiters();

  constructor(url: string, lastEventId?: string) {
    this.source = new EventSource(url, {
      fetch: async (input, init) => {
        const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
        if (lastEventId !== undefined && headers['Last-Event-ID'] === undefined) headers['Last-Event-ID'] = lastEventId;
        const response = await fetch(input, { ...init, headers });
        this.servedBy.push(Number(response.headers.get('x-served-by')));
        this.waiters.notify();
        return response;
      },
    });
    this.source.addEventListener('message', (event) => {
      this.data.push(String(JSON.parse(event.data)));
      this.lastEventId = event.lastEventId;
      this.waiters.notify();
    });
    this.source.addEventListener('open', () => this.waiters.notify());
    this.source.addEventListener('history-truncated', () => void this.truncated++);
    defer(() => this.source.close());
  }

  get worker(): number {
    return this.servedBy[this.servedBy.length - 1] ?? 0;
  }


  until(check: () => boolean, what: string, ms = WAIT): Promise<void> {
    return this.waiters.wait(check, ms, what);
  }

  opened(): Promise<void> {
    return this.until(() => this.source.readyState === EventSource.OPEN && this.servedBy.length > 0, 'open');
  }
}

const numbers = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i));

describe.runIf(hasRedis)('examples/cluster: workers of one machine sharing one port through Redis', () => {
  let redis: RedisInstance;
  let cluster: Cluster;
  const prefix = `w-${randomUUID()}:`;
  const env = (more: Record<string, string> = {}) => ({ ...process.env, REDIS_URL: redis.url, KEY_PREFIX: prefix, ...more });

  beforeAll(async () => {
    redis = await startRedis();
    const child = spawn(process.execPath, ['--import', 'tsx', example('server')], {
      env: env({ WORKERS: '3', PORT: '0', RETRY_MS: '50' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await withTimeout(once(child.stdout!, 'data'), WAIT, 'cluster listening')) as [Buffer];
    const { port, workers } = JSON.parse(line.toString()) as { port: number; workers: number[] };
    cluster = { port, workers, child };
  }, 40_000);
  afterAll(async () => {
    if (cluster !== undefined && cluster.child.exitCode === null) {
      cluster.child.kill('SIGTERM');
      await withTimeout(once(cluster.child, 'exit'), 10_000, 'cluster exit').catch(() => cluster.child.kill('SIGKILL'));
    }
    await redis?.stop();
  });
  afterEach(runCleanups);

  const url = (channel: string) => `http://127.0.0.1:${cluster.port}/events/${channel}`;

  async function runJob(channel: string, from: number, count: number, paceMs = 0): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', example('job')], {
      env: env({ CHANNEL: channel, FROM: String(from), COUNT: String(count), PACE_MS: String(paceMs) }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await withTimeout(once(child, 'exit'), WAIT, 'job exit')) as [number];
    expect(code).toBe(0);
  }

  /** Clients until every worker serves at least `each` of them (connections are dealt round robin). */
  async function clientsOnEveryWorker(channel: string, each: number): Promise<WorkerClient[]> {
    const clients: WorkerClient[] = [];
    const count = (pid: number) => clients.filter((c) => c.worker === pid).length;
    for (let i = 0; i < 30 && cluster.workers.some((pid) => count(pid) < each); i++) {
      const client = new WorkerClient(url(channel));
      await client.opened();
      clients.push(client);
    }
    for (const pid of cluster.workers) expect(count(pid), `clients on worker ${pid}`).toBeGreaterThanOrEqual(each);
    return clients;
  }

  /** Every worker has subscribed to the channel in Redis (one subscription per worker). */
  const subscribed = (channel: string, workers: number) =>
    pollUntil(() => redis.cli('PUBSUB', 'NUMSUB', `${prefix}{${channel}}:p`).endsWith(String(workers)), WAIT, 'workers subscribed', 20);

  it('a job process and any worker reach every client on every worker, once each, in one order', async () => {
    const channel = `orders-${randomUUID()}`;
    const clients = await clientsOnEveryWorker(channel, 1);
    await subscribed(channel, cluster.workers.length);

    await runJob(channel, 0, 20);
    // A publish taken by a worker (POST /publish), as an app's own handler would do.
    const posted = await fetch(`http://127.0.0.1:${cluster.port}/publish/${channel}`, { method: 'POST', body: '20' });
    expect(posted.status).toBe(204);
    await runJob(channel, 21, 9);

    const expected = numbers(0, 30);
    for (const client of clients) await client.until(() => client.data.length >= expected.length, `all 30 events on worker ${client.worker}`);
    for (const client of clients) {
      expect(client.data).toEqual(expected);
      expect(client.servedBy).toHaveLength(1);
    }
  });

  it('a client that reconnects lands on another worker and resumes exactly: nothing missed, nothing twice', async () => {
    const channel = `resume-${randomUUID()}`;
    const first = new WorkerClient(url(channel));
    await first.opened();
    await runJob(channel, 0, 5);
    await first.until(() => first.data.length === 5, 'first five');
    const lastSeen = first.lastEventId;
    expect(lastSeen).not.toBe('');
    first.source.close();

    await runJob(channel, 5, 5); // published while the client is away
    let resumed: WorkerClient | undefined;
    for (let i = 0; i < 10 && resumed === undefined; i++) {
      const client = new WorkerClient(url(channel), lastSeen);
      await client.opened();
      if (client.worker !== first.worker) resumed = client;
      else client.source.close();
    }
    expect(resumed, 'a connection on another worker').toBeDefined();
    await runJob(channel, 10, 5);
    await resumed!.until(() => resumed!.data.length >= 10, 'the missed five and the next five');
    expect(resumed!.data).toEqual(numbers(5, 15));
    expect(resumed!.truncated).toBe(0);
  });

  it('a worker SIGKILLed mid-stream: its clients resume on the other workers with nothing lost', async () => {
    const channel = `kill-${randomUUID()}`;
    const clients = await clientsOnEveryWorker(channel, 2);
    await subscribed(channel, cluster.workers.length);
    const victim = cluster.workers[0]!;
    const victims = clients.filter((c) => c.worker === victim);

    const total = 300;
    const job = runJob(channel, 0, total, 3);
    await victims[0]!.until(() => victims[0]!.data.length >= 20, 'the victim streaming');
    process.kill(victim, 'SIGKILL');
    await job;

    for (const client of clients) await client.until(() => client.data.length >= total, `all ${total} on client of ${client.servedBy.join('→')}`);
    for (const client of clients) {
      expect(client.data).toEqual(numbers(0, total));
      expect(client.truncated).toBe(0);
    }
    for (const client of victims) {
      expect(client.servedBy.length, 'reconnected').toBeGreaterThanOrEqual(2);
      expect(client.worker).not.toBe(victim);
      // It resumed mid-stream: the job was still publishing when the worker died.
      expect(client.data.length).toBe(total);
    }
    // The primary started a replacement; the survivors and it are the cluster from now on.
    cluster.workers = cluster.workers.filter((pid) => pid !== victim);
  });
});
