import type { Engine } from './engine/Engine.js';
import type { HistoryStore } from './history/HistoryStore.js';
import { MemoryHistory } from './memory/MemoryHistory.js';
import { redisHealthCheck } from './redis/healthCheck.js';
import { RedisEngine } from './redis/RedisEngine.js';
import { RedisHistory } from './redis/RedisHistory.js';
import type { DependencyCheck } from './telemetry/DependencyCheck.js';
import type { Metrics, MetricsViews } from './telemetry/Metrics.js';

// What the operator features (ops/) read from the concrete backends. It names them, so it sits
// here beside createEngine.ts, above memory/ and redis/: ops/ sees only what these return.

/** The checks readiness runs on the history's backend: a Redis store's link must answer PING. */
export function backendChecks(history: HistoryStore | undefined): DependencyCheck[] {
  return history instanceof RedisHistory ? [redisHealthCheck(history.link)] : [];
}

/** Points the Redis link's and the Redis engine's counters at `metrics`; the in-memory backend keeps none. */
export function attachBackendMetrics(engine: Engine, metrics: Metrics): void {
  const history = engine.history;
  if (history instanceof RedisHistory) history.link.metrics = metrics;
  if (engine instanceof RedisEngine) engine.metrics = metrics;
}

/** What the history keeps, for the gauges: only the in-memory store can tell cheaply. */
export function historyView(history: HistoryStore | undefined): MetricsViews['history'] {
  return () => (history instanceof MemoryHistory ? { events: history.size, bytes: history.bytes, evicted: history.evicted } : undefined);
}
