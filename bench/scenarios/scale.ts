/**
 * How many streams one server process holds, and what that costs (issue 14): N concurrent
 * streams (default 100,000) on one channel against one process of each implementation, in
 * six phases, each timed and sampled by the server:
 *
 * 1. accept: the load processes open all N streams (at most ACCEPT_IN_FLIGHT handshakes at
 *    once), from several loopback source addresses; RSS and heap per stream after GC.
 * 2. idle: the streams are held idle for IDLE_HOLD_MS, longer than gripstream's default
 *    keep-alive interval (20 s), so a keep-alive round over all N streams falls inside it.
 *    Only the event-loop delay is taken.
 * 3. broadcast: one event; publish → the last of the N streams has it.
 * 4. drop: a deploy restart as the clients see it. The server closes every stream at once
 *    (nchan: nginx is killed and started again on the same port) and MISSED_EVENTS events
 *    are published while nobody listens. The Node servers stay up, so gripstream's default
 *    in-memory history survives as a shared history (Redis) would survive a real restart.
 * 5. reconnect storm: every stream reconnects at once (bounded by STORM_IN_FLIGHT, the
 *    accept backlog) with the `Last-Event-ID` it last saw. Where the implementation resumes
 *    (gripstream), every stream must end exactly caught up: all missed events, none twice,
 *    no `history-truncated`, no connection dropped; elsewhere only the time is reported.
 * 6. live: one more broadcast, which every stream must receive.
 *
 * Event-loop delay (monitorEventLoopDelay in the server child, 10 ms resolution) is sampled
 * per phase; nchan has no Node loop (n/a).
 */
import { wallClockMs } from '../clock.ts';
import type { ImplementationSpec } from '../implementations.ts';
import { reapNginx } from '../nginx.ts';
import { Child } from '../processes.ts';
import {
  SHARED_CHANNEL,
  type DroppedReply,
  type LoopDelaySample,
  type PublishedReply,
  type ScaleAwaitResult,
  type ScaleClientMessage,
  type ScaleClientRequest,
  type ScaleClosedResult,
  type ScaleConnectResult,
  type ServerMessage,
  type ServerRequest,
  type StatsReply,
} from '../protocol.ts';
import type { Placement } from './session.ts';
import { sleep } from './session.ts';

export const DEFAULT_SCALE_STREAMS = 100_000;
/** Events published while the streams are away: what a resume must deliver. */
const MISSED_EVENTS = 5;
/**
 * Streams per loopback source address; the load side gives each its own port there, from
 * 20,000 up, twice this many for the two connection rounds (scale-client.ts).
 */
const STREAMS_PER_SOURCE = 10_000;
/**
 * Streams one load process holds at most: beyond this a second one (same client CPU) keeps
 * each heap, and each process's connect loop, at a size that stays cheap to collect.
 */
const MAX_STREAMS_PER_LOAD_PROCESS = 50_000;
/** Descriptors a process needs besides its sockets. */
const FD_HEADROOM = 512;
/** TCP handshakes in flight while accepting: well within the 4,096 accept backlog. */
const ACCEPT_IN_FLIGHT = 1_024;
/** The storm: as many at once as the accept backlog (4,096) takes without SYN retries. */
const STORM_IN_FLIGHT = 4_000;
const SETTLE_MS = 1_000;
/** Longer than gripstream's default keep-alive interval (20 s): one round over all N falls in it. */
const IDLE_HOLD_MS = 21_000;
const STARTUP_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 60_000;

/**
 * Implementations that resume from `Last-Event-ID` (the others reconnect to live events).
 * nchan's ids are `<time>:<tag>`, so an id from before the restart still finds the events
 * published to the restarted nginx after it.
 */
const RESUMES = new Set(['gripstream', 'nchan']);

