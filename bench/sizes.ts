/**
 * Scenario sizes: the defaults from the issue, and a quick smoke-test set.
 *
 * Quick mode (`BENCH_QUICK=1` or `--quick`) keeps every scenario but shrinks it so the
 * whole run takes well under a minute; its numbers check that everything works, they
 * are not meant to be quoted.
 */

export interface Sizes {
  broadcast: { clients: number; events: number; deadlineMs: number };
  /** `payloadBytes`: JSON size of each event's data (padded), as a small per-user message. */
  perUser: { clients: number; events: number; deadlineMs: number; payloadBytes: number };
  idleMemory: { connections: number };
  latency: { clients: number; intervalMs: number; warmupEvents: number; measuredEvents: number };
  /** Back-to-back publishing yields to the event loop after this many events. */
  yieldEvery: number;
  /** Sockets the client opens at once. */
  connectConcurrency: number;
  /** Time allowed for all of a scenario's clients to connect. */
  connectTimeoutMs: number;
}

export const DEFAULT_SIZES: Sizes = {
  broadcast: { clients: 1_000, events: 2_000, deadlineMs: 60_000 },
  // Issue 14's per-user case: 40,000 events of ~100 B of JSON over 5,000 channels. The
  // reference visits every connection on every publish (5,000 × 40,000 = 2·10⁸ listener
  // calls); the deadline caps it and it is reported as a partial rate.
  perUser: { clients: 5_000, events: 40_000, deadlineMs: 30_000, payloadBytes: 100 },
  idleMemory: { connections: 10_000 },
  // 50 warm-up events (0.5 s, excluded from the percentiles) + 300 measured (3 s).
  latency: { clients: 1_000, intervalMs: 10, warmupEvents: 50, measuredEvents: 300 },
  yieldEvery: 100,
  connectConcurrency: 256,
  connectTimeoutMs: 60_000,
};

export const QUICK_SIZES: Sizes = {
  broadcast: { clients: 200, events: 300, deadlineMs: 10_000 },
  perUser: { clients: 500, events: 2_000, deadlineMs: 5_000, payloadBytes: 100 },
  idleMemory: { connections: 1_000 },
  latency: { clients: 200, intervalMs: 10, warmupEvents: 20, measuredEvents: 100 },
  yieldEvery: 100,
  connectConcurrency: 256,
  connectTimeoutMs: 20_000,
};

/** The most sockets any scenario holds open at once (each side needs that many fds). */
export function peakConnections(sizes: Sizes): number {
  return Math.max(
    sizes.broadcast.clients,
    sizes.perUser.clients,
    sizes.idleMemory.connections,
    sizes.latency.clients,
  );
}

/** Caps every scenario's connection count at `limit`, for machines with few fds. */
export function capConnections(sizes: Sizes, limit: number): Sizes {
  const cap = (n: number): number => Math.min(n, limit);
  return {
    ...sizes,
    broadcast: { ...sizes.broadcast, clients: cap(sizes.broadcast.clients) },
    perUser: { ...sizes.perUser, clients: cap(sizes.perUser.clients) },
    idleMemory: { connections: cap(sizes.idleMemory.connections) },
    latency: { ...sizes.latency, clients: cap(sizes.latency.clients) },
  };
}
