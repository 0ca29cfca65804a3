import { DROP_REASONS, STREAM_TRANSPORTS, type Metrics, type Samples } from '../telemetry/Metrics.js';

/** One reading of an instrument: a value and its labels (attributes, in OpenTelemetry's words). */
export interface Reading {
  labels: Record<string, string>;
  value: number;
}

interface Common {
  /** The Prometheus name: `gripstream_` prefix, base unit, `_total` on counters. */
  prom: string;
  /** The OpenTelemetry name (dotted); its Prometheus exporter derives the name above from it and `unit`. */
  otel: string;
  /** UCUM unit as OpenTelemetry spells it (`s`, `By`, `{event}`). */
  unit: string;
  help: string;
  /** Label names, in order. */
  labels: readonly string[];
  /** False when this instance has nothing to report for it (no Redis, no GRIP): left out. */
  present(m: Metrics): boolean;
}

/** Read when collected. `counter`: only goes up; `updown`: a count that goes both ways; `gauge`: a state. */
export interface ReadInstrument extends Common {
  kind: 'counter' | 'updown' | 'gauge';
  read(m: Metrics): Reading[];
}

/** Sampled observations, in seconds. */
export interface HistogramInstrument extends Common {
  kind: 'histogram';
  samples(m: Metrics): Samples;
}

export type Instrument = ReadInstrument | HistogramInstrument;

const always = (): boolean => true;
const withRedis = (m: Metrics): boolean => m.views.redisLink() !== undefined;
const withGrip = (m: Metrics): boolean => m.views.grip();
const withHistory = (m: Metrics): boolean => m.views.history() !== undefined;
const one = (value: number): Reading[] => [{ labels: {}, value }];

/**
 * Every instrument, once: the Prometheus handler, the OpenTelemetry instruments and
 * docs/operations-metrics.md follow this table. No label ever carries a channel name (their
 * number is unbounded); per-channel figures are on the operator page only.
 */
