/**
 * The columns of the report and the groups of the chart: one headline number per
 * scenario (two for memory and latency), each compared to raw-node as value ÷ baseline.
 */
import type { ScenarioId, ScenarioResult } from './scenarios/types.ts';

export interface MetricSpec {
  scenario: ScenarioId;
  key: string;
  label: string;
  unit: string;
  /** Whether a larger ratio to raw-node is better (throughput) or worse (memory, latency). */
  better: 'higher' | 'lower';
  format: (value: number) => string;
  /** The main table, or the CPU-cost table (steadier on a machine shared with other work). */
  table: 'main' | 'cpu';
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });

const bytes = (v: number): string => `${integer.format(v)} B`;

const ms = (v: number): string => `${decimal.format(v)} ms`;
const micros = (v: number): string => `${decimal.format(v)} µs`;

export const METRICS: MetricSpec[] = [
  { scenario: 'broadcast', key: 'eventsPerSec', label: 'Broadcast', unit: 'events/s', better: 'higher', format: integer.format, table: 'main' },
  { scenario: 'per-user', key: 'eventsPerSec', label: 'Per-user channels', unit: 'events/s', better: 'higher', format: integer.format, table: 'main' },
  { scenario: 'idle-memory', key: 'heapPerConn', label: 'Heap / idle conn', unit: 'bytes', better: 'lower', format: bytes, table: 'main' },
  { scenario: 'idle-memory', key: 'rssPerConn', label: 'RSS / idle conn', unit: 'bytes', better: 'lower', format: bytes, table: 'main' },
  { scenario: 'latency', key: 'p50', label: 'Latency p50', unit: 'ms', better: 'lower', format: ms, table: 'main' },
  { scenario: 'latency', key: 'p99', label: 'Latency p99', unit: 'ms', better: 'lower', format: ms, table: 'main' },
  { scenario: 'broadcast', key: 'cpuMicrosPerEvent', label: 'Broadcast CPU', unit: 'server µs / delivered event', better: 'lower', format: micros, table: 'cpu' },
  { scenario: 'per-user', key: 'cpuMicrosPerEvent', label: 'Per-user CPU', unit: 'server µs / delivered event', better: 'lower', format: micros, table: 'cpu' },
];

export function findResult(
  results: ScenarioResult[],
  implementation: string,
  scenario: ScenarioId,
): ScenarioResult | undefined {
  return results.find((r) => r.implementation === implementation && r.scenario === scenario);
}

/** The metric's value for `implementation`, if it produced one. */
export function metricValue(
  results: ScenarioResult[],
  implementation: string,
  metric: MetricSpec,
): number | undefined {
  const value = findResult(results, implementation, metric.scenario)?.metrics[metric.key];
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/**
 * value ÷ baseline value, when both exist and the division means something; after several
 * rounds, the median of the per-round ratios (bench/aggregate.ts).
 */
export function ratioToBaseline(
  results: ScenarioResult[],
  implementation: string,
  baseline: string,
  metric: MetricSpec,
): number | undefined {
  const ownRatio = findResult(results, implementation, metric.scenario)?.ratios?.[metric.key];
  if (ownRatio !== undefined && Number.isFinite(ownRatio)) return ownRatio;
  const value = metricValue(results, implementation, metric);
  const base = metricValue(results, baseline, metric);
  if (value === undefined || base === undefined || base <= 0) return undefined;
  return value / base;
}

export function formatRatio(ratio: number): string {
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : ratio >= 0.1 ? `${ratio.toFixed(2)}×` : `${ratio.toFixed(3)}×`;
}
