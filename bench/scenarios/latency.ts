/**
 * Publish → receive latency: one event every `intervalMs` to N clients on one channel.
 * The server stamps each event's data with its publish time (`t`, sub-ms wall clock);
 * each client subtracts it from the time the containing TCP read arrived. The first
 * `warmupEvents` are delivered and checked but left out of the percentiles (JIT warm-up).
 */
import { wallClockMs } from '../clock.ts';
import { SHARED_CHANNEL, type AwaitResult, type ChannelLayout, type PublishedReply, type StatsReply } from '../protocol.ts';
import type { Sizes } from '../sizes.ts';
import { connectClients, sleep, type Session } from './session.ts';
import type { ScenarioResult } from './types.ts';

const SETTLE_MS = 200;
/** Slack on top of the schedule's own length, for an implementation that falls behind. */
const SCHEDULE_SLACK_MS = 10_000;
const DRAIN_GRACE_MS = 2_000;
/** Still this far behind at the end: several intervals' worth of events queued up. */
const LAG_WORTH_NOTING_MS = 100;
const STATS_TIMEOUT_MS = 30_000;

function scheduleMs(spec: Sizes['latency']): number {
  return (spec.warmupEvents + spec.measuredEvents) * spec.intervalMs;
}

export function latencyHardDeadlineMs(spec: Sizes['latency'], connectTimeoutMs: number): number {
  return connectTimeoutMs + scheduleMs(spec) + SCHEDULE_SLACK_MS + DRAIN_GRACE_MS + 30_000;
}

export async function runLatency(
  session: Session,
  spec: Sizes['latency'],
): Promise<Omit<ScenarioResult, 'implementation'>> {
  const layout: ChannelLayout = { kind: 'shared', channel: SHARED_CHANNEL };
  await connectClients(session, layout, spec.clients, spec.warmupEvents);
  await sleep(SETTLE_MS);

  const events = spec.warmupEvents + spec.measuredEvents;
  const deadline = wallClockMs() + scheduleMs(spec) + SCHEDULE_SLACK_MS;
  const replyTimeout = scheduleMs(spec) + SCHEDULE_SLACK_MS + DRAIN_GRACE_MS + 10_000;
  const [published, received] = await Promise.all([
    session.server.request<PublishedReply>(
      {
        type: 'publish',
        plan: { layout, events, intervalMs: spec.intervalMs, yieldEvery: session.sizes.yieldEvery, deadline },
      },
      replyTimeout,
    ),
    session.client.request<AwaitResult>({ type: 'await', events, deadline: deadline + DRAIN_GRACE_MS }, replyTimeout),
  ]);

  const stats = await session.server.request<StatsReply>({ type: 'stats' }, STATS_TIMEOUT_MS);
  const serverCpuMs = (stats.cpuMicros - published.cpuAtStartMicros) / 1000;

  // Falling behind shows at the end: either publishing itself ran late, or the library
  // accepted events on time but queued them internally; both delay the last receipt.
  const lastDueAt = published.firstAt + (events - 1) * spec.intervalMs;
  const deliveryLagMs = received.lastReceiptAt - lastDueAt;
  const latency = received.latency;
  const complete = received.complete && published.published === events && latency !== undefined;
  const metrics: Record<string, number> = latency ? { p50: latency.p50, p99: latency.p99 } : {};
  const notes = [
    ...(complete ? [] : [`published ${published.published}/${events}; ${received.received}/${received.expected} deliveries`]),
    ...(deliveryLagMs > LAG_WORTH_NOTING_MS
      ? [`could not keep up with one event per ${spec.intervalMs} ms: the last event reached the last ` +
          `client ${Math.round(deliveryLagMs)} ms after it was due, so its latency is mostly queueing`]
      : []),
  ];
  return {
    scenario: 'latency',
    status: complete ? 'ok' : latency && latency.samples > 0 ? 'incomplete' : 'failed',
    metrics,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    details: {
      clients: spec.clients,
      intervalMs: spec.intervalMs,
      measuredEvents: spec.measuredEvents,
      warmupEvents: spec.warmupEvents,
      latency,
      clientsClosed: received.clientsClosed,
      clientCpuMs: received.clientCpuMs,
      serverCpuMs,
      serverFanOutMedianMs: published.fanOutMs,
      clientAwaitWallMs: received.awaitWallMs,
      maxScheduleLagMs: published.maxLagMs,
      finalScheduleLagMs: published.finalLagMs,
      lastDeliveryLagMs: deliveryLagMs,
    },
  };
}