export interface ScaleSetup {
  /** Streams per implementation. */
  streams: number;
  /** ulimit -n each child gets. */
  fdLimit: number;
  /**
   * Server processes per implementation: 1 (one process holds every stream), or the workers
   * of one machine sharing one port (gripstream: node:cluster + Redis; nchan: nginx workers).
   */
  workers: number;
  loadProcesses: number;
  sources: string[];
  placement: Placement;
  /** Why the setup differs from what was asked for. */
  adjustments: string[];
}

/**
 * A worker's share with room for an uneven deal: the cluster's round robin hands a connection
 * to whichever worker is free, nginx's reuseport by a hash of the address, neither exactly evenly.
 */
const WORKER_SHARE_MARGIN = 1.15;

/**
 * Plans N streams within what the machine allows (descriptors per process, source ports).
 * Where one process may not hold N descriptors, the server becomes several workers on one
 * port, as many as the limit needs (or `workersAsked`, when that is enough).
 */
export function planScale(
  wanted: number,
  fdLimitReachable: (n: number) => number,
  placement: Placement,
  maxPerLoadProcess = MAX_STREAMS_PER_LOAD_PROCESS,
  workersAsked?: number,
): ScaleSetup {
  const adjustments: string[] = [];
  const fdLimit = fdLimitReachable(wanted + FD_HEADROOM);
  const perProcessMax = Math.max(1, fdLimit - FD_HEADROOM);
  const needed = wanted <= perProcessMax ? 1 : Math.ceil((wanted * WORKER_SHARE_MARGIN) / perProcessMax);
  let workers = Math.max(needed, workersAsked ?? 1);
  if (workersAsked !== undefined && workersAsked < needed) {
    adjustments.push(`asked for ${workersAsked} workers, but ${needed} are needed to hold the streams within the descriptor limit`);
  }
  if (workersAsked === undefined && needed > 1) {
    adjustments.push(
      `a process can hold at most ${fdLimit.toLocaleString('en-US')} descriptors here (hard \`ulimit -n\`, and no ` +
        `CAP_SYS_RESOURCE to raise it): the ${wanted.toLocaleString('en-US')} streams are served by ${needed} workers on one port`,
    );
  }
  workers = Math.max(1, workers);
  const perProcess = Math.max(1, Math.min(maxPerLoadProcess, perProcessMax));
  const loadProcesses = Math.max(1, Math.ceil(wanted / perProcess));
  const sourceCount = Math.max(1, Math.ceil(wanted / STREAMS_PER_SOURCE));
  const sources = Array.from({ length: sourceCount }, (_, i) => `127.0.0.${i + 2}`);
  return { streams: wanted, fdLimit, workers, loadProcesses, sources, placement, adjustments };
}

export interface ScaleResult {
  implementation: string;
  status: 'ok' | 'incomplete' | 'failed' | 'skipped';
  note?: string;
  streams: number;
  resumes: boolean;
  acceptMs?: number;
  rssPerStream?: number;
  heapPerStream?: number;
  broadcastMs?: number;
  broadcastCpuMicrosPerEvent?: number;
  reconnectMs?: number;
  /** Resuming implementations: every stream got exactly the missed events, no truncation. */
  caughtUp?: boolean;
  reconnectCpuMicrosPerStream?: number;
  /** Server CPU per stream opened, during the accept phase. */
  acceptCpuMicrosPerStream?: number;
  loopDelay?: Partial<Record<'accept' | 'idle' | 'broadcast' | 'storm' | 'live', LoopDelaySample>>;
  details: Record<string, unknown>;
  wallMs: number;
}

type Server = Child<ServerRequest, ServerMessage>;
type Load = Child<ScaleClientRequest, ScaleClientMessage>;

