/**
 * The IPC messages between the orchestrator (`run.ts`) and its two kinds of child
 * processes: a server (`servers/*.ts`, via `servers/harness.ts`) and the load client
 * (`client.ts`). Every request carries an `id` that its reply echoes, so the parent can
 * wait for one specific answer with a timeout.
 */

/** The SSE event name every implementation publishes; the client counts only these. */
export const BENCH_EVENT_NAME = 'b';

/** The channel shared by all clients in the broadcast, memory and latency scenarios. */
export const SHARED_CHANNEL = 'bench';

/** Prefix of the per-client channels (`u0`, `u1`, …) in the per-user scenario. */
export const PER_USER_PREFIX = 'u';

/** Which channel each client subscribes to, and so which channel each event goes to. */
export type ChannelLayout =
  | { kind: 'shared'; channel: string }
  | { kind: 'per-client'; prefix: string; clients: number };

/** The URL path a client uses to subscribe to `channel`; servers parse it back. */
export function pathForChannel(channel: string): string {
  return `/events/${encodeURIComponent(channel)}`;
}

/** Channel of client number `index` under `layout`. */
export function channelOfClient(layout: ChannelLayout, index: number): string {
  return layout.kind === 'shared' ? layout.channel : `${layout.prefix}${index}`;
}

/** Channel that event number `index` is published to: round-robin over the clients. */
export function channelOfEvent(layout: ChannelLayout, index: number): string {
  return layout.kind === 'shared' ? layout.channel : `${layout.prefix}${index % layout.clients}`;
}

/** How many bench events client `index` must receive when `events` are published. */
export function expectedForClient(layout: ChannelLayout, events: number, index: number): number {
  if (layout.kind === 'shared') return events;
  const base = Math.floor(events / layout.clients);
  return base + (index < events % layout.clients ? 1 : 0);
}

