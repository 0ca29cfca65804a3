/**
 * What a scenario run produces, and how the report reads it.
 */

export type ScenarioId = 'broadcast' | 'per-user' | 'idle-memory' | 'latency' | 'grip' | 'redis' | 'cross-instance' | 'scale';

/**
 * ok: every client received every event it should (or, for memory, every connection
 * was open when sampled). incomplete: it ran, but short of that; the figures are what
 * it achieved. failed: no usable figures (crash, timeout, connections refused).
 * skipped: not run (implementation unavailable, or a stub).
 */
export type Status = 'ok' | 'incomplete' | 'failed' | 'skipped';

export interface ScenarioResult {
  scenario: ScenarioId;
  implementation: string;
  status: Status;
  /** Headline numbers by metric key (see report.ts METRICS). */
  metrics: Record<string, number>;
  /** Over several rounds: median of per-round ratios to the baseline, by metric key. */
  ratios?: Record<string, number>;
  /** Why it is not ok, in a few words. */
  note?: string;
  /** Everything else worth keeping in the JSON results. */
  details?: Record<string, unknown>;
}