export const INSTRUMENTS: readonly Instrument[] = [
  {
    kind: 'updown',
    prom: 'gripstream_streams_open',
    otel: 'gripstream.streams.open',
    unit: '{stream}',
    help: 'Event streams open on this instance, by transport (http1, http2, fetch).',
    labels: ['transport'],
    present: always,
    read: (m) => STREAM_TRANSPORTS.map((transport) => ({ labels: { transport }, value: m.streamsOpen[transport] })),
  },
  {
    kind: 'counter',
    prom: 'gripstream_grip_holds_total',
    otel: 'gripstream.grip.holds',
    unit: '{stream}',
    help: 'Streams handed to the GRIP proxy to hold (answered once; the proxy keeps them open).',
    labels: [],
    present: withGrip,
    read: (m) => one(m.holdsAnswered),
  },
  {
    kind: 'updown',
    prom: 'gripstream_subscriptions',
    otel: 'gripstream.subscriptions',
    unit: '{subscription}',
    help: 'Channel subscriptions of the open streams (a stream on two channels counts twice).',
    labels: [],
    present: always,
    read: (m) => one(m.views.subscriptions()),
  },
  {
    kind: 'updown',
    prom: 'gripstream_channels',
    otel: 'gripstream.channels',
    unit: '{channel}',
    help: 'Channels with at least one subscriber on this instance.',
    labels: [],
    present: always,
    read: (m) => one(m.views.channels()),
  },
  {
    kind: 'counter',
    prom: 'gripstream_events_published_total',
    otel: 'gripstream.events.published',
    unit: '{event}',
    help: 'Events accepted by publishEvent, publishEvents and the channel writables of this instance.',
    labels: [],
    present: always,
    read: (m) => one(m.eventsPublished),
  },
  {
    kind: 'counter',
    prom: 'gripstream_deliveries_total',
    otel: 'gripstream.deliveries',
    unit: '{event}',
    help: 'Events handed to open streams here (one event to 100 subscribers is 100).',
    labels: [],
    present: always,
    read: (m) => one(m.deliveries),
  },
  {
    kind: 'counter',
    prom: 'gripstream_written_bytes_total',
    otel: 'gripstream.written',
    unit: 'By',
    help: 'Bytes of event-stream text written to open streams (live events and replays, not keep-alives).',
    labels: [],
    present: always,
    read: (m) => one(m.bytesWritten),
  },
  {
    kind: 'counter',
    prom: 'gripstream_clients_dropped_total',
    otel: 'gripstream.clients.dropped',
    unit: '{stream}',
    help: 'Streams ended by the server, by reason: slow_client (over maxBufferedBytes), drain, shutdown (close()).',
    labels: ['reason'],
    present: always,
    read: (m) => DROP_REASONS.map((reason) => ({ labels: { reason }, value: m.drops[reason] })),
  },
  {
    kind: 'counter',
    prom: 'gripstream_resumes_total',
    otel: 'gripstream.resumes',
    unit: '{stream}',
    help: 'Streams that resumed from a Last-Event-ID, by result: exact, or truncated (history-truncated sent).',
    labels: ['result'],
    present: always,
    read: (m) => [
      { labels: { result: 'exact' }, value: m.resumesExact },
      { labels: { result: 'truncated' }, value: m.resumesTruncated },
    ],
  },
  {
    kind: 'counter',
    prom: 'gripstream_replayed_events_total',
    otel: 'gripstream.events.replayed',
    unit: '{event}',
    help: 'Events sent from history to resuming streams and GRIP recoveries.',
    labels: [],
    present: always,
    read: (m) => one(m.eventsReplayed),
  },
  {
    kind: 'counter',
    prom: 'gripstream_on_disconnect_errors_total',
    otel: 'gripstream.hooks.on_disconnect.errors',
    unit: '{error}',
    help: 'onDisconnect hooks that threw (the stream was closed anyway; each is an incident).',
    labels: [],
    present: always,
    read: (m) => one(m.onDisconnectErrors),
  },
  {
    kind: 'histogram',
    prom: 'gripstream_publish_duration_seconds',
    otel: 'gripstream.publish.duration',
    unit: 's',
    help: 'Time of one publish call, until kept and handed to the local streams and every proxy (1 in 64 sampled).',
    labels: [],
    present: always,
    samples: (m) => m.publishDuration,
  },
  {
    kind: 'histogram',
    prom: 'gripstream_publish_lag_seconds',
    otel: 'gripstream.publish.lag',
    unit: 's',
    help: 'From a publish call on this instance to the end of the write of its events to the local streams (1 in 64 sampled).',
    labels: [],
    present: always,
    samples: (m) => m.publishLag,
  },
  {
    kind: 'updown',
    prom: 'gripstream_history_events',
    otel: 'gripstream.history.events',
    unit: '{event}',
    help: 'Events kept by the in-memory history, all channels together.',
    labels: [],
    present: withHistory,
    read: (m) => one(m.views.history()?.events ?? 0),
  },
  {
    kind: 'updown',
    prom: 'gripstream_history_bytes',
    otel: 'gripstream.history.size',
    unit: 'By',
    help: 'Bytes kept by the in-memory history, as its byte bounds count them.',
    labels: [],
    present: withHistory,
    read: (m) => one(m.views.history()?.bytes ?? 0),
  },
  {
    kind: 'counter',
    prom: 'gripstream_history_evicted_events_total',
    otel: 'gripstream.history.evicted',
    unit: '{event}',
    help: 'Events the in-memory history dropped for its bounds (count, age, bytes).',
    labels: [],
    present: withHistory,
    read: (m) => one(m.views.history()?.evicted ?? 0),
  },
  {
    kind: 'gauge',
    prom: 'gripstream_redis_up',
    otel: 'gripstream.redis.up',
    unit: '1',
    help: 'Redis as the health checks (once a second) last saw it: 1 answering, 0 down or not checked yet.',
    labels: [],
    present: withRedis,
    read: (m) => one(m.views.redisLink() === 'up' ? 1 : 0),
  },
  {
    kind: 'counter',
    prom: 'gripstream_redis_outages_total',
    otel: 'gripstream.redis.outages',
    unit: '{outage}',
    help: 'Times the health checks saw Redis go down (one per outage, as the incident log reports it).',
    labels: [],
    present: withRedis,
    read: (m) => one(m.outages.redis),
  },
  {
    kind: 'histogram',
    prom: 'gripstream_redis_command_duration_seconds',
    otel: 'gripstream.redis.command.duration',
    unit: 's',
    help: 'Time of the Redis calls gripstream makes (scripts and commands; 1 in 64 sampled).',
    labels: [],
    present: withRedis,
    samples: (m) => m.redisCommandDuration,
  },
  {
    kind: 'counter',
    prom: 'gripstream_redis_command_errors_total',
    otel: 'gripstream.redis.command.errors',
    unit: '{error}',
    help: 'Redis calls that failed or timed out.',
    labels: [],
    present: withRedis,
    read: (m) => one(m.redisCommandErrors),
  },
  {
    kind: 'counter',
    prom: 'gripstream_redis_reconnects_total',
    otel: 'gripstream.redis.reconnects',
    unit: '{reconnect}',
    help: 'Times the Redis link was lost and connected again.',
    labels: [],
    present: withRedis,
    read: (m) => one(m.redisReconnects),
  },
  {
    kind: 'counter',
    prom: 'gripstream_redis_gaps_filled_total',
    otel: 'gripstream.redis.gaps_filled',
    unit: '{gap}',
    help: 'Gaps in Redis pub/sub delivery read back from the channel stream (events delivered exactly once anyway).',
    labels: [],
    present: withRedis,
    read: (m) => one(m.redisGapsFilled),
  },
  {
    kind: 'counter',
    prom: 'gripstream_grip_publishes_total',
    otel: 'gripstream.grip.publishes',
    unit: '{request}',
    help: 'Publish requests sent to GRIP proxies (one per batch and proxy set).',
    labels: [],
    present: withGrip,
    read: (m) => one(m.gripPublishes),
  },
  {
    kind: 'counter',
    prom: 'gripstream_grip_publish_failures_total',
    otel: 'gripstream.grip.publish_failures',
    unit: '{request}',
    help: 'GRIP publish requests that failed (refused, unreachable, timed out).',
    labels: [],
    present: withGrip,
    read: (m) => one(m.gripPublishFailures),
  },
  {
    kind: 'histogram',
    prom: 'gripstream_grip_publish_duration_seconds',
    otel: 'gripstream.grip.publish.duration',
    unit: 's',
    help: 'Time of one GRIP publish, until every proxy accepted it.',
    labels: [],
    present: withGrip,
    samples: (m) => m.gripPublishDuration,
  },
  {
    kind: 'gauge',
    prom: 'gripstream_grip_up',
    otel: 'gripstream.grip.up',
    unit: '1',
    help: 'The GRIP proxies as the health checks last saw them: 1 every one answering, 0 one down or not checked yet.',
    labels: [],
    present: withGrip,
    read: (m) => one(m.views.gripLink() === 'up' ? 1 : 0),
  },
  {
    kind: 'counter',
    prom: 'gripstream_grip_outages_total',
    otel: 'gripstream.grip.outages',
    unit: '{outage}',
    help: 'Times the health checks saw a GRIP proxy go down (one per outage, as the incident log reports it).',
    labels: [],
    present: withGrip,
    read: (m) => one(m.outages.grip),
  },
  {
    kind: 'counter',
    prom: 'gripstream_grip_last_recoveries_total',
    otel: 'gripstream.grip.recoveries',
    unit: '{request}',
    help: 'Recovery requests (Grip-Last) from a GRIP proxy in reliable mode, answered from history.',
    labels: [],
    present: withGrip,
    read: (m) => one(m.gripLastRecoveries),
  },
];