/** Runs the six phases against one implementation; always stops what it started. */
export async function runScale(impl: ImplementationSpec, setup: ScaleSetup): Promise<ScaleResult> {
  const started = Date.now();
  const base = { implementation: impl.name, streams: setup.streams, resumes: RESUMES.has(impl.name), details: {} };
  if (impl.unavailable !== undefined) return { ...base, status: 'skipped', note: impl.unavailable, wallMs: 0 };
  const server = Child.start<ServerRequest, ServerMessage>({
    script: impl.script,
    ...(impl.args ? { args: impl.args } : {}),
    ...(setup.placement.serverCpu !== undefined ? { cpu: setup.placement.serverCpu } : {}),
    label: `${impl.name} server`,
    env: { BENCH_LOOP_DELAY: '1', BENCH_NCHAN_MAX_CONNECTIONS: String(setup.streams + 1_024), BENCH_WORKERS: String(setup.workers) },
    fdLimit: setup.fdLimit,
  });
  const loads = Array.from({ length: setup.loadProcesses }, (_, i) =>
    Child.start<ScaleClientRequest, ScaleClientMessage>({
      script: 'bench/scale-client.ts',
      ...(setup.placement.clientCpu !== undefined ? { cpu: setup.placement.clientCpu } : {}),
      label: `${impl.name} load ${i + 1}`,
      fdLimit: setup.fdLimit,
    }),
  );
  let nginxPrefix: string | undefined;
  const result: ScaleResult = { ...base, status: 'failed', details: {}, wallMs: 0 };
  try {
    const [ready] = await Promise.all([server.ready(STARTUP_TIMEOUT_MS), ...loads.map((l) => l.ready(STARTUP_TIMEOUT_MS))]);
    if (ready.type !== 'ready') throw new Error(`server sent '${ready.type}' before 'ready'`);
    nginxPrefix = ready.nginxPrefix;
    await phases(server, loads, ready.port, setup, result);
  } catch (err) {
    result.status = 'failed';
    result.note = [result.note, err instanceof Error ? err.message : String(err)].filter(Boolean).join('; ');
  } finally {
    await Promise.all([server.stop(), ...loads.map((l) => l.stop())]);
    if (nginxPrefix !== undefined) reapNginx(nginxPrefix);
  }
  result.wallMs = Date.now() - started;
  return result;
}

