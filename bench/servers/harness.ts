/**
 * Everything the benchmark servers have in common, so that each implementation module is
 * only the few lines that differ: how a request subscribes to a channel, and how one
 * event is published.
 *
 * Every implementation runs behind the same plain `node:http` server (no framework), is
 * driven over the same IPC protocol (see ../protocol.ts), publishes the same payload
 * `{"n":<i>,"t":<publish wall-clock ms>}` under the same event name, and paces its
 * publishing with the same loop.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { median } from '../aggregate.ts';
import { wallClockMs } from '../clock.ts';
import {
  BENCH_EVENT_NAME,
  channelOfEvent,
  type LoopDelaySample,
  type MemorySample,
  type PublishPlan,
  type ServerMessage,
  type ServerRequest,
} from '../protocol.ts';

export interface BenchEvent {
  event: string;
  data: { n: number; t: number; p?: string };
}

export interface Implementation {
  /** Attach this request to `channel`'s stream. May finish asynchronously. */
  subscribe(req: http.IncomingMessage, res: http.ServerResponse, channel: string): void | Promise<void>;
  /** Publish one event to `channel`; a returned promise is awaited before the next. */
  publish(channel: string, event: BenchEvent): void | Promise<void>;
}

const EVENTS_PATH = '/events/';

/**
 * What the IPC loop drives: a Node server built by `serve` below, or a process outside
 * Node (servers/nchan.ts drives nginx).
 */
export interface ServerTarget {
  publish(channel: string, event: BenchEvent): void | Promise<void>;
  /** CPU (user + system, µs) the serving process(es) used so far. */
  cpuMicros(): number;
  /** Memory of the serving process(es), after a full collection where there is one. */
  memory(): MemorySample | Promise<MemorySample>;
  /** Streams open right now. */
  connections(): number | Promise<number>;
  /** Closes every open stream at once (see the 'drop' request), resolving once all are gone. */
  dropAll(): Promise<void>;
  /** Event-loop delay since the last reset; undefined when the server is not a Node loop. */
  loopDelay?(): LoopDelaySample | Promise<LoopDelaySample>;
  resetLoopDelay?(): void;
  /** Releases what the target started (nchan: stops nginx) before this process exits. */
  close?(): Promise<void>;
}

/** How long a drop may take before the server reports failure instead of hanging. */
const DROP_TIMEOUT_MS = 60_000;

/** Starts the server on an ephemeral loopback port and serves the orchestrator's requests. */
export function serve(impl: Implementation): void {
  requireIpc();
  const connections = { open: 0 };
  const server = http.createServer((req, res) => route(impl, connections, req, res));
  // A server under test must never be the one to time out a long-lived stream.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // p99 event-loop delay is a scale-scenario figure (BENCH_LOOP_DELAY=1 from scale.ts); the
  // other scenarios leave the histogram's 10 ms timer out, as before.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const watchLoop = process.env['BENCH_LOOP_DELAY'] === '1';
  if (watchLoop) loop.enable();
  const target: ServerTarget = {
    publish: (channel, event) => impl.publish(channel, event),
    cpuMicros: cpuTimeMicros,
    memory: sampleMemory,
    connections: () => connections.open,
    dropAll: () => {
      server.closeAllConnections();
      return until(() => connections.open === 0, DROP_TIMEOUT_MS, 'every stream to close');
    },
    ...(watchLoop
      ? {
          loopDelay: () => ({ p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 }),
          resetLoopDelay: () => loop.reset(),
        }
      : {}),
  };
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    serveTarget(target, { type: 'ready', port: address.port });
  });
}

/** Serves the orchestrator's requests against `target`, after announcing `ready`. */
export function serveTarget(target: ServerTarget, ready: Extract<ServerMessage, { type: 'ready' }>): void {
  requireIpc();
  process.on('message', (raw) => {
    handle(target, raw as ServerRequest).then(send, (err: unknown) => {
      console.error('[server]', err);
      process.exit(1);
    });
  });
  // Never outlive the orchestrator.
  process.on('disconnect', () => {
    void Promise.resolve(target.close?.()).finally(() => process.exit(0));
  });
  send(ready);
}

function requireIpc(): void {
  if (process.send === undefined) {
    console.error('Benchmark servers are started by bench/run.ts over IPC; run `npm run bench`.');
    process.exit(2);
  }
}

function route(
  impl: Implementation,
  connections: { open: number },
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const url = req.url ?? '/';
  if (req.method !== 'GET' || !url.startsWith(EVENTS_PATH)) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const channel = decodeURIComponent(url.slice(EVENTS_PATH.length).split('?')[0]!);
  connections.open++;
  res.once('close', () => connections.open--);
  Promise.resolve(impl.subscribe(req, res, channel)).catch((err: unknown) => {
    console.error('[server] subscribe failed:', err);
    res.destroy();
  });
}