/** What the server publishes: `events` events, back-to-back or on a fixed interval. */
export interface PublishPlan {
  layout: ChannelLayout;
  events: number;
  /** 0 publishes back-to-back; otherwise event i is due at start + i × intervalMs. */
  intervalMs: number;
  /** Back-to-back mode yields to the event loop after this many events, so sockets drain. */
  yieldEvery: number;
  /** Wall-clock ms (see clock.ts) after which the server stops publishing. */
  deadline: number;
  /** Sent in each event's data as `p`, to make the payload a given size (see sizes.ts). */
  padding?: string;
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

// ---- parent → server -------------------------------------------------------------

export type ServerRequest =
  | { type: 'publish'; id: number; plan: PublishPlan }
  /** `resetLoopDelay` starts a new event-loop-delay window after this sample. */
  | { type: 'stats'; id: number; resetLoopDelay?: boolean }
  /**
   * A deploy restart as the clients see it: every open stream is closed at once (nchan:
   * nginx is killed and started again on the same port), then `missed` events are
   * published to `channel` while nobody listens; the clients then reconnect.
   */
  | { type: 'drop'; id: number; missed: number; channel: string };

/** Event-loop delay (ms) over a window, from `monitorEventLoopDelay` in the server. */
export interface LoopDelaySample {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** A server of several worker processes: each worker's p99 (the fields above: the worst). */
  workersP99Ms?: number[];
}

// ---- server → parent -------------------------------------------------------------

export type ServerMessage =
  /** `nginxPrefix`: the nchan server's private nginx directory, so the orchestrator can reap it. */
  | { type: 'ready'; port: number; nginxPrefix?: string }
  | { type: 'dropped'; id: number; published: number; error?: string }
  | {
      type: 'published';
      id: number;
      published: number;
      firstAt: number;
      lastAt: number;
      /** Server CPU time (user + system, µs) used so far when publishing started. */
      cpuAtStartMicros: number;
      /** Interval mode: the furthest behind schedule any publish started, in ms. */
      maxLagMs: number;
      /** Interval mode: how far behind schedule the last publish started, in ms. */
      finalLagMs: number;
      /**
       * Interval mode: median ms from a publish until the server's event loop reached its next
       * check phase, by which time every write the publish caused has been handed to the kernel.
       */
      fanOutMs?: number;
      error?: string;
    }
  | {
      type: 'stats';
      id: number;
      memory: MemorySample;
      connections: number;
      /** Server CPU time (user + system, µs) used so far, read before the GCs. */
      cpuMicros: number;
      /** Since start or the last reset; absent where there is no Node event loop (nchan). */
      loopDelay?: LoopDelaySample;
    };

export type PublishedReply = Extract<ServerMessage, { type: 'published' }>;
export type StatsReply = Extract<ServerMessage, { type: 'stats' }>;
export type DroppedReply = Extract<ServerMessage, { type: 'dropped' }>;

// ---- parent → client -------------------------------------------------------------

/** SSE over HTTP (every implementation but one), or socket.io 4 over WebSocket. */
export type ClientProtocol = 'sse' | 'socket.io';

export interface ConnectRequest {
  type: 'connect';
  id: number;
  port: number;
  /** Several instances: client i connects to `ports[i % ports.length]` (default: `[port]`). */
  ports?: number[];
  /** Default 'sse'. socket.io clients all join the default namespace (the layout is ignored). */
  protocol?: ClientProtocol;
  layout: ChannelLayout;
  clients: number;
  /** Record publish→receive latency per event (parses each event's data; costs CPU). */
  collectLatency: boolean;
  /** Events numbered below this are JIT warm-up: received and counted, not sampled. */
  latencyWarmupEvents?: number;
  /** Sockets being opened at once; keeps SYNs within the server's accept backlog. */
  concurrency: number;
  timeoutMs: number;
}

export interface AwaitRequest {
  type: 'await';
  id: number;
  /** Events published in total; each client's share follows from the layout. */
  events: number;
  /** Wall-clock ms after which the client stops waiting and reports what it has. */
  deadline: number;
}

export type ClientRequest = ConnectRequest | AwaitRequest;

// ---- client → parent -------------------------------------------------------------

export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface ConnectResult {
  type: 'connected';
  id: number;
  connected: number;
  failed: number;
  firstError?: string;
}

export interface AwaitResult {
  type: 'received';
  id: number;
  /** Every client received exactly its expected number of events, and none closed. */
  complete: boolean;
  received: number;
  expected: number;
  clientsComplete: number;
  /** Clients that received more events than published to them (must be 0). */
  clientsOverDelivered: number;
  /** Sockets the server closed or reset during the scenario. */
  clientsClosed: number;
  /** Wall-clock ms of the last bench event received (0 when none). */
  lastReceiptAt: number;
  /** Client CPU time (user + system) while awaiting, in ms, and the wall time it spanned. */
  clientCpuMs: number;
  awaitWallMs: number;
  latency?: LatencySummary;
}

export type ClientMessage = { type: 'ready' } | ConnectResult | AwaitResult;

// ---- parent → scale load client (bench/scale-client.ts) -----------------------------

/**
 * Opens (or, when the streams exist already, reopens) this process's streams: clients
 * `first` … `first + count − 1`, all on `channel`, client i from source address
 * `sources[⌊i / perSource⌋]`. A reopened stream sends the `Last-Event-ID` its previous
 * connection last saw, as an EventSource would.
 */
export interface ScaleConnectRequest {
  type: 'scale-connect';
  id: number;
  port: number;
  channel: string;
  first: number;
  count: number;
  sources: string[];
  perSource: number;
  concurrency: number;
  timeoutMs: number;
}

/** Waits until every stream has received `events` bench events in total, or the deadline. */
export interface ScaleAwaitRequest {
  type: 'scale-await';
  id: number;
  events: number;
  deadline: number;
}

/** Waits until the server has closed every stream, or the deadline. */
export interface ScaleAwaitClosedRequest {
  type: 'scale-await-closed';
  id: number;
  deadline: number;
}

export type ScaleClientRequest = ScaleConnectRequest | ScaleAwaitRequest | ScaleAwaitClosedRequest;

export interface ScaleConnectResult {
  type: 'scale-connected';
  id: number;
  connected: number;
  failed: number;
  firstError?: string;
  /** Wall-clock ms when the first socket was opened, and when the last response head arrived. */
  startedAt: number;
  lastHeadAt: number;
  /** Streams that sent a `Last-Event-ID`. */
  resumed: number;
}

export interface ScaleAwaitResult {
  type: 'scale-received';
  id: number;
  clients: number;
  clientsComplete: number;
  clientsOverDelivered: number;
  /** Streams whose current connection the server closed. */
  clientsClosed: number;
  /** Streams that were sent `event: history-truncated` (a resume that could not be vouched for). */
  clientsTruncated: number;
  received: number;
  /** Wall-clock ms of the last bench event received by any stream (0 when none). */
  lastReceiptAt: number;
  clientCpuMs: number;
  awaitWallMs: number;
}

export interface ScaleClosedResult {
  type: 'scale-closed';
  id: number;
  closed: number;
  clients: number;
  /** Wall-clock ms when the last stream saw its connection close. */
  lastClosedAt: number;
}

export type ScaleClientMessage = { type: 'ready' } | ScaleConnectResult | ScaleAwaitResult | ScaleClosedResult;