async function phases(server: Server, loads: Load[], port: number, setup: ScaleSetup, out: ScaleResult): Promise<void> {
  const n = setup.streams;
  const notes: string[] = [];
  const stats = (): Promise<StatsReply> => server.request<StatsReply>({ type: 'stats', resetLoopDelay: true }, STATS_TIMEOUT_MS);
  const connectTimeoutMs = Math.max(60_000, n * 2);

  // 1. accept
  const before = await stats();
  const accepted = await connectAll(loads, port, setup, ACCEPT_IN_FLIGHT, connectTimeoutMs);
  if (accepted.failed > 0) throw new Error(`accept: ${accepted.failed}/${n} streams failed (first: ${accepted.firstError})`);
  out.acceptMs = accepted.lastHeadAt - accepted.startedAt;
  await sleep(SETTLE_MS);
  const held = await stats();
  if (held.connections !== n) notes.push(`${held.connections}/${n} streams open when sampled`);
  out.rssPerStream = perStream(held.memory.rss, before.memory.rss, n);
  // Over IPC (JSON) a NaN arrives as null: nchan has no heap.
  out.heapPerStream = perStream(held.memory.heapUsed, before.memory.heapUsed, n);
  out.acceptCpuMicrosPerStream = (held.cpuMicros - before.cpuMicros) / n;
  out.loopDelay = {};
  if (held.loopDelay) out.loopDelay.accept = held.loopDelay;

  // 2. idle, through a keep-alive round
  await sleep(IDLE_HOLD_MS);
  const idle = await stats();
  if (idle.loopDelay) out.loopDelay.idle = idle.loopDelay;
  if (idle.connections !== n) notes.push(`${idle.connections}/${n} streams open after ${IDLE_HOLD_MS / 1000} s idle`);

  // 3. broadcast
  const broadcast = await broadcastOne(server, loads, 1, n);
  const afterBroadcast = await stats();
  if (afterBroadcast.loopDelay) out.loopDelay.broadcast = afterBroadcast.loopDelay;
  out.broadcastMs = broadcast.received.lastReceiptAt - broadcast.published.firstAt;
  out.broadcastCpuMicrosPerEvent = (afterBroadcast.cpuMicros - broadcast.published.cpuAtStartMicros) / Math.max(1, broadcast.received.received);
  if (!broadcast.complete) notes.push(`broadcast reached ${broadcast.received.received}/${n} streams`);

  // 4. drop
  const dropped = await server.request<DroppedReply>(
    { type: 'drop', missed: MISSED_EVENTS, channel: SHARED_CHANNEL },
    connectTimeoutMs,
  );
  if (dropped.error !== undefined) throw new Error(`drop: ${dropped.error}`);
  const closed = await Promise.all(
    loads.map((l) => l.request<ScaleClosedResult>({ type: 'scale-await-closed', deadline: Date.now() + 60_000 }, 70_000)),
  );
  const closedCount = closed.reduce((a, c) => a + c.closed, 0);
  if (closedCount !== n) throw new Error(`drop: only ${closedCount}/${n} streams saw their connection close`);
  const cpuBeforeStorm = (await stats()).cpuMicros;

  // 5. reconnect storm
  const storm = await connectAll(loads, port, setup, STORM_IN_FLIGHT, connectTimeoutMs);
  if (storm.failed > 0) throw new Error(`reconnect: ${storm.failed}/${n} streams failed (first: ${storm.firstError})`);
  const expectedAfterStorm = out.resumes ? 1 + MISSED_EVENTS : 1;
  const caught = await awaitAll(loads, expectedAfterStorm, Date.now() + 60_000);
  const afterStorm = await stats();
  if (afterStorm.loopDelay) out.loopDelay.storm = afterStorm.loopDelay;
  out.reconnectCpuMicrosPerStream = (afterStorm.cpuMicros - cpuBeforeStorm) / n;
  if (out.resumes) {
    out.caughtUp =
      caught.clientsComplete === n && caught.clientsOverDelivered === 0 && caught.clientsTruncated === 0 && caught.clientsClosed === 0;
    out.reconnectMs = Math.max(storm.lastHeadAt, caught.lastReceiptAt) - storm.startedAt;
    if (!out.caughtUp) {
      notes.push(
        `after the storm ${caught.clientsComplete}/${n} streams exactly caught up; ${caught.clientsOverDelivered} over-delivered, ` +
          `${caught.clientsTruncated} got history-truncated, ${caught.clientsClosed} dropped`,
      );
    }
  } else {
    out.reconnectMs = storm.lastHeadAt - storm.startedAt;
    // Not a failure: these do not resume. Say what the streams saw anyway.
    if (caught.clientsOverDelivered > 0) notes.push(`${caught.clientsOverDelivered}/${n} streams were sent missed events after the restart`);
  }

  // 6. live
  const live = await broadcastOne(server, loads, expectedAfterStorm + 1, n, caught.received);
  const afterLive = await stats();
  if (afterLive.loopDelay) out.loopDelay.live = afterLive.loopDelay;
  if (!live.complete) notes.push(`the live broadcast after the storm reached ${live.received.clientsComplete}/${n} streams exactly`);

  out.details = {
    loadProcesses: loads.length,
    sources: setup.sources,
    memoryBefore: before.memory,
    memoryHeld: held.memory,
    idleHoldMs: IDLE_HOLD_MS,
    memoryAfterStorm: afterStorm.memory,
    acceptInFlight: ACCEPT_IN_FLIGHT,
    stormInFlight: STORM_IN_FLIGHT,
    missedEvents: MISSED_EVENTS,
    resumedStreams: storm.resumed,
    afterStorm: caught,
    liveBroadcastMs: live.received.lastReceiptAt - live.published.firstAt,
    broadcastClientCpuMs: broadcast.received.clientCpuMs,
    broadcastClientWallMs: broadcast.received.awaitWallMs,
  };
  const complete = notes.length === 0 && broadcast.complete && live.complete && (out.caughtUp ?? true);
  out.status = complete ? 'ok' : 'incomplete';
  if (notes.length > 0) out.note = notes.join('; ');
}

