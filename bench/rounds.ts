import type { ScenarioId } from './scenarios/types.ts';

/** Latency moves the most between rounds (the server core is saturated), and its rounds are short. */
export const MIN_LATENCY_ROUNDS = 5;

/** Issue 14 judges per-user channels as the median of 5 interleaved rounds. */
export const MIN_PER_USER_ROUNDS = 5;

/** How many rounds a scenario runs when `--repeat` asks for `repeat`. */
export function roundsOf(scenario: ScenarioId, repeat: number): number {
  // Memory is not disturbed by other load the way rates are; one sample is enough.
  if (scenario === 'idle-memory') return 1;
  if (repeat <= 1) return repeat;
  if (scenario === 'latency') return Math.max(repeat, MIN_LATENCY_ROUNDS);
  if (scenario === 'per-user') return Math.max(repeat, MIN_PER_USER_ROUNDS);
  return repeat;
}
