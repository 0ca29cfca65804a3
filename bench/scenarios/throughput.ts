/**
 * Delivered events per second: clients connect, the server publishes back-to-back, and
 * the rate is (events received by all clients) / (first publish → last receipt).
 *
 * Used twice: broadcast (every client on one channel) and per-user (each client on its
 * own channel, events round-robin over the channels).
 */
import { wallClockMs } from '../clock.ts';
import {
  PER_USER_PREFIX,
  SHARED_CHANNEL,
  type AwaitResult,
  type ChannelLayout,
  type PublishedReply,
  type StatsReply,
} from '../protocol.ts';
import { connectClients, sleep, type Session } from './session.ts';
import type { ScenarioResult } from './types.ts';

/** After connecting, let the server finish any per-connection setup before publishing. */
const SETTLE_MS = 200;
/** After the publishing deadline, how long in-flight events may still arrive. */
const DRAIN_GRACE_MS = 3_000;
const STATS_TIMEOUT_MS = 30_000;

export interface ThroughputSpec {
  clients: number;
  events: number;
  /** Publishing stops at this point; what arrived by then (+ grace) is reported. */
  deadlineMs: number;
  /** JSON size of each event's data; absent: the bare `{"n":…,"t":…}`. */
  payloadBytes?: number;
}

export function broadcastLayout(): ChannelLayout {
  return { kind: 'shared', channel: SHARED_CHANNEL };
}

export function perUserLayout(clients: number): ChannelLayout {
  return { kind: 'per-client', prefix: PER_USER_PREFIX, clients };
}

/** Upper bound on the scenario's wall time, for the session watchdog. */
export function throughputHardDeadlineMs(spec: ThroughputSpec, connectTimeoutMs: number): number {
  return connectTimeoutMs + spec.deadlineMs + DRAIN_GRACE_MS + STATS_TIMEOUT_MS + 30_000;
}

export async function runThroughput(
  session: Session,
  scenario: 'broadcast' | 'per-user',
  layout: ChannelLayout,
  spec: ThroughputSpec,
): Promise<Omit<ScenarioResult, 'implementation'>> {
  await connectClients(session, layout, spec.clients);
  await sleep(SETTLE_MS);

  const publishDeadline = wallClockMs() + spec.deadlineMs;
  const plan = {
    layout,
    events: spec.events,
    intervalMs: 0,
    yieldEvery: session.sizes.yieldEvery,
    deadline: publishDeadline,
    ...(spec.payloadBytes === undefined ? {} : { padding: paddingFor(spec.payloadBytes) }),
  };
  const replyTimeout = spec.deadlineMs + DRAIN_GRACE_MS + 10_000;
  // Both requests go out together: the client counts from its first byte regardless.
  const [published, received] = await Promise.all([
    session.server.request<PublishedReply>(
      { type: 'publish', plan },
      replyTimeout,
    ),
    session.client.request<AwaitResult>(
      { type: 'await', events: spec.events, deadline: publishDeadline + DRAIN_GRACE_MS },
      replyTimeout,
    ),
  ]);

  // Everything the server spent from the first publish until the last event was received
  // (writes that were queued keep costing CPU after the publish loop ends).
  const stats = await session.server.request<StatsReply>({ type: 'stats' }, STATS_TIMEOUT_MS);
  const serverCpuMs = (stats.cpuMicros - published.cpuAtStartMicros) / 1000;

  const elapsedMs = received.lastReceiptAt - published.firstAt;
  const eventsPerSec = received.received > 0 && elapsedMs > 0 ? received.received / (elapsedMs / 1000) : 0;
  const complete = received.complete && published.published === spec.events && published.error === undefined;
  const notes = [
    ...(complete ? [] : [incompleteNote(spec, published, received)]),
    ...clientSaturationNote(received),
  ];
  return {
    scenario,
    status: complete ? 'ok' : received.received > 0 ? 'incomplete' : 'failed',
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    metrics: {
      eventsPerSec,
      ...(received.received > 0 ? { cpuMicrosPerEvent: (serverCpuMs * 1000) / received.received } : {}),
    },
    details: {
      clients: spec.clients,
      eventsPublished: published.published,
      eventsPlanned: spec.events,
      deliveriesExpected: received.expected,
      deliveriesReceived: received.received,
      clientsComplete: received.clientsComplete,
      clientsOverDelivered: received.clientsOverDelivered,
      clientsClosed: received.clientsClosed,
      clientCpuMs: received.clientCpuMs,
      clientAwaitWallMs: received.awaitWallMs,
      publishMs: published.lastAt - published.firstAt,
      firstPublishToLastReceiptMs: elapsedMs,
      serverCpuMs,
      ...(published.error ? { publishError: published.error } : {}),
    },
  };
}

/**
 * The `p` string that brings `{"n":<5 digits>,"t":<13 digits>,"p":"…"}` to `bytes` of JSON
 * (a 5-digit n is the typical case of a 40,000-event run).
 */
export function paddingFor(bytes: number): string {
  const bare = JSON.stringify({ n: 10_000, t: Date.now(), p: '' }).length;
  return 'x'.repeat(Math.max(0, bytes - bare));
}

/** Beyond this share of a core the client, not the server, may set the pace. */
const CLIENT_SATURATED = 0.85;

function clientSaturationNote(received: AwaitResult): string[] {
  const busy = received.awaitWallMs > 0 ? received.clientCpuMs / received.awaitWallMs : 0;
  if (busy < CLIENT_SATURATED) return [];
  return [`the load client was ${Math.round(busy * 100)} % busy, so this rate is a lower bound`];
}

function incompleteNote(
  spec: ThroughputSpec,
  published: { published: number; error?: string },
  received: AwaitResult,
): string {
  const parts: string[] = [];
  if (published.error) parts.push(`publish threw: ${published.error.slice(0, 120)}`);
  if (published.published < spec.events) {
    parts.push(`published ${published.published}/${spec.events} events within ${spec.deadlineMs / 1000} s`);
  }
  parts.push(`${received.received}/${received.expected} deliveries`);
  if (received.clientsClosed > 0) parts.push(`${received.clientsClosed} clients disconnected`);
  if (received.clientsOverDelivered > 0) parts.push(`${received.clientsOverDelivered} clients got duplicates`);
  return parts.join('; ');
}