function perStream(after: number | null, before: number | null, n: number): number | undefined {
  return typeof after === 'number' && typeof before === 'number' ? (after - before) / n : undefined;
}

interface Merged {
  connected: number;
  failed: number;
  firstError?: string;
  startedAt: number;
  lastHeadAt: number;
  resumed: number;
}

/** Every load process opens (or reopens) its share, all at the same time. */
async function connectAll(loads: Load[], port: number, setup: ScaleSetup, inFlight: number, timeoutMs: number): Promise<Merged> {
  const share = Math.ceil(setup.streams / loads.length);
  const replies = await Promise.all(
    loads.map((load, i) => {
      const first = i * share;
      const count = Math.max(0, Math.min(share, setup.streams - first));
      return load.request<ScaleConnectResult>(
        {
          type: 'scale-connect',
          port,
          channel: SHARED_CHANNEL,
          first,
          count,
          sources: setup.sources,
          perSource: STREAMS_PER_SOURCE,
          concurrency: Math.max(1, Math.floor(inFlight / loads.length)),
          timeoutMs,
        },
        timeoutMs + 30_000,
      );
    }),
  );
  const firstError = replies.find((r) => r.firstError !== undefined)?.firstError;
  return {
    connected: replies.reduce((a, r) => a + r.connected, 0),
    failed: replies.reduce((a, r) => a + r.failed, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    startedAt: Math.min(...replies.map((r) => r.startedAt)),
    lastHeadAt: Math.max(...replies.map((r) => r.lastHeadAt)),
    resumed: replies.reduce((a, r) => a + r.resumed, 0),
  };
}

async function awaitAll(loads: Load[], events: number, deadline: number): Promise<ScaleAwaitResult> {
  const replies = await Promise.all(
    loads.map((l) => l.request<ScaleAwaitResult>({ type: 'scale-await', events, deadline }, deadline - Date.now() + 30_000)),
  );
  const sum = (key: keyof ScaleAwaitResult): number => replies.reduce((a, r) => a + (r[key] as number), 0);
  return {
    type: 'scale-received',
    id: 0,
    clients: sum('clients'),
    clientsComplete: sum('clientsComplete'),
    clientsOverDelivered: sum('clientsOverDelivered'),
    clientsClosed: sum('clientsClosed'),
    clientsTruncated: sum('clientsTruncated'),
    received: sum('received'),
    lastReceiptAt: Math.max(...replies.map((r) => r.lastReceiptAt)),
    clientCpuMs: sum('clientCpuMs'),
    awaitWallMs: Math.max(...replies.map((r) => r.awaitWallMs)),
  };
}

/** Publishes one event; waits until every stream has `expectedEach` events in total. */
async function broadcastOne(
  server: Server,
  loads: Load[],
  expectedEach: number,
  n: number,
  receivedBefore = 0,
): Promise<{ published: PublishedReply; received: ScaleAwaitResult; complete: boolean }> {
  const deadline = wallClockMs() + 60_000;
  const [published, received] = await Promise.all([
    server.request<PublishedReply>(
      {
        type: 'publish',
        plan: { layout: { kind: 'shared', channel: SHARED_CHANNEL }, events: 1, intervalMs: 0, yieldEvery: 100, deadline },
      },
      70_000,
    ),
    awaitAll(loads, expectedEach, Date.now() + 60_000),
  ]);
  if (published.error !== undefined) throw new Error(`publish: ${published.error}`);
  const complete =
    received.clientsComplete === n && received.clientsOverDelivered === 0 && received.clientsClosed === 0 && received.received >= receivedBefore;
  return { published, received, complete };
}