async function handle(target: ServerTarget, req: ServerRequest): Promise<ServerMessage> {
  switch (req.type) {
    case 'stats': {
      const cpuMicros = target.cpuMicros();
      const loopDelay = await target.loopDelay?.();
      const connections = await target.connections();
      const memory = await target.memory();
      // After the forced GCs, so their pause is not charged to the next phase.
      if (req.resetLoopDelay === true) target.resetLoopDelay?.();
      return { type: 'stats', id: req.id, memory, connections, cpuMicros, ...(loopDelay ? { loopDelay } : {}) };
    }
    case 'drop':
      return { type: 'dropped', id: req.id, ...(await dropAndPublish(target, req.missed, req.channel)) };
    case 'publish':
      return { type: 'published', id: req.id, ...(await publishPlan(target, req.plan)) };
  }
}

/** Closes every stream, then publishes `missed` events that only a resume can deliver. */
async function dropAndPublish(
  target: ServerTarget,
  missed: number,
  channel: string,
): Promise<{ published: number; error?: string }> {
  let published = 0;
  try {
    await target.dropAll();
    for (; published < missed; published++) {
      await target.publish(channel, { event: BENCH_EVENT_NAME, data: { n: published, t: wallClockMs() } });
    }
    return { published };
  } catch (err) {
    return { published, error: String(err) };
  }
}

/** Polls `condition` every 10 ms; rejects after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface PublishOutcome {
  published: number;
  firstAt: number;
  lastAt: number;
  cpuAtStartMicros: number;
  maxLagMs: number;
  finalLagMs: number;
  fanOutMs?: number;
  error?: string;
}

/**
 * Publishes `plan.events` events, stopping early at the deadline. Back-to-back mode
 * yields to the event loop every `yieldEvery` events: without that, a synchronous loop
 * would queue every write in memory before any socket could drain, which no real
 * server does and which would measure the allocator rather than the library.
 */
async function publishPlan(impl: Pick<ServerTarget, 'publish' | 'cpuMicros'>, plan: PublishPlan): Promise<PublishOutcome> {
  const cpuAtStartMicros = impl.cpuMicros();
  const startAt = wallClockMs();
  let firstAt = 0;
  let published = 0;
  let maxLagMs = 0;
  let finalLagMs = 0;
  const fanOuts: number[] = [];
  try {
    for (let i = 0; i < plan.events; i++) {
      const dueAt = startAt + i * plan.intervalMs;
      if (plan.intervalMs > 0) {
        await sleepUntil(dueAt);
      } else if (i > 0 && i % plan.yieldEvery === 0) {
        await yieldToEventLoop();
      }
      if (wallClockMs() > plan.deadline) break;
      const t = wallClockMs();
      if (i === 0) firstAt = t;
      // An implementation slower than the interval falls further and further behind (its
      // latency is then queueing); a busy machine causes lag that is caught up again.
      if (plan.intervalMs > 0) {
        finalLagMs = t - dueAt;
        maxLagMs = Math.max(maxLagMs, finalLagMs);
      }
      const pending = impl.publish(channelOfEvent(plan.layout, i), {
        event: BENCH_EVENT_NAME,
        data: plan.padding === undefined ? { n: i, t } : { n: i, t, p: plan.padding },
      });
      // setImmediate runs after this tick's nextTick writes (where every library here
      // writes): the span is the server's own share of the latency.
      if (plan.intervalMs > 0) setImmediate(() => fanOuts.push(wallClockMs() - t));
      if (pending !== undefined) await pending;
      published++;
    }
  } catch (err) {
    const lastAt = wallClockMs();
    return { published, firstAt, lastAt, cpuAtStartMicros, maxLagMs, finalLagMs, error: String(err) };
  }
  const fanOutMs = fanOuts.length > 0 ? median(fanOuts) : undefined;
  return { published, firstAt, lastAt: wallClockMs(), cpuAtStartMicros, maxLagMs, finalLagMs, fanOutMs };
}

function sleepUntil(wallClockTarget: number): Promise<void> {
  const delay = wallClockTarget - wallClockMs();
  if (delay <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, delay));
}

/**
 * CPU time this process has used. Unlike wall time it barely moves when other processes
 * compete for the core, so it is the steadier cost measure on a shared machine.
 */
export function cpuTimeMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** Memory after a full collection, so the numbers are live data rather than garbage. */
export function sampleMemory(): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('start benchmark servers with --expose-gc');
  // Two passes: the first can leave objects that only the second finds unreachable
  // (weak references, finalizers).
  gc();
  gc();
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

function send(message: ServerMessage): void {
  process.send?.(message);
}
