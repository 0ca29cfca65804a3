// The global `performance` (Node ≥ 16 and every web runtime), not node:perf_hooks: the edge
// entry (src/edge.ts) uses this module too and must load without node: modules.

/** Why a client's stream was ended by the server (the label of `gripstream_clients_dropped_total`). */
export type DropReason = 'slow_client' | 'drain' | 'shutdown';
export const DROP_REASONS: readonly DropReason[] = ['slow_client', 'drain', 'shutdown'];

/** How an open stream reaches its client (the label of `gripstream_streams_open`). */
export type StreamTransport = 'http1' | 'http2' | 'fetch';
export const STREAM_TRANSPORTS: readonly StreamTransport[] = ['http1', 'http2', 'fetch'];

/** A dependency as a gauge: 1 up, 0 not (down, or not checked yet); undefined when not configured. */
export type LinkState = 'up' | 'down';

/** The dependencies the health checks watch (src/ops/health.ts). */
export type DependencyKind = 'redis' | 'grip';

/**
 * Bucket bounds, in seconds. Publishing in process takes microseconds, a Redis or GRIP round
 * trip milliseconds: the buckets span both so one layout serves every histogram here.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * One publish (or Redis call) in this many is timed: the two clock reads are what a sample
 * costs now that recording it is a few adds into the arrays below. The first is always timed.
 */
export const SAMPLE_EVERY = 64;

/**
 * A histogram kept by gripstream itself: a sample is counted into fixed bucket arrays (plain
 * numbers, the bounds of LATENCY_BUCKETS plus +Inf), and nothing else happens on the publish
 * path. Exporters read the arrays when they collect: the Prometheus handler renders them at
 * scrape time, and the OpenTelemetry side hands each collection's new samples to its
 * Histogram then (src/ops/otel.ts). Cumulative since start, as Prometheus wants them.
 */
export class Samples {
  /** Samples per bucket (not cumulative): `counts[i]` are those ≤ LATENCY_BUCKETS[i] and above the bound before; the last, above every bound. */
  readonly counts: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  /** Sum of the samples in each bucket (the OpenTelemetry side hands over their mean). */
  readonly sums: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  count = 0;
  sum = 0;
  /** 0 when sampling is off; otherwise counts down to the next sample (the first is taken). */
  private countdown: number;

  constructor(
    sampling: boolean,
    /** One observation in this many is taken. */
    private readonly every: number = SAMPLE_EVERY,
  ) {
    this.countdown = sampling ? 1 : 0;
  }

  /** True for the observation to take (one in `every`): a decrement and a compare on the hot path. */
  due(): boolean {
    if (this.countdown === 0 || --this.countdown !== 0) return false;
    this.countdown = this.every;
    return true;
  }

  /** Counts one sample: a short scan of the bounds (samples are mostly in the first few) and four adds. */
  observe(seconds: number): void {
    const bounds = LATENCY_BUCKETS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sums[i]! += seconds;
    this.count++;
    this.sum += seconds;
  }
}

/** Read at collection time: figures that are states of other objects, not counts kept here. */
export interface MetricsViews {
  /** Sum over channels of their subscribers. */
  subscriptions(): number;
  /** Channels with at least one subscriber on this instance. */
  channels(): number;
  /** The `n` channels with the most subscribers here, most first. */
  topChannels(n: number): Array<{ channel: string; subscribers: number }>;
  /** What the history keeps, when the store can tell cheaply (the in-memory one). */
  history(): { events: number; bytes: number; evicted: number } | undefined;
  /** The Redis link as the health checks last saw it, when the engine or history uses Redis. */
  redisLink(): LinkState | undefined;
  /** True when a GRIP proxy is configured. */
  grip(): boolean;
  /** The GRIP proxies as the health checks last saw them (up only when every one answered). */
  gripLink(): LinkState | undefined;
}

const NO_VIEWS: MetricsViews = {
  subscriptions: () => 0,
  channels: () => 0,
  topChannels: () => [],
  history: () => undefined,
  redisLink: () => undefined,
  grip: () => false,
  gripLink: () => undefined,
};

/**
 * Every figure gripstream reports, kept as plain integers that the code paths bump (one add
 * each, no map lookup, no label set), and read by the exporters only when scraped or
 * collected. The Prometheus handler, the OpenTelemetry instruments, `stats()` and the
 * operator page all read this one object: there is no second bookkeeping to drift.
 *
 * Other modules add a figure by adding a field here and one line where it happens; the
 * exporters' tables (src/ops/instruments.ts) then name and document it.
 */
export class Metrics {
  // Counters (monotonic).
  eventsPublished = 0;
  deliveries = 0;
  bytesWritten = 0;
  readonly drops: Record<DropReason, number> = { slow_client: 0, drain: 0, shutdown: 0 };
  resumesExact = 0;
  resumesTruncated = 0;
  eventsReplayed = 0;
  holdsAnswered = 0;
  gripLastRecoveries = 0;
  gripPublishes = 0;
  gripPublishFailures = 0;
  redisCommandErrors = 0;
  redisReconnects = 0;
  redisGapsFilled = 0;
  /** `onDisconnect` hooks that threw (the stream was closed anyway; the incident log has each). */
  onDisconnectErrors = 0;
  /** Times the health checks saw a dependency go down (one per outage, as the incident log). */
  readonly outages: Record<DependencyKind, number> = { redis: 0, grip: 0 };

  // Gauges kept here: streams opened minus closed, per transport.
  readonly streamsOpen: Record<StreamTransport, number> = { http1: 0, http2: 0, fetch: 0 };

  // Histograms. The lag is sampled with the publish duration (the same publishes); every
  // GRIP publish is timed (each is an HTTP request: two clock reads are nothing beside it).
  readonly publishDuration: Samples;
  readonly publishLag: Samples;
  readonly gripPublishDuration: Samples;
  readonly redisCommandDuration: Samples;

  /** When the sampled publish whose write is being waited for started (performance.now ms); 0: none. */
  private lagStartedAt = 0;

  views: MetricsViews = NO_VIEWS;

  /** @param sampling false turns the histograms off: counters still count (stats() needs them). */
  constructor(readonly sampling: boolean = true) {
    this.publishDuration = new Samples(sampling);
    this.publishLag = new Samples(sampling);
    this.gripPublishDuration = new Samples(sampling, 1);
    this.redisCommandDuration = new Samples(sampling);
  }

  /** A sampled publish whose delivery is now waiting for the end-of-tick write. */
  startLag(startedAt: number): void {
    if (this.lagStartedAt === 0) this.lagStartedAt = startedAt;
  }

  /** The flush that wrote the sampled publish's frames finished: publish → write lag. */
  wrote(): void {
    const startedAt = this.lagStartedAt;
    if (startedAt === 0) return;
    this.lagStartedAt = 0;
    this.publishLag.observe((performance.now() - startedAt) / 1000);
  }

  /**
   * A stream that asked to resume: exact, or told `history-truncated`; and the events it was
   * replayed when known now (a lazy replay counts its own as the client reads them).
   */
  resumed(truncated: boolean, events: number): void {
    if (truncated) this.resumesTruncated++;
    else this.resumesExact++;
    this.eventsReplayed += events;
  }
}

/** Milliseconds from the process's monotonic clock, for the samplers. */
export const now = (): number => performance.now();
