/**
 * Several rounds of one scenario become one result per implementation: the median of each
 * metric, and, for the ratios, the median over rounds of (value ÷ baseline's value in the
 * same round). A ratio taken within a round cancels whatever slowed the whole machine
 * during it; the median then drops the odd disturbed round on either side.
 */
import type { ScenarioResult } from './scenarios/types.ts';

const STATUS_RANK: Record<ScenarioResult['status'], number> = { ok: 0, incomplete: 1, failed: 2, skipped: 3 };

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `rounds[i]` maps implementation name → its result in round i. Returns one result per
 * implementation, in the order of `implementations`.
 */
export function combineRounds(
  rounds: ReadonlyArray<ReadonlyMap<string, ScenarioResult>>,
  implementations: readonly string[],
  baseline: string,
): ScenarioResult[] {
  return implementations.map((name) => {
    const attempts = rounds.map((round) => round.get(name)).filter((r): r is ScenarioResult => r !== undefined);
    if (attempts.length <= 1) return attempts[0]!;
    return combineAttempts(attempts, rounds, name, baseline);
  });
}

function combineAttempts(
  attempts: ScenarioResult[],
  rounds: ReadonlyArray<ReadonlyMap<string, ScenarioResult>>,
  name: string,
  baseline: string,
): ScenarioResult {
  // The figures come from the best-ranked status that occurred (complete runs if any).
  const status = attempts.map((a) => a.status).sort((a, b) => STATUS_RANK[a] - STATUS_RANK[b])[0]!;
  const counted = attempts.filter((a) => a.status === status);
  const metrics: Record<string, number> = {};
  for (const key of new Set(counted.flatMap((a) => Object.keys(a.metrics)))) {
    const values = counted.map((a) => a.metrics[key]).filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (values.length > 0) metrics[key] = median(values);
  }
  const ratios: Record<string, number> = {};
  for (const key of Object.keys(metrics)) {
    const perRound = rounds.flatMap((round) => {
      const own = round.get(name);
      const base = round.get(baseline);
      const value = own?.status === status ? own.metrics[key] : undefined;
      const reference = base?.status === 'ok' ? base.metrics[key] : undefined;
      return value !== undefined && reference !== undefined && reference > 0 ? [value / reference] : [];
    });
    if (perRound.length > 0) ratios[key] = median(perRound);
  }
  const representative = counted[0]!;
  return {
    ...representative,
    status,
    metrics,
    ratios,
    note: status === 'ok' ? undefined : representative.note,
    details: {
      ...representative.details,
      attempts: attempts.map((a) => ({ status: a.status, metrics: a.metrics, note: a.note })),
    },
  };
}
